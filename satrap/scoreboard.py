"""Per-worker state shared between the workers and the master through anonymous shared memory.

Why shared memory: the master must see, without asking, which worker is busy and since when
(harakiri), how many requests each served (stats, max-requests) and what it is doing (the URI for
the harakiri log line). A pipe or socket message per request would add a syscall to every
request; a ``struct.pack_into`` on a shared ``mmap`` costs a fraction of a microsecond.

Layout: one fixed-size slot per worker id (1-based; slot 0 unused). Each slot is written only by
its worker (and reset by the master before it forks a replacement), so no lock is needed: a torn
read by the master can at worst misreport one tick.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass

# request_start (epoch seconds, 0 = idle), requests, exceptions, tx bytes, avg_rt µs,
# running_time µs, pid, status (0 idle, 1 busy, 2 cheap, 3 stopping), uri
_SLOT = struct.Struct("<dQQQQQiB128s")
_START = struct.Struct("<d")
_URI_OFFSET = _SLOT.size - 128

STATUS_NAMES = ("idle", "busy", "cheap", "stopping")


@dataclass(frozen=True)
class WorkerState:
    """A copy of one slot, as the master reads it."""

    request_start: float
    requests: int
    exceptions: int
    tx: int
    avg_rt: int
    running_time: int
    pid: int
    status: str
    uri: str


class Scoreboard:
    """Fixed array of worker slots in a MAP_SHARED anonymous mapping created before fork."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._mem = mmap.mmap(-1, _SLOT.size * (max_workers + 1))

    def reset(self, wid: int, pid: int = 0) -> None:
        """Clear a slot before (re)spawning its worker, so a new worker starts from zero."""
        _SLOT.pack_into(self._mem, wid * _SLOT.size, 0.0, 0, 0, 0, 0, 0, pid, 0, b"")

    def read(self, wid: int) -> WorkerState:
        start, req, exc, tx, avg, run, pid, status, uri = _SLOT.unpack_from(self._mem, wid * _SLOT.size)
        return WorkerState(start, req, exc, tx, avg, run, pid,
                           STATUS_NAMES[status] if status < len(STATUS_NAMES) else "idle",
                           uri.rstrip(b"\0").decode("latin-1"))

    def writer(self, wid: int) -> "SlotWriter":
        return SlotWriter(self._mem, wid * _SLOT.size)


class SlotWriter:
    """A worker's handle on its own slot; the two calls bracket every request."""

    __slots__ = ("_mem", "_off", "requests", "exceptions", "tx", "avg_rt", "running_time")

    def __init__(self, mem: mmap.mmap, offset: int) -> None:
        self._mem = mem
        self._off = offset
        self.requests = 0
        self.exceptions = 0
        self.tx = 0
        self.avg_rt = 0
        self.running_time = 0

    def begin(self, now: float, uri: bytes) -> None:
        _START.pack_into(self._mem, self._off, now)
        self._mem[self._off + _URI_OFFSET:self._off + _URI_OFFSET + 128] = uri[:128].ljust(128, b"\0")

    def end(self, sent: int, elapsed_us: int, failed: bool, pid: int) -> None:
        self.requests += 1
        if failed:
            self.exceptions += 1
        self.tx += sent
        self.avg_rt = (self.avg_rt + elapsed_us) // 2 if self.avg_rt else elapsed_us
        self.running_time += elapsed_us
        _SLOT.pack_into(self._mem, self._off, 0.0, self.requests, self.exceptions, self.tx,
                        self.avg_rt, self.running_time, pid, 0, b"")

    def set_status(self, status: int) -> None:
        self._mem[self._off + _URI_OFFSET - 1] = status
