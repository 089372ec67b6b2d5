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
    assert sb._SLOT_SIZE == sb._OFFLOADED_OFFSET + sb._OFFLOADED.size
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
