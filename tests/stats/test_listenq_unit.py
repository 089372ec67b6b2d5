"""satrap.net.listenq's byte parsing (hand-built kernel replies), then the same against the
running kernel with real listening sockets."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

import pytest

from satrap.net.listenq import (
    ListenQueueMonitor,
    NetlinkError,
    QueueReading,
    full_lines,
    parse_tcp_info,
    parse_unix_diag,
    read_queue,
    unix_diag_request,
)


def _nlmsg(mtype: int, payload: bytes) -> bytes:
    length = 16 + len(payload)
    pad = b"\0" * ((4 - length % 4) % 4)
    return struct.pack("=IHHII", length, mtype, 2, 1, 0) + payload + pad


def _diag(ino: int, rqueue: int | None, wqueue: int = 0, name: bytes = b"") -> bytes:
    body = struct.pack("=BBBBI8s", socket.AF_UNIX, socket.SOCK_STREAM, 10, 0, ino, b"\0" * 8)
    if name:  # UNIX_DIAG_NAME (type 0), padded to 4 bytes: the parser must skip it
        attr = struct.pack("=HH", 4 + len(name), 0) + name
        body += attr + b"\0" * ((4 - len(attr) % 4) % 4)
    if rqueue is not None:
        body += struct.pack("=HHII", 12, 4, rqueue, wqueue)  # UNIX_DIAG_RQLEN
    return _nlmsg(20, body)


def test_tcp_info_fields() -> None:
    raw = bytes(8) + struct.pack("=6I", 200000, 0, 536, 536, 7, 128) + bytes(100)
    assert parse_tcp_info(raw) == (7, 128)
    assert parse_tcp_info(raw[:20]) is None, "short reply"
    no_backlog = bytes(8) + struct.pack("=6I", 0, 0, 0, 0, 0, 0)
    assert parse_tcp_info(no_backlog) is None, "a kernel that reports no backlog says nothing"


def test_unix_diag_request_layout() -> None:
    msg = unix_diag_request(seq=9)
    length, mtype, flags, seq, _pid = struct.unpack_from("=IHHII", msg)
    assert length == len(msg) == 16 + 24
    assert mtype == 20 and flags == 0x301 and seq == 9  # SOCK_DIAG_BY_FAMILY, REQUEST|DUMP
    family, proto, _pad, states, ino, show = struct.unpack_from("=BBHIII", msg, 16)
    assert family == socket.AF_UNIX and proto == 0 and states == 1 << 10 and ino == 0 and show == 0x10


def test_unix_diag_reply_several_messages_then_done() -> None:
    found: dict[int, tuple[int, int]] = {}
    part = _diag(111, 3, 128, name=b"/run/a.sock\0") + _diag(222, None) + _diag(333, 0, 5)
    assert parse_unix_diag(part, found) is False, "no NLMSG_DONE yet: more datagrams follow"
    assert found == {111: (3, 128), 333: (0, 5)}
    assert parse_unix_diag(_nlmsg(3, struct.pack("=i", 0)), found) is True


def test_unix_diag_error_and_truncation() -> None:
    with pytest.raises(NetlinkError) as err:
        parse_unix_diag(_nlmsg(2, struct.pack("=i", -22) + bytes(16)), {})
    assert err.value.errno == 22
    with pytest.raises(NetlinkError):
        parse_unix_diag(_diag(1, 1, 1)[:-4], {})


def test_full_lines_text() -> None:
    lines = full_lines([QueueReading("/tmp/a.sock", 3, 5, 4), QueueReading("127.0.0.1:80", 4, 1, 4),
                        QueueReading("x", 5, 0, 0)])
    assert lines == ['*** uWSGI listen queue of socket "/tmp/a.sock" (fd: 3) full !!! (5/4) ***']


def test_against_the_kernel(tmp_path: Path) -> None:
    """Real listeners: the unix one found by inode in the netlink dump, the TCP one by TCP_INFO."""
    path = str(tmp_path / "q.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(path)
    unix.listen(2)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(3)
    clients = []
    try:
        monitor = ListenQueueMonitor([(path, unix), ("tcp", tcp)])
        assert [(r.queue, r.max_queue) for r in monitor.read()] == [(0, 2), (0, 3)]
        for _ in range(3):  # backlog + 1 fit before the kernel refuses
            c = socket.socket(socket.AF_UNIX)
            c.setblocking(False)
            c.connect(path)
            clients.append(c)
        clients.append(socket.create_connection(tcp.getsockname(), timeout=5))
        assert [(r.queue, r.max_queue) for r in monitor.read()] == [(3, 2), (1, 3)]
        lines = monitor.check(now=100.0)
        assert lines == [f'*** uWSGI listen queue of socket "{path}" (fd: {unix.fileno()}) full !!! (3/2) ***']
        assert monitor.errors == 1
        assert monitor.check(now=100.5) == [], "at most one look a second"
        assert monitor.check(now=101.0) and monitor.errors == 2
        conn, _ = unix.accept()  # one taken off the queue
        conn.close()
        assert monitor.read()[0].queue == 2
        unix.close()
        assert read_queue(unix, {}) is None, "a closed socket is unknown, not an error"
    finally:
        for c in clients:
            c.close()
        unix.close()
        tcp.close()
        if os.path.exists(path):
            os.unlink(path)
