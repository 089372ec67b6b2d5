"""Host names of redis servers are resolved off the offload loop: a stalled DNS lookup must not
stall the other streams of the same offload thread. In-process, over real sockets: a real
redis-server, the engine's loop run in a thread of the test, ``getaddrinfo`` replaced for one
made-up name only (so the lookup can be held for as long as the test wants)."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from redisrun import RedisRun, running_redis
from support import free_port, wait_until

from satrap.routing import Offload
from satrap.worker import offload
from satrap.worker.offload import SSESession, _Loop, _Resolver, redis_address

SLOW = "slow-dns.satrap-test"


@pytest.fixture
def redis() -> Iterator[RedisRun]:
    with running_redis() as rr:
        yield rr


def test_numeric_and_unix_addresses_need_no_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"getaddrinfo called for {args!r}")

    assert redis_address("127.0.0.1:6379") == (socket.AF_INET, ("127.0.0.1", 6379))
    assert redis_address(":6379") == (socket.AF_INET, ("127.0.0.1", 6379))
    assert redis_address("/run/redis.sock") == (socket.AF_UNIX, "/run/redis.sock")
    assert redis_address("@redis") == (socket.AF_UNIX, "\0redis")
    assert redis_address("localhost:6379") == (socket.AF_UNSPEC, ("localhost", 6379))
    family, address = redis_address("[::1]:6380")  # numeric: getaddrinfo with AI_NUMERICHOST
    assert family == socket.AF_INET6 and address[:2] == ("::1", 6380)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert redis_address("10.1.2.3:7000") == (socket.AF_INET, ("10.1.2.3", 7000))
    with pytest.raises(ValueError):
        redis_address("127.0.0.1:notaport")


class Peer:
    """The browser's end of a socketpair whose other end the session streams to."""

    def __init__(self) -> None:
        self.mine, self.theirs = socket.socketpair()
        self.theirs.setblocking(False)
        self.mine.settimeout(10)

    def read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            data = self.mine.recv(n - len(buf))
            assert data, f"stream ended after {buf!r}"
            buf += data
        return buf


def test_a_stalled_lookup_does_not_stall_other_streams(redis: RedisRun, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    release = threading.Event()
    calls: list[str] = []

    def fake(host: object, *args: object, **kwargs: object) -> object:
        if host == SLOW:
            calls.append(SLOW)
            assert release.wait(30), "the test never released the lookup"
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(offload.socket, "getaddrinfo", fake)
    resolver = _Resolver()
    loop = _Loop()
    peers = [Peer() for _ in range(3)]
    by_name = SSESession(peers[0].theirs, Offload("sse", f"{SLOW}:{redis.port}", "slow"), 20.0, resolver)
    numeric = SSESession(peers[1].theirs, Offload("sse", redis.address, "fast"), 20.0, resolver)
    loop.add(by_name)
    loop.add(numeric)
    runner = threading.Thread(target=loop.run, kwargs={"until_idle": True}, daemon=True)
    runner.start()
    try:
        wait_until(lambda: calls, message="the lookup to start")
        # the loop thread is free while the lookup hangs: the numeric stream subscribes and streams
        wait_until(lambda: redis.numsub("fast") == 1, message="the numeric stream's SUBSCRIBE")
        assert redis.publish("fast", b"not blocked") == 1
        assert peers[1].read(len(b"data: not blocked\n\n")) == b"data: not blocked\n\n"
        assert by_name.resolving and redis.numsub("slow") == 0
        release.set()  # the answer arrives: the named stream connects and streams as well
        wait_until(lambda: redis.numsub("slow") == 1, message="the named stream's SUBSCRIBE")
        assert redis.publish("slow", b"late") == 1
        assert peers[0].read(len(b"data: late\n\n")) == b"data: late\n\n"
        # a second stream to the same name uses the cached answer: no second lookup
        again = SSESession(peers[2].theirs, Offload("sse", f"{SLOW}:{redis.port}", "slow"), 20.0, resolver)
        loop.add(again)
        wait_until(lambda: redis.numsub("slow") == 2, message="the cached name's SUBSCRIBE")
        assert calls == [SLOW]
    finally:
        release.set()
        for peer in peers:
            peer.mine.close()  # the sessions see their clients leave; the loop then returns
        runner.join(15)
        assert not runner.is_alive(), "the offload loop did not end with its sessions"
        loop.close()
    wait_until(lambda: redis.numsub("slow") == 0 and redis.numsub("fast") == 0, message="unsubscribed")


def test_failed_lookup_ends_only_its_own_stream(redis: RedisRun, monkeypatch: pytest.MonkeyPatch,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    real = socket.getaddrinfo

    def fake(host: object, *args: object, **kwargs: object) -> object:
        if host == "gone.satrap-test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(offload.socket, "getaddrinfo", fake)
    loop = _Loop()
    lost, kept = Peer(), Peer()
    loop.add(SSESession(lost.theirs, Offload("sse", "gone.satrap-test:6379", "x"), 20.0, _Resolver()))
    loop.add(SSESession(kept.theirs, Offload("sse", redis.address, "kept"), 20.0, _Resolver()))
    runner = threading.Thread(target=loop.run, kwargs={"until_idle": True}, daemon=True)
    runner.start()
    try:
        assert lost.mine.recv(100) == b""  # a clean end of stream
        wait_until(lambda: redis.numsub("kept") == 1, message="the other stream's SUBSCRIBE")
        assert redis.publish("kept", b"still") == 1
        assert kept.read(len(b"data: still\n\n")) == b"data: still\n\n"
    finally:
        lost.mine.close()
        kept.mine.close()
        runner.join(15)
        assert not runner.is_alive()
        loop.close()
    err = capfd.readouterr().err
    assert "[sse_offload] cannot resolve redis host 'gone.satrap-test' (gone.satrap-test:6379): " \
           "[Errno -2] Name or service not known (channel 'x')" in err


def test_a_name_falls_back_to_its_next_address(redis: RedisRun, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name whose first address refuses (``localhost`` giving ``::1`` to a redis bound to
    127.0.0.1 only) is connected through its next one."""
    real = socket.getaddrinfo
    dead = free_port()

    def fake(host: object, *args: object, **kwargs: object) -> object:
        if host == "two.satrap-test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", dead)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", redis.port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(offload.socket, "getaddrinfo", fake)
    loop = _Loop()
    peer = Peer()
    loop.add(SSESession(peer.theirs, Offload("sse", f"two.satrap-test:{redis.port}", "second"), 20.0,
                        _Resolver()))
    runner = threading.Thread(target=loop.run, kwargs={"until_idle": True}, daemon=True)
    runner.start()
    try:
        wait_until(lambda: redis.numsub("second") == 1, message="SUBSCRIBE through the second address")
        assert redis.publish("second", b"found") == 1
        assert peer.read(len(b"data: found\n\n")) == b"data: found\n\n"
    finally:
        peer.mine.close()
        runner.join(15)
        assert not runner.is_alive()
        loop.close()
