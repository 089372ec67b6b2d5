"""How many connections wait in each listening socket's accept queue, and how many fit.

Why it exists: a full accept queue is the one overload a WSGI server cannot see from inside
(the kernel drops or delays those clients before any worker hears of them), so the master looks
from outside, once a second, as uWSGI does: TCP listeners through ``TCP_INFO`` (on a LISTEN socket
Linux reports the queue length in ``tcpi_unacked`` and the ``listen()`` backlog in
``tcpi_sacked``), unix listeners through ``NETLINK_SOCK_DIAG`` (``unix_diag`` with
``UDIAG_SHOW_RQLEN``: pending connections and backlog), which is what uWSGI's ``netlink``
plugin adds. Unix sockets are matched by inode, not by name, so abstract and renamed sockets
work too.

The byte layouts are parsed by pure functions (``parse_tcp_info``, ``unix_diag_request``,
``parse_unix_diag``) so they are tested without a kernel; the few functions that touch sockets
degrade to "unknown" (None) off Linux or on any error, because monitoring must never take the
master down.

Facts from linux/tcp.h, linux/netlink.h, linux/sock_diag.h and linux/unix_diag.h.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ListenQueueMonitor",
    "NetlinkError",
    "QueueReading",
    "parse_tcp_info",
    "parse_unix_diag",
    "read_queue",
    "tcp_queue",
    "unix_diag_request",
    "unix_queues",
]

# struct tcp_info: 8 one-byte fields, then u32 rto, ato, snd_mss, rcv_mss, unacked, sacked, ...
_TCP_INFO = struct.Struct("=8B6I")
_TCP_INFO_OPT = getattr(socket, "TCP_INFO", 11)

_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 0x1
_NLM_F_DUMP = 0x300
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_UNIX_DIAG_REQ = struct.Struct("=BBHIII8s")  # family, protocol, pad, states, ino, show, cookie
_UNIX_DIAG_MSG = struct.Struct("=BBBBI8s")  # family, type, state, pad, ino, cookie
_RTATTR = struct.Struct("=HH")
_UDIAG_SHOW_RQLEN = 0x10
_UNIX_DIAG_RQLEN = 4
_TCP_LISTEN = 10


class NetlinkError(OSError):
    """The kernel answered a sock_diag request with an error."""


def _align4(n: int) -> int:
    return (n + 3) & ~3


def parse_tcp_info(raw: bytes) -> tuple[int, int] | None:
    """(queue, max_queue) from the ``TCP_INFO`` bytes of a LISTEN socket; None when the kernel
    reports no backlog (a socket that is not listening, or a kernel too old to say)."""
    if len(raw) < _TCP_INFO.size:
        return None
    values = _TCP_INFO.unpack_from(raw)
    unacked, sacked = values[12], values[13]
    if not sacked:
        return None
    return unacked, sacked


def unix_diag_request(seq: int = 1) -> bytes:
    """The netlink message that dumps every listening unix stream socket with its queue lengths."""
    body = _UNIX_DIAG_REQ.pack(socket.AF_UNIX, 0, 0, 1 << _TCP_LISTEN, 0, _UDIAG_SHOW_RQLEN, b"\xff" * 8)
    # sdiag_protocol must be 0 for AF_UNIX; the socket type is not filtered, stream and seqpacket
    # listeners both come back
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST | _NLM_F_DUMP, seq, 0)
    return header + body


def parse_unix_diag(data: bytes, into: dict[int, tuple[int, int]]) -> bool:
    """Add ``inode -> (queue, max_queue)`` for each socket in one netlink datagram to ``into``;
    returns True once the dump's end (NLMSG_DONE) is seen. NetlinkError on an error message."""
    off = 0
    end = len(data)
    while off + _NLMSGHDR.size <= end:
        length, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, off)
        if length < _NLMSGHDR.size or off + length > end:
            raise NetlinkError("truncated netlink message")
        payload = off + _NLMSGHDR.size
        if mtype == _NLMSG_DONE:
            return True
        if mtype == _NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", data, payload)
            if code:
                raise NetlinkError(-code, os.strerror(-code))
        elif mtype == _SOCK_DIAG_BY_FAMILY and length >= _NLMSGHDR.size + _UNIX_DIAG_MSG.size:
            _fam, _type, _state, _pad, ino, _cookie = _UNIX_DIAG_MSG.unpack_from(data, payload)
            attr = payload + _UNIX_DIAG_MSG.size
            stop = off + length
            while attr + _RTATTR.size <= stop:
                rta_len, rta_type = _RTATTR.unpack_from(data, attr)
                if rta_len < _RTATTR.size or attr + rta_len > stop:
                    break
                if rta_type == _UNIX_DIAG_RQLEN and rta_len >= _RTATTR.size + 8:
                    into[ino] = struct.unpack_from("=II", data, attr + _RTATTR.size)
                attr += _align4(rta_len)
        off += _align4(length)
    return False


def tcp_queue(sock: socket.socket) -> tuple[int, int] | None:
    """(queue, max_queue) of a listening TCP socket, or None when unknown."""
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO_OPT, _TCP_INFO.size)
    except OSError:
        return None
    return parse_tcp_info(raw)


def unix_queues(timeout: float = 0.5) -> dict[int, tuple[int, int]] | None:
    """``inode -> (queue, max_queue)`` of every listening unix socket in this network namespace,
    or None when netlink cannot tell (not Linux, no sock_diag, an error)."""
    family = getattr(socket, "AF_NETLINK", None)
    if family is None:
        return None
    found: dict[int, tuple[int, int]] = {}
    try:
        with socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, _NETLINK_SOCK_DIAG) as nl:
            nl.settimeout(timeout)
            nl.sendto(unix_diag_request(), (0, 0))
            while not parse_unix_diag(nl.recv(65536), found):
                pass
    except (OSError, struct.error):
        return None
    return found


def read_queue(sock: socket.socket, unix: dict[int, tuple[int, int]] | None) -> tuple[int, int] | None:
    """(queue, max_queue) of one listening socket; ``unix`` is a :func:`unix_queues` result."""
    try:
        family = sock.family
        fd = sock.fileno()
    except OSError:
        return None
    if fd < 0:
        return None
    if family in (socket.AF_INET, socket.AF_INET6):
        return tcp_queue(sock)
    if family == socket.AF_UNIX and unix is not None:
        try:
            return unix.get(os.fstat(fd).st_ino)
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class QueueReading:
    """One socket's accept queue at the last look."""

    name: str
    fd: int
    queue: int
    max_queue: int


class ListenQueueMonitor:
    """The master's view of its listeners' accept queues.

    :meth:`check` (once a second, from the master's loop) samples every socket, counts a full
    queue as a listen-queue error and returns uWSGI's log line for it (at most one per socket per
    second); :meth:`read` is a fresh sample for a stats reader (any thread).
    """

    def __init__(self, sockets: Iterable[tuple[str, socket.socket]], interval: float = 1.0) -> None:
        self.sockets = list(sockets)
        self.interval = interval
        self.errors = 0
        self.next_check = 0.0
        self.last: list[QueueReading] = []
        self._lock = threading.Lock()

    def read(self) -> list[QueueReading]:
        """A fresh reading of every socket (0/0 where the kernel cannot tell)."""
        has_unix = any(_family(s) == socket.AF_UNIX for _, s in self.sockets)
        unix = unix_queues() if has_unix else None
        out = []
        for name, sock in self.sockets:
            got = read_queue(sock, unix) or (0, 0)
            out.append(QueueReading(name, _fileno(sock), got[0], got[1]))
        return out

    def check(self, now: float | None = None) -> list[str]:
        """Sample when due; log lines for each full queue (and count them as errors)."""
        now = time.monotonic() if now is None else now
        if now < self.next_check or not self.sockets:
            return []
        self.next_check = now + self.interval
        readings = self.read()
        lines = full_lines(readings)
        with self._lock:
            self.last = readings
            self.errors += len(lines)
        return lines


def full_lines(readings: Sequence[QueueReading]) -> list[str]:
    """uWSGI's warning for each reading whose queue is full (``queue >= max_queue > 0``)."""
    return [f'*** uWSGI listen queue of socket "{r.name}" (fd: {r.fd}) full !!! ({r.queue}/{r.max_queue}) ***'
            for r in readings if r.queue > 0 and r.queue >= r.max_queue]


def _family(sock: socket.socket) -> int:
    try:
        return int(sock.family)
    except OSError:
        return -1


def _fileno(sock: socket.socket) -> int:
    try:
        return sock.fileno()
    except OSError:
        return -1
