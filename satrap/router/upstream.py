"""The worker side of the router: where the workers listen, the request packet, the answer head.

One uwsgi-protocol connection per request (uWSGI's own router and nginx do the same): the
worker that accepts it is by construction a free one, and the end of the response is simply the
worker closing the connection when the app gave no Content-Length.

The worker answers with a raw HTTP response head (``SERVER_PROTOCOL status`` + the app's
headers, + ``Content-Length`` when the body length is known; see ``worker.conn.serve_uwsgi``).
:func:`parse_response_head` reads just what the router needs to re-frame it for the client: the
status code, the length, and whether the app asked for the connection to be closed. Hop-by-hop
fields (``Connection``, ``Keep-Alive``, ``Transfer-Encoding``; PEP 3333 forbids apps to send
them) are dropped because the router, not the app, owns the client connection's framing.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import struct

from satrap.net.listeners import parse_inet
from satrap.protocol.uwsgi import HEADER

__all__ = [
    "ResponseHead",
    "Upstream",
    "UpstreamError",
    "encode_var",
    "parse_response_head",
]

_U16 = struct.Struct("<H").pack


class UpstreamError(Exception):
    """The workers could not be reached or answered garbage (the client gets 502)."""


def encode_var(key: str, value: str) -> bytes:
    """One uwsgi var (key and value are latin-1 text, as the HTTP parser produces)."""
    k = key.encode("latin-1")
    v = value.encode("latin-1")
    return _U16(len(k)) + k + _U16(len(v)) + v


def packet_header(block_size: int, modifier1: int = 0, modifier2: int = 0) -> bytes:
    """The 4-byte uwsgi header for a vars block (modifier1 0 = WSGI, 9 = CGI: ``http-modifier1``)."""
    if block_size > 0xFFFF:
        raise UpstreamError(f"uwsgi vars block of {block_size} bytes (max 65535)")
    return HEADER.pack(modifier1, block_size, modifier2)


class Upstream:
    """Where the workers' uwsgi socket is, and how to open a connection to it.

    ``@name`` is a Linux abstract socket, anything with a ``/`` (or without a ``:``) a unix
    path, else ``host:port``.
    """

    __slots__ = ("address", "family", "retry_until", "sockaddr")

    def __init__(self, address: str) -> None:
        self.address = address
        self.sockaddr: str | tuple[str, int]
        if address.startswith("@"):
            self.family = socket.AF_UNIX
            self.sockaddr = "\0" + address[1:]
        elif "/" in address or ":" not in address:
            self.family = socket.AF_UNIX
            self.sockaddr = address
        else:
            family, host, port = parse_inet(address)
            self.family = family
            self.sockaddr = (host, port)

    async def connect(self, loop: asyncio.AbstractEventLoop) -> socket.socket:
        """A connected non-blocking socket, or UpstreamError (502).

        A unix socket whose listen backlog is full refuses a non-blocking connect with EAGAIN
        instead of queueing it; that means "every worker is busy and the queue is full", so
        retry with a short back-off (the caller's deadline bounds the wait: 504) rather than
        failing a request that a worker will take a moment later.
        """
        sock = socket.socket(self.family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        try:
            if self.family == socket.AF_UNIX:
                delay = 0.001
                while True:
                    err = sock.connect_ex(self.sockaddr)
                    if err == 0:
                        return sock
                    if err != errno.EAGAIN:
                        raise UpstreamError(f"connect to {self.address}: {errno.errorcode.get(err, err)}")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.05)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.sock_connect(sock, self.sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            raise UpstreamError(f"connect to {self.address}: {exc.strerror or exc}") from None
        except BaseException:
            sock.close()
            raise


# --------------------------------------------------------------------------------------------
# The worker's answer
# --------------------------------------------------------------------------------------------
_STATUS_LINE = re.compile(rb"HTTP/[0-9]\.[0-9] ([0-9]{3})[^\r\n]*\r\n")
_HOP = (b"\r\nconnection:", b"\r\nkeep-alive:", b"\r\ntransfer-encoding:")


class ResponseHead:
    """What the router needs from the worker's response head.

    ``status_line`` is ``b"200 OK"``; ``fields`` are the header lines to pass on, each
    *preceded* by CRLF (so ``b"HTTP/1.1 " + status_line + fields + extra + CRLF CRLF`` is the
    client's head); ``length`` the app's Content-Length or None (close-delimited).
    """

    __slots__ = ("close", "fields", "length", "status", "status_line")

    def __init__(self, status: int, status_line: bytes, fields: bytes, length: int | None,
                 close: bool) -> None:
        self.status = status
        self.status_line = status_line
        self.fields = fields
        self.length = length
        self.close = close


def parse_response_head(buf: bytes, max_size: int) -> tuple[ResponseHead, int] | None:
    """``(head, consumed)`` once the blank line has arrived, None before; UpstreamError on a
    head that is not HTTP or is over ``max_size``."""
    end = buf.find(b"\r\n\r\n", 0, max_size)
    if end == -1:
        if len(buf) >= max_size:
            raise UpstreamError("response head from the worker too large")
        if len(buf) >= 12 and _STATUS_LINE.match(buf[:buf.find(b"\r\n") + 2]) is None \
                and b"\r\n" in buf:
            raise UpstreamError("invalid response status line from the worker")
        return None
    m = _STATUS_LINE.match(buf)
    if m is None:
        raise UpstreamError("invalid response status line from the worker")
    eol = m.end() - 2
    status_line = buf[9:eol]
    fields = buf[eol:end]
    lower = fields.lower()
    length: int | None = None
    close = False
    pos = lower.find(b"\r\ncontent-length:")
    if pos != -1:
        vend = lower.find(b"\r\n", pos + 2)
        value = fields[pos + 17: vend if vend != -1 else len(fields)].strip()
        if not value.isdigit():
            raise UpstreamError("invalid Content-Length from the worker")
        length = int(value)
    if _HOP[0] in lower or _HOP[1] in lower or _HOP[2] in lower:
        kept = []
        for line in fields.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"connection":
                close = close or b"close" in value.lower()
            elif lname not in (b"keep-alive", b"transfer-encoding"):
                kept.append(b"\r\n" + line)
        fields = b"".join(kept)
    return ResponseHead(int(m.group(1)), status_line, fields, length, close), end + 4
