"""Hostile clients against the live server, through ``--http`` (router) and ``--http-socket``.

* every malformed vector in tests/protocol/http_cases/invalid gets its status and a close, and a
  normal request succeeds right after; no worker dies;
* a bounded hypothesis fuzz of the live ``--http`` path;
* 200 idle / one-byte-a-second clients do not stop a normal client (both paths; see the
  docstrings for what protects each);
* a slowloris client is dropped after ``http-timeout`` by the router and never reaches a worker.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router.servers import PATHS, Server
from support import read_until_eof

CASES = Path(__file__).resolve().parents[1] / "protocol" / "http_cases" / "invalid"
VECTORS = sorted(CASES.glob("*.http"))
NORMAL = b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module", params=PATHS)
def live(request, tmp_path_factory):
    server = Server(request.param, tmp_path_factory.mktemp(request.param), [])
    yield server
    server.stop()


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            return read_until_eof(s)
        except OSError:
            return b""


def normal_request_ok(server: Server) -> None:
    with server.connect() as s:
        s.sendall(NORMAL)
        s.shutdown(socket.SHUT_WR)
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"ok /after"), data[:300]


def test_at_least_60_vectors():
    assert len(VECTORS) >= 60


def test_invalid_vectors_replayed_live(live):
    """Each vector: its status (and a close: nothing after the one response), then a normal
    request on a new connection. Workers (and the router) keep their pids."""
    before = live.worker_pids()
    failures = []
    for path in VECTORS:
        status = int(path.name.split("-")[1])
        answer = exchange(live.port, path.read_bytes())
        # both paths de-chunk a chunked body before the app runs, so a bad one gets its 400 too
        ok = answer.startswith(b"HTTP/1.1 %d " % status) and answer.count(b"HTTP/1.1 ") == 1
        if not ok:
            failures.append(f"{path.name}: {answer[:120]!r}")
        normal_request_ok(live)
    assert not failures, "\n".join(failures)
    assert live.worker_pids() == before
    assert "DAMN" not in live.log()


# request pieces the fuzzer recombines; framing, smuggling and control bytes on purpose
PIECES = [
    b"GET ", b"POST ", b"HEAD ", b"/", b"/a?b=%41", b"http://h/x", b"*", b" HTTP/1.1", b" HTTP/1.0",
    b" HTTP/2.0", b"\r\n", b"\r", b"\n", b" ", b"\t", b":", b"Host: x\r\n", b"Host: x\r\n",
    b"Content-Length: 3\r\n", b"Content-Length: -1\r\n", b"Transfer-Encoding: chunked\r\n",
    b"Expect: 100-continue\r\n", b"Connection: close\r\n", b"Connection: keep-alive\r\n",
    b"\x00", b"\xff", b"0\r\n\r\n", b"3\r\nabc\r\n", b"zz\r\n", b"X-A: b\r\n", b"abc", b"\r\n\r\n",
]
requests = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=24).map(b"".join),
    st.binary(max_size=300),
    st.builds(lambda a, b: a + b, st.sampled_from([
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"]), st.binary(max_size=64)),
)


@pytest.fixture(scope="module")
def router_server(tmp_path_factory):
    server = Server("http", tmp_path_factory.mktemp("fuzz"), ["--http-timeout", "2"])
    yield server
    server.stop()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=requests)
def test_fuzz_live_router(router_server, data):
    """Whatever arrives, the router answers well-formed HTTP/1.1 responses (or closes), and a
    normal request still works afterwards."""
    answer = exchange(router_server.port, data, timeout=5)
    if answer:
        assert answer.startswith(b"HTTP/1.1 "), answer[:200]
        code = answer[9:12]
        assert code.isdigit() and code[:1] in b"12345", answer[:200]


def test_fuzz_left_the_router_healthy(router_server):
    pids = router_server.worker_pids()
    normal_request_ok(router_server)
    assert router_server.worker_pids() == pids
    assert "DAMN" not in router_server.log()


# -------------------------------------------------------------------------------------------------
# slow clients
# -------------------------------------------------------------------------------------------------
def _timed_request(server: Server) -> float:
    start = time.monotonic()
    normal_request_ok(server)
    return time.monotonic() - start


def _slow_clients(server: Server, rounds: int = 3) -> float:
    """200 clients: half silent, half sending one byte a second; returns the worst latency of
    normal requests made meanwhile (about 3 s of them)."""
    slow = []
    try:
        for i in range(200):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            if i % 2:
                s.sendall(b"G")  # the one-byte-a-second half
            slow.append(s)
        worst = 0.0
        for second in range(rounds):
            for i, s in enumerate(slow):
                if i % 2:
                    s.sendall(b"ET / HTTP/1.1\r\n"[second:second + 1])
            worst = max(worst, _timed_request(server))
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                worst = max(worst, _timed_request(server))
        return worst
    finally:
        for s in slow:
            s.close()


def test_200_slow_clients_do_not_block_a_normal_one_via_router(tmp_path):
    """--http: the router holds the 200 sockets; no head is complete, so nothing reaches the 2
    workers, which stay free for the normal client."""
    server = Server("http", tmp_path, ["--http-timeout", "30"])
    try:
        worst = _slow_clients(server)
        assert worst < 1.0, f"a normal request took {worst:.2f}s behind 200 slow clients"
        assert "DAMN" not in server.log()
    finally:
        server.stop()


def test_slow_clients_on_http_socket_do_not_block_workers(tmp_path):
    """--http-socket: a worker never blocks on a request head. A silent client, or one that
    trickles its head a byte at a time, is parked in the worker's epoll between its bytes and
    dropped with 408 when the head is not complete within ``socket-timeout``; normal clients
    are served meanwhile."""
    server = Server("http-socket", tmp_path, ["--socket-timeout", "2"])
    try:
        with server.connect(), server.connect(), server.connect():  # silent ones block nobody
            assert _timed_request(server) < 1.0
        worst = _slow_clients(server, rounds=1)
        print(f"--http-socket: worst normal-request latency behind 200 slow clients: {worst:.2f}s")
        assert worst < 1.0, f"a normal request took {worst:.2f}s behind 200 slow clients"
        normal_request_ok(server)
        assert "DAMN" not in server.log()
    finally:
        server.stop()


def test_slowloris_is_dropped_by_the_router_and_reaches_no_worker(tmp_path):
    server = Server("http", tmp_path, ["--http-timeout", "2"])
    try:
        with server.connect(timeout=10) as s:
            start = time.monotonic()
            head = b"GET /slowloris HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 100
            closed_at = None
            for byte in head:
                try:
                    s.sendall(bytes([byte]))
                except OSError:
                    closed_at = time.monotonic()
                    break
                s.settimeout(0.25)  # one byte every ~0.25 s (faster than 1/s: a shorter test)
                try:
                    data = s.recv(4096)
                except TimeoutError:
                    continue
                closed_at = time.monotonic()
                assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data[:200]
                break
            assert closed_at is not None, "the slow client was never dropped"
            assert 1.5 < closed_at - start < 4.5, closed_at - start
        assert "/slowloris" not in server.log()  # no worker ever saw it
        normal_request_ok(server)
    finally:
        server.stop()
