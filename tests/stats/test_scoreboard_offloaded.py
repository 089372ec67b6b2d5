"""The scoreboard's offloaded-responses field: its own place in the slot, written only by
``SlotWriter.add_offloaded`` (never by the per-request ``begin``/``end``), cleared by ``reset``."""

from __future__ import annotations

import struct

from satrap import scoreboard
from satrap.scoreboard import Scoreboard


def test_layout_fields_do_not_overlap() -> None:
    sb = scoreboard
    assert sb._HELD_OFFSET == sb._COUNTERS.size + sb._URI_LEN
    assert sb._OFFLOADED_OFFSET == sb._HELD_OFFSET + sb._HELD.size
    assert sb._SLOT_SIZE >= sb._OFFLOADED_OFFSET + sb._OFFLOADED.size
    assert sb._SLOT_SIZE % 64 == 0  # whole cache lines: two workers never write the same line
    assert sb._OFFLOADED.size == struct.calcsize("<Q")


def test_offloaded_is_per_slot_and_survives_requests() -> None:
    board = Scoreboard(3)
    one, two = board.writer(1), board.writer(2)
    one.set_held(7)
    one.add_offloaded()
    one.add_offloaded()
    one.begin(123.0, b"GET /" + b"x" * 500)  # a URI longer than its field must not reach the counters
    one.end(10, 100, False, 4242)
    two.add_offloaded()
    st = board.read(1)
    assert st.offloaded == 2 and st.requests == 1 and st.pid == 4242
    assert board.read(2).offloaded == 1 and board.read(2).requests == 0
    assert board.read(3).offloaded == 0
    assert board.peers(2, 3).fewest_held_by_a_free_peer() is None  # nobody is accepting yet
    one.set_status(scoreboard.ACCEPTING)
    assert board.peers(2, 3).fewest_held_by_a_free_peer() == 7  # _HELD untouched by the counter
    board.reset(1)
    assert board.read(1).offloaded == 0 and board.read(2).offloaded == 1


def test_a_shorter_uri_replaces_a_longer_one() -> None:
    """The URI field is NUL-terminated, not re-padded: the master must never see the tail of the
    previous, longer URI."""
    board = Scoreboard(2)
    w = board.writer(1)
    w.begin(1.0, b"GET /a/much/longer/path?with=query")
    assert board.read(1).uri == "GET /a/much/longer/path?with=query"
    w.begin(2.0, b"GET /")
    assert board.read(1).uri == "GET /"
    w.begin(3.0, b"P" * 300)  # longer than the field: cut, and it must not spill into the counters
    st = board.read(1)
    assert st.uri == "P" * scoreboard._URI_LEN and st.requests == 0 and st.status == "busy"
    w.end(5, 1500, True, 77, 503)
    st = board.read(1)
    assert (st.status, st.uri, st.requests, st.exceptions, st.tx, st.pid) == ("idle", "", 1, 1, 5, 77)
    assert st.status_classes == (0, 0, 0, 0, 1) and sum(st.latency_buckets) == 1
    assert st.latency_buckets[1] == 1  # 1.5 ms: the (1 ms, 5 ms] bucket
    assert board.read(2).requests == 0  # the neighbour slot is untouched
