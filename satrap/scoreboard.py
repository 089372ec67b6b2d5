"""Per-worker state shared between the workers and the master through anonymous shared memory.

Why shared memory: the master must see, without asking, which worker is busy and since when
(harakiri), how many requests each served (stats, max-requests, idle) and what it is doing (the
URI for the harakiri log line). A pipe or socket message per request would add a syscall to every
request; a few word stores on a shared ``mmap`` cost a fraction of a microsecond.

Layout: one fixed-size slot per worker id (1-based; slot 0 unused), a whole number of 64-byte
cache lines so two workers never write the same line. Every field is an aligned 8-byte word, so
the worker writes a field with one store through a ``memoryview`` cast to words instead of
packing the whole slot. Each slot is written only by its worker (and reset by the master before
it forks a replacement), so no lock is needed: a torn read by the master can at worst misreport
one tick. Each request writes its start time and URI at the start, and a handful of counters at
the end. Two small fields after the URI are written only when they change, never on the request
path: the keep-alive connections the worker holds, and the responses it handed to its offload
threads.
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

# word indices within a slot: request_start (epoch s as a double, 0 = idle), requests,
# exceptions, tx, avg_rt µs, running_time µs, pid, status, [status class counts], [latency bucket
# counts], uri (_URI_LEN bytes, NUL-padded), held keep-alive connections, offloaded responses
_W_START, _W_REQUESTS, _W_EXCEPTIONS, _W_TX, _W_AVG, _W_RUNNING, _W_PID, _W_STATUS = range(8)
_W_CLASSES = 8
_W_BUCKETS = _W_CLASSES + _NS
_W_URI = _W_BUCKETS + _NB
_URI_LEN = 128
_W_HELD = _W_URI + _URI_LEN // 8
_W_OFFLOADED = _W_HELD + 1
_WORDS = _W_OFFLOADED + 1
_SLOT_SIZE = -(-_WORDS * 8 // 64) * 64  # whole cache lines
_COUNTERS = struct.Struct(f"<d{_W_URI - 1}Q")  # everything before the URI, as the master reads it
_HELD = struct.Struct("<q")
_HELD_OFFSET = _W_HELD * 8
_OFFLOADED = struct.Struct("<Q")
_OFFLOADED_OFFSET = _W_OFFLOADED * 8
_START = struct.Struct("<d")
_STATUS_OFFSET = _W_STATUS * 8

#: the status word: a worker sets ACCEPTING once its loop listens (chain reload waits for it)
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
        uri = bytes(self._mem[off + _COUNTERS.size:off + _HELD_OFFSET]).split(b"\0", 1)[0]
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
    """A worker's handle on its own slot; ``begin``/``end`` bracket every request.

    The counters live only in the slot (the master resets it before a worker starts), so a
    request's end is a few word stores and increments, not a re-pack of every field."""

    __slots__ = ("_mem", "_uri_off", "_q", "_d", "_w")

    def __init__(self, mem: mmap.mmap, offset: int) -> None:
        self._mem = mem
        self._uri_off = offset + _W_URI * 8
        self._q = memoryview(mem).cast("Q")  # the whole board as words; only our slot is written
        self._d = memoryview(mem).cast("d")
        self._w = offset // 8

    def begin(self, now: float, uri: bytes) -> None:
        self._d[self._w] = now
        at = self._uri_off
        n = len(uri)
        if n >= _URI_LEN:
            self._mem[at:at + _URI_LEN] = uri[:_URI_LEN]
        else:
            self._mem[at:at + n] = uri
            self._mem[at + n] = 0  # the reader stops at the first NUL: no padding to write

    def end(self, sent: int, elapsed_us: int, failed: bool, pid: int, code: int = 200) -> None:
        q = self._q
        w = self._w
        q[w + _W_REQUESTS] += 1
        if failed:
            q[w + _W_EXCEPTIONS] += 1
        q[w + _W_TX] += sent
        avg = q[w + _W_AVG]
        q[w + _W_AVG] = (avg + elapsed_us) // 2 if avg else elapsed_us
        q[w + _W_RUNNING] += elapsed_us
        q[w + _W_PID] = pid
        klass = code // 100 - 1
        if 0 <= klass < _NS:
            q[w + _W_CLASSES + klass] += 1
        q[w + _W_BUCKETS + bisect_left(LATENCY_BUCKETS_US, elapsed_us)] += 1
        self._d[w] = 0.0  # idle again: written last, so a busy slot never shows finished counters

    def set_status(self, status: int) -> None:
        self._q[self._w + _W_STATUS] = status

    def set_held(self, count: int) -> None:
        self._q[self._w + _W_HELD] = count

    def add_offloaded(self) -> None:
        """One more response handed to the offload threads (the caller serialises calls: the
        worker's threads share one slot)."""
        self._q[self._w + _W_OFFLOADED] += 1
