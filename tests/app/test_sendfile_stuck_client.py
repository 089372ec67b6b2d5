"""A client that stops reading a ``wsgi.file_wrapper`` response costs the worker at most
``socket-timeout``, then the connection is dropped and the worker serves others.

Why this exists: a blocking ``sendfile`` behind a zero window was seen ignoring the kernel send
timeout for minutes, and Python's ``socket.sendfile`` waits in ``select()`` with no time limit;
either held the only worker until the client left.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

from support import Satrap, free_port, http_request

APP = '''\
import os

BIG = os.environ["BIG_FILE"]


def application(environ, start_response):
    if environ["PATH_INFO"] == "/big":
        f = open(BIG, "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.path.getsize(BIG)))])
        return environ["wsgi.file_wrapper"](f)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
'''


def test_a_client_that_stops_reading_a_file_costs_at_most_socket_timeout(
        tmp_path: Path, satrap: Callable[..., Satrap]) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(256 << 20)  # sparse: far more than loopback socket buffers hold
    app = tmp_path / "app.py"
    app.write_text(APP)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app), "--processes", "1",
                  "--socket-timeout", "1", "--disable-logging", env={"BIG_FILE": str(big)})
    proc.wait_port(port)
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        stuck.connect(("127.0.0.1", port))
        stuck.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        assert stuck.recv(64).startswith(b"HTTP/1.1 200")  # the worker is now in sendfile
        # ...and never reads again. The one worker must give up on it and answer this one.
        status, _, body = http_request(port, "GET", "/small", timeout=15)
        assert (status, body) == (200, b"ok")
        # the stuck connection was dropped, not left half-sent: its reader sees the end
        stuck.settimeout(15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not stuck.recv(1 << 20):
                break
        else:
            raise AssertionError("the stuck connection was never closed")
    except ConnectionResetError:
        pass  # dropped with unread bytes in flight: a reset is a fine end too
    finally:
        stuck.close()
