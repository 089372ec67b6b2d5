"""Per-worker state shared between the workers and the master through anonymous shared memory.

Why shared memory: the master must see, without asking, which worker is busy and since when
(harakiri), how many requests each served (stats, max-requests, idle) and what it is doing (the
URI for the harakiri log line). A pipe or socket message per request would add a syscall to every
request; a ``struct.pack_into`` on a shared ``mmap`` costs a fraction of a microsecond.

Layout: one fixed-size slot per worker id (1-based; slot 0 unused). Each slot is written only by
its worker (and reset by the master before it forks a replacement), so no lock is needed: a torn
read by the master can at worst misreport one tick. Each request writes its slot twice: once at
the start (time and URI) and once at the end (every counter in one ``pack_into``). Two small
fields after the URI are written only when they change, never on the request path: the
keep-alive connections the worker holds, and the responses it handed to its offload threads.
"""

from __future__ import annotations

import mmap
import struct
from bisect import bisect_left
from dataclasses import dataclass

#: upper bounds (µs) of the latency histogram buckets; the last bucket is +Inf
LATENCY_BUCKETS_US = (1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
                      1_000_000, 2_500_000, 5_000_000, 10_000_000)
_NB = len(LATENCY_BUCKETS_US) + 1
_NS = 5  # status classes 1xx..5xx

# request_start (epoch s, 0 = idle), requests, exceptions, tx, avg_rt µs, running_time µs,
# pid, status byte, [status class counts], [latency bucket counts], uri
_COUNTERS = struct.Struct(f"<dQQQQQiB{_NS}Q{_NB}Q")
_URI_LEN = 128
_HELD = struct.Struct("<q")  # keep-alive connections the worker holds (after the URI)
_HELD_OFFSET = _COUNTERS.size + _URI_LEN
_OFFLOADED = struct.Struct("<Q")  # responses handed to the offload threads (after _HELD)
_OFFLOADED_OFFSET = _HELD_OFFSET + _HELD.size
_SLOT_SIZE = _OFFLOADED_OFFSET + _OFFLOADED.size
_START = struct.Struct("<d")
_STATUS_OFFSET = struct.calcsize("<dQQQQQi")

#: the status byte: a worker sets ACCEPTING once its loop listens (chain reload waits for it)
STARTING, ACCEPTING = 0, 1


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
    status: str  # "busy" while a request runs, else "idle"
    accepting: bool
    status_classes: tuple[int, ...]  # responses by class: 1xx, 2xx, 3xx, 4xx, 5xx
    latency_buckets: tuple[int, ...]  # counts per LATENCY_BUCKETS_US bucket, +Inf last
    uri: str
    offloaded: int = 0  # responses handed to the offload threads (uWSGI's offloaded_requests)


class Scoreboard:
    """Fixed array of worker slots in a MAP_SHARED anonymous mapping created before fork."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._mem = mmap.mmap(-1, _SLOT_SIZE * (max_workers + 1))

    def reset(self, wid: int) -> None:
        """Clear a slot before (re)spawning its worker, so a new worker starts from zero."""
        off = wid * _SLOT_SIZE
        self._mem[off:off + _SLOT_SIZE] = bytes(_SLOT_SIZE)

    def read(self, wid: int) -> WorkerState:
        off = wid * _SLOT_SIZE
        values = _COUNTERS.unpack_from(self._mem, off)
        start, req, exc, tx, avg, run, pid, status = values[:8]
        classes = tuple(values[8:8 + _NS])
        buckets = tuple(values[8 + _NS:])
        uri = bytes(self._mem[off + _COUNTERS.size:off + _HELD_OFFSET]).rstrip(b"\0")
        offloaded = _OFFLOADED.unpack_from(self._mem, off + _OFFLOADED_OFFSET)[0]
        return WorkerState(start, req, exc, tx, avg, run, pid, "busy" if start else "idle",
                           status == ACCEPTING, classes, buckets, uri.decode("latin-1") if start else "",
                           offloaded)

    def writer(self, wid: int) -> SlotWriter:
        return SlotWriter(self._mem, wid * _SLOT_SIZE)

    def not_accepting(self, wid: int) -> None:
        """A dead worker's slot must stop saying it accepts (its peers share connections by it)
        until the master resets the slot for its replacement."""
        self._mem[wid * _SLOT_SIZE + _STATUS_OFFSET] = STARTING

    def peers(self, wid: int, workers: int) -> PeerView:
        return PeerView(self._mem, [w * _SLOT_SIZE for w in range(1, workers + 1) if w != wid])


class PeerView:
    """What one worker reads of its siblings to share keep-alive connections fairly: which of
    them wait in epoll for a new connection right now (accepting, no request running), and how
    many connections each holds."""

    __slots__ = ("_mem", "_offs")

    def __init__(self, mem: mmap.mmap, offsets: list[int]) -> None:
        self._mem = mem
        self._offs = offsets

    def fewest_held_by_a_free_peer(self) -> int | None:
        """The smallest connection count among free peers; None when no peer is free."""
        mem = self._mem
        best: int | None = None
        for off in self._offs:
            if mem[off + _STATUS_OFFSET] != ACCEPTING or _START.unpack_from(mem, off)[0]:
                continue
            held = _HELD.unpack_from(mem, off + _HELD_OFFSET)[0]
            if best is None or held < best:
                best = held
        return best


class SlotWriter:
    """A worker's handle on its own slot; ``begin``/``end`` bracket every request."""

    __slots__ = ("_mem", "_off", "_uri_off", "requests", "exceptions", "tx", "avg_rt",
                 "running_time", "classes", "buckets", "status", "offloaded")

    def __init__(self, mem: mmap.mmap, offset: int) -> None:
        self._mem = mem
        self._off = offset
        self._uri_off = offset + _COUNTERS.size
        self.requests = 0
        self.exceptions = 0
        self.tx = 0
        self.avg_rt = 0
        self.running_time = 0
        self.classes = [0] * _NS
        self.buckets = [0] * _NB
        self.status = 0
        self.offloaded = 0

    def begin(self, now: float, uri: bytes) -> None:
        _START.pack_into(self._mem, self._off, now)
        end = self._uri_off + _URI_LEN
        self._mem[self._uri_off:end] = uri[:_URI_LEN].ljust(_URI_LEN, b"\0")

    def end(self, sent: int, elapsed_us: int, failed: bool, pid: int, code: int = 200) -> None:
        self.requests += 1
        if failed:
            self.exceptions += 1
        self.tx += sent
        self.avg_rt = (self.avg_rt + elapsed_us) // 2 if self.avg_rt else elapsed_us
        self.running_time += elapsed_us
        klass = code // 100 - 1
        if 0 <= klass < _NS:
            self.classes[klass] += 1
        self.buckets[bisect_left(LATENCY_BUCKETS_US, elapsed_us)] += 1
        _COUNTERS.pack_into(self._mem, self._off, 0.0, self.requests, self.exceptions, self.tx,
                            self.avg_rt, self.running_time, pid, self.status, *self.classes,
                            *self.buckets)

    def set_status(self, status: int) -> None:
        self.status = status
        self._mem[self._off + _STATUS_OFFSET] = status

    def set_held(self, count: int) -> None:
        _HELD.pack_into(self._mem, self._off + _HELD_OFFSET, count)

    def add_offloaded(self) -> None:
        """One more response handed to the offload threads (the caller serialises calls: the
        worker's threads share one slot)."""
        self.offloaded += 1
        _OFFLOADED.pack_into(self._mem, self._off + _OFFLOADED_OFFSET, self.offloaded)
