"""Facts only the kernel knows: process memory and the accept backlog of a listening socket.

Read from ``/proc`` and ``getsockopt`` at snapshot time (a stats request), never per request.
Every function degrades to zeros off Linux or when the process is gone, because a stats reader
must never take the master down.
"""

from __future__ import annotations

import os
import socket
import struct

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# struct tcp_info (linux/tcp.h): 8 single-byte fields, then u32 rto, ato, snd_mss, rcv_mss,
# unacked, sacked. On a LISTEN socket the kernel reports the current accept queue length in
# tcpi_unacked and the backlog limit in tcpi_sacked.
_TCP_INFO = struct.Struct("=8B6I")
_TCP_INFO_OPT = getattr(socket, "TCP_INFO", 11)


def memory(pid: int) -> tuple[int, int]:
    """(rss, vsz) in bytes of ``pid`` from /proc/PID/statm; (0, 0) if unknown."""
    if pid <= 0:
        return 0, 0
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            fields = f.read().split()
        return int(fields[1]) * _PAGE, int(fields[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0, 0


def listen_queue(fd: int) -> tuple[int, int]:
    """(queue, max_queue) of a listening TCP socket fd; (0, 0) for unix sockets or on error.

    The fd is duplicated so the caller's socket object is never closed or re-owned here.
    """
    if fd < 0:
        return 0, 0
    try:
        dup = os.dup(fd)
    except OSError:
        return 0, 0
    try:
        sock = socket.socket(fileno=dup)
    except OSError:
        os.close(dup)
        return 0, 0
    with sock:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return 0, 0
        try:
            raw = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO_OPT, _TCP_INFO.size)
        except OSError:
            return 0, 0
    if len(raw) < _TCP_INFO.size:
        return 0, 0
    values = _TCP_INFO.unpack(raw)
    return values[12], values[13]
