"""The accept queue of TCP and unix listeners, as uWSGI (with its netlink plugin) reports it.

One worker with one thread is held busy by a request that waits for a flag file; connections
opened meanwhile wait in the kernel's accept queue. The stats server must count them
(``sockets[].queue``, top-level ``listen_queue``), report the ``listen`` backlog as
``max_queue``, and once the queue is full the master must log uWSGI's warning and count
``listen_queue_errors``; after the flag is set the queue drains to 0.
"""

from __future__ import annotations

import errno
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import APP, raw_stats
from support import free_port, wait_until

BACKLOG = 4


def _stats(address: str) -> dict[str, Any]:
    return json.loads(raw_stats(address))


def _connect(target: str | int, data: bytes = b"") -> socket.socket:
    """A non-blocking connect (a full backlog must not hang the test) that sends ``data``."""
    if isinstance(target, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(target)
        except BlockingIOError:
            pass  # a full unix backlog: this one waits for room, which is what the test wants
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(("127.0.0.1", target))
        assert err in (0, errno.EINPROGRESS), errno.errorcode.get(err)
    if data:
        wait_until(lambda: _try_send(sock, data), message="request sent")
    return sock


def _try_send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.send(data)
        return True
    except (BlockingIOError, OSError):
        return False


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_queue_counted_full_logged_and_drained(satrap, tmp_path: Path, kind: str) -> None:
    if kind == "tcp":
        port = free_port()
        address: str = f"127.0.0.1:{port}"
        target: str | int = port
    else:
        address = str(tmp_path / "app.sock")
        target = address
    stats = f"127.0.0.1:{free_port()}"
    proc = satrap("--http-socket", address, "--wsgi-file", str(APP), "--master", "--processes", "1",
                  "--threads", "1", "--listen", str(BACKLOG), "--stats", stats)
    proc.wait_log(r"stats server enabled")
    proc.wait_workers(1)
    flag = tmp_path / "release"
    conns = [_connect(target, f"GET /block?{flag} HTTP/1.0\r\nHost: x\r\n\r\n".encode())]
    try:
        wait_until(lambda: _stats(stats)["workers"][0]["status"] == "busy", message="worker busy")
        doc = _stats(stats)
        [sock] = doc["sockets"]
        assert sock["name"] == address
        assert sock["max_queue"] == BACKLOG and sock["queue"] == 0
        assert doc["listen_queue_errors"] == 0

        waiting = 3
        # each sends its request: TCP listeners have TCP_DEFER_ACCEPT, a silent connection would not
        # be queued for accept() until its first bytes came
        conns += [_connect(target, b"GET / HTTP/1.0\r\n\r\n") for _ in range(waiting)]
        doc = wait_until(lambda: (d := _stats(stats))["sockets"][0]["queue"] == waiting and d,
                         message=f"queue == {waiting}")
        assert doc["listen_queue"] == waiting and doc["load"] == waiting
        assert doc["listen_queue_errors"] == 0, "not full yet"
        assert "listen queue of socket" not in proc.log()

        # the kernel takes backlog + 1 before it calls the queue full
        conns += [_connect(target, b"GET / HTTP/1.0\r\n\r\n") for _ in range(BACKLOG + 1 - waiting)]
        line = proc.wait_log(r'\*\*\* uWSGI listen queue of socket "([^"]+)" \(fd: \d+\) full !!! '
                             r'\((\d+)/(\d+)\) \*\*\*')[0]
        assert line[0] == address and int(line[1]) >= BACKLOG and int(line[2]) == BACKLOG
        doc = wait_until(lambda: (d := _stats(stats))["listen_queue_errors"] > 0 and d,
                         message="listen_queue_errors > 0")
        assert doc["sockets"][0]["queue"] >= BACKLOG
        metrics = raw_stats(stats, b"GET /metrics HTTP/1.0\r\n\r\n").decode()
        counter = re.search(r"^satrap_listen_queue_errors_total(?:\{\})? (\d+)$", metrics, re.MULTILINE)
        assert counter is not None, metrics
        assert int(counter.group(1)) >= 1
    finally:
        flag.write_text("go")
        for conn in conns:
            conn.close()
    wait_until(lambda: (d := _stats(stats))["listen_queue"] == 0 and d["sockets"][0]["queue"] == 0,
               message="queue drained")
    errors_after = _stats(stats)["listen_queue_errors"]
    assert errors_after >= 1, "the error count is a counter: it never goes back"
