"""Facts only the kernel knows: process memory and the accept backlog of a listening socket.

Read from ``/proc`` and ``getsockopt`` at snapshot time (a stats request), never per request.
Every function degrades to zeros off Linux or when the process is gone, because a stats reader
must never take the master down.
"""

from __future__ import annotations

import os
import socket

from satrap.net import listenq

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


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
    """(queue, max_queue) of a listening socket fd (TCP or unix); (0, 0) when unknown.

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
        unix = listenq.unix_queues() if sock.family == socket.AF_UNIX else None
        return listenq.read_queue(sock, unix) or (0, 0)
