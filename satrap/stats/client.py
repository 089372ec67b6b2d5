"""Read a stats document from an address, the way uwsgitop does: connect, read to EOF, parse.

Accepted addresses (uWSGI's and uwsgitop's spellings): ``host:port``, ``:port`` (this host),
``[v6]:port``, ``/unix/path``, ``@abstract``, and ``http://host:port/...`` for ``stats-http``.
"""

from __future__ import annotations

import json
import socket
import urllib.parse
import urllib.request
from typing import Any


def parse_address(address: str) -> tuple[int, Any]:
    """(family, sockaddr) for a stats address; a path or ``@name`` is a unix socket."""
    if address.startswith("@"):
        return socket.AF_UNIX, "\0" + address[1:]
    if "/" in address or ":" not in address:
        return socket.AF_UNIX, address
    host, _, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        return socket.AF_INET6, (host[1:-1], int(port))
    return socket.AF_INET, (host or "127.0.0.1", int(port))


def fetch(address: str, timeout: float = 3.0) -> dict[str, Any]:
    """The JSON document served at ``address``; raises OSError or ValueError on failure."""
    if address.startswith(("http://", "https://")):
        url = urllib.parse.urlsplit(address)
        if url.path in ("", "/"):  # the bare server: "/" is stats-http's HTML page, the JSON is /json
            address = urllib.parse.urlunsplit(url._replace(path="/json"))
        with urllib.request.urlopen(address, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8", "replace"))
    family, where = parse_address(address)
    chunks = []
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(where)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return json.loads(b"".join(chunks).decode("utf-8", "replace"))
