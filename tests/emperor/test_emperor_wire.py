"""Wire: the byte values are uWSGI's, and both ends of a real socketpair agree."""

from __future__ import annotations

import socket

from satrap.emperor.wire import EMPEROR_FD_ENV, ToEmperor, ToVassal, VassalLink


def test_numbers_are_uwsgis() -> None:
    assert [int(m) for m in ToVassal] == [0, 1, 2]
    assert {m.name: int(m) for m in ToEmperor} == {
        "SPAWNED": 1, "ACCEPTING": 5, "LOYAL": 17, "GOODBYE": 22, "HEARTBEAT": 26}


def test_round_trip_both_ways() -> None:
    emperor_end, vassal_end = socket.socketpair()
    link = VassalLink(vassal_end.detach())
    try:
        for msg in ToEmperor:
            link.send(msg)
            assert ToEmperor(emperor_end.recv(1)[0]) is msg
        emperor_end.send(bytes([ToVassal.RELOAD, ToVassal.GRACEFUL_STOP, 99, ToVassal.STOP]))
        import select

        select.select([link.fileno()], [], [], 2)
        assert link.read() == [ToVassal.RELOAD, ToVassal.GRACEFUL_STOP, ToVassal.STOP]  # 99 skipped
        assert not link.lost
        emperor_end.close()
        assert link.read() == [] and link.lost
    finally:
        link.sock.close()


def test_from_environ() -> None:
    a, b = socket.socketpair()
    try:
        assert VassalLink.from_environ({}) is None
        assert VassalLink.from_environ({EMPEROR_FD_ENV: "x"}) is None
        link = VassalLink.from_environ({EMPEROR_FD_ENV: str(b.fileno())})
        assert link is not None and link.fileno() == b.fileno()
        link.sock.detach()
    finally:
        a.close()
        b.close()
