"""Helpers shared by the stats tests."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import free_port, http_request

APP = Path(__file__).resolve().parent / "statsapp.py"


def raw_stats(address: str, send: bytes = b"", timeout: float = 5.0) -> bytes:
    """Read a stats socket to EOF, like uwsgitop; ``send`` lets a test speak HTTP to it."""
    if address.startswith(("/", "@")):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: object = ("\0" + address[1:]) if address.startswith("@") else address
    else:
        host, _, port = address.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, int(port))
    with sock:
        sock.settimeout(timeout)
        sock.connect(target)
        if send:
            sock.sendall(send)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def send_requests(port: int, paths: list[str]) -> int:
    """Send each path as its own request; return the body bytes received."""
    total = 0
    for path in paths:
        status, _, body = http_request(port, "GET", path)
        assert status > 0
        total += len(body)
    return total


@pytest.fixture
def instance(satrap, tmp_path):
    """Start satrap with the stats app; returns (proc, http_port, stats_address)."""

    def start(*extra: str, processes: int = 2, stats: str | None = None):
        port = free_port()
        stats_addr = stats or f"127.0.0.1:{free_port()}"
        proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(APP), "--master",
                      "--processes", str(processes), "--stats", stats_addr, *extra)
        proc.wait_port(port)  # connect only: no request is counted before the test sends its own
        proc.wait_workers(processes)
        proc.wait_log(r"stats server enabled")
        return proc, port, stats_addr

    return start


BODY_LEN = len(b"hello stats\n")
