"""``wsgi.input`` streams: the shared empty stream behaves exactly like a zero-length Input."""

from __future__ import annotations

import socket

from satrap.net.body import EMPTY_INPUT, Input


def test_empty_input_matches_a_zero_length_input() -> None:
    a, b = socket.socketpair()
    try:
        real = Input(a, b"", 0)
        for stream in (real, EMPTY_INPUT):
            assert stream.read() == b"" and stream.read(10) == b"" and stream.read(None) == b""
            assert stream.readline() == b"" and stream.readline(5) == b""
            assert stream.readlines() == [] and list(stream) == []
            assert stream.fully_read is True and stream.error is None
            assert stream.drain(0) is True
    finally:
        a.close()
        b.close()


def test_empty_input_has_no_state_to_share() -> None:
    # one instance serves every bodiless request of every thread: it must not hold anything
    assert EMPTY_INPUT.__slots__ == ()
    assert not hasattr(EMPTY_INPUT, "__dict__")
