"""The router's connection machinery (``satrap.router.proxy``): failures of the worker side,
clients that go away, many connections at once, timeouts, and the uwsgi packet encoder."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

import pytest
from support import read_until_eof, wait_until

from router.servers import damn_free, read_response
from satrap.router.proxy import encode_vars
from satrap.router.upstream import UpstreamError, encode_var, packet_header


def _get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


def _router_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# -------------------------------------------------------------------------------------------------
# the uwsgi packet
# -------------------------------------------------------------------------------------------------
def test_encode_vars_matches_var_by_var_encoding():
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/é", "HTTP_X_LONG": "v" * 5000,
           "HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": "12", "HTTP_EMPTY": ""}
    fixed = encode_var("REMOTE_ADDR", "1.2.3.4") + encode_var("REMOTE_PORT", "5")
    block = fixed + b"".join(encode_var(k, v) for k, v in env.items()
                             if k not in ("HTTP_TRANSFER_ENCODING", "CONTENT_LENGTH"))
    block += encode_var("CONTENT_LENGTH", "3")
    assert encode_vars(fixed, env, "3") == packet_header(len(block)) + block


def test_http_modifiers_go_in_the_packet_header():
    """http-modifier1/2 (uWSGI's http router writes them in bytes 0 and 3 of every packet)."""
    from satrap.config.merge import load_config
    from satrap.errors import ConfigError
    from satrap.router.settings import RouterSettings

    packet = encode_vars(b"", {"PATH_INFO": "/"}, "", 9, 3)
    assert packet[0] == 9 and packet[3] == 3
    assert packet[1] | packet[2] << 8 == len(packet) - 4
    assert encode_vars(b"", {"PATH_INFO": "/"}, "")[:4:3] == b"\0\0"
    settings = RouterSettings.from_config(load_config(["--module", "none"]))
    assert (settings.modifier1, settings.modifier2) == (0, 0)
    settings = RouterSettings.from_config(load_config(["--module", "none", "--http-modifier1", "9",
                                                       "--http-modifier2", "1"]))
    assert (settings.modifier1, settings.modifier2) == (9, 1)
    with pytest.raises(ConfigError, match="http-modifier1"):
        load_config(["--module", "none", "--http-modifier1", "256"])


def test_encode_vars_refuses_what_a_packet_cannot_carry():
    with pytest.raises(UpstreamError):
        encode_vars(b"", {"HTTP_X": "v" * 70000}, "")
    with pytest.raises(UpstreamError):
        encode_vars(b"", {f"HTTP_X{i}": "v" * 3000 for i in range(30)}, "")


# -------------------------------------------------------------------------------------------------
# the worker side failing
# -------------------------------------------------------------------------------------------------
def test_worker_killed_mid_request_is_a_502_not_a_hang(serve):
    server = serve("http")
    with server.connect(timeout=10) as s:
        started = time.monotonic()
        s.sendall(_get("/die"))
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 502 Bad Gateway\r\n"), data[:200]
    assert time.monotonic() - started < 5
    # the master respawns the worker; the router goes on serving
    wait_until(lambda: server.get("/again")[2] == b"ok /again", 10, message="requests again")
    log = server.log()
    assert "Traceback" not in log, log[-3000:]


def test_tcp_upstream(serve):
    """Workers on a TCP uwsgi socket: the router's connect completes asynchronously."""
    server = serve("http", upstream="tcp")
    with server.connect() as s:
        buf = bytearray()
        for i in range(5):
            s.sendall(_get(f"/t{i}"))
            assert read_response(s, buf)[2] == b"ok /t%d" % i
        s.sendall(_get("/nolength"))
        _, headers, body = read_response(s, buf)
        assert headers["transfer-encoding"] == "chunked" and body == b"part1;part2;part3"
    damn_free(server)


# -------------------------------------------------------------------------------------------------
# clients
# -------------------------------------------------------------------------------------------------
def test_clients_that_go_away_leave_nothing_behind(serve):
    """Clients that close while their request is at a worker, or in the middle of a head or a
    body: the router closes both sides and its fd count comes back down."""
    server = serve("http")
    pid = server.router_pid()
    assert pid is not None
    assert server.get("/warm")[0] == 200
    before = _router_fds(pid)
    for _ in range(4):
        with server.connect() as s:
            s.sendall(_get("/sleep?0.3"))
    for _ in range(4):
        with server.connect() as s:
            s.sendall(b"GET /half HTTP/1.1\r\nHo")
    for _ in range(4):
        with server.connect() as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"z" * 1000)
    wait_until(lambda: _router_fds(pid) <= before, 10, message="the router's fds to be released")
    assert server.get("/after")[2] == b"ok /after"
    damn_free(server)


def test_close_after_pipelined_bytes_is_not_a_reset(serve):
    """``Connection: close`` with more bytes behind it: the router drains before closing, so
    the client reads the whole answer and a clean EOF (a RST would raise here)."""
    server = serve("http")
    with server.connect() as s:
        s.sendall(_get("/a", "Connection: close\r\n") + _get("/b") * 50)
        data = bytearray()
        while chunk := s.recv(65536):  # ConnectionResetError would fail the test
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"ok /a")
    assert data.count(b"HTTP/1.1") == 1


def test_many_connections_at_once_get_their_own_answers(serve):
    """Connections served side by side (sockets of finished requests are closed and their fd
    numbers reused within one loop pass): each connection sees exactly its own responses."""
    server = serve("http", processes=2)
    errors: list[str] = []
    payload = os.urandom(3000)
    digest = b"%d %s" % (len(payload), hashlib.sha256(payload).hexdigest().encode())

    def client(n: int) -> None:
        try:
            for round_ in range(3):
                with server.connect(timeout=20) as s:
                    buf = bytearray()
                    for i in range(15):
                        tag = f"/c{n}-{round_}-{i}"
                        kind = i % 4
                        if kind == 0:
                            s.sendall(_get(tag))
                            want = b"ok " + tag.encode()
                        elif kind == 1:
                            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                                      % len(payload) + payload)
                            want = digest
                        elif kind == 2:
                            s.sendall(_get("/nolength"))
                            want = b"part1;part2;part3"
                        else:  # two pipelined at once
                            s.sendall(_get(tag + "a") + _get(tag + "b"))
                            got = read_response(s, buf)[2]
                            if got != b"ok " + (tag + "a").encode():
                                errors.append(f"{tag}a: {got[:60]!r}")
                            want = b"ok " + (tag + "b").encode()
                        got = read_response(s, buf)[2]
                        if got != want:
                            errors.append(f"{tag}: {got[:60]!r} != {want[:60]!r}")
                    s.sendall(_get("/last", "Connection: close\r\n"))
                    status, headers, body = read_response(s, buf)
                    if body != b"ok /last" or headers.get("connection") != "close":
                        errors.append(f"last: {status!r} {headers} {body[:60]!r}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"client {n}: {exc!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:10]
    damn_free(server)


# -------------------------------------------------------------------------------------------------
# timeouts
# -------------------------------------------------------------------------------------------------
def test_incomplete_head_gets_408_in_time(serve):
    server = serve("http", "--http-timeout", "1")
    with server.connect(timeout=10) as s:
        started = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for _ in range(4):  # a byte now and then does not extend the deadline
            time.sleep(0.3)
            try:
                s.sendall(b"X")
            except OSError:
                break
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]
    assert time.monotonic() - started < 4


def test_idle_keep_alive_connection_is_closed(serve):
    server = serve("http", "--http-timeout", "1")
    with server.connect(timeout=10) as s:
        buf = bytearray()
        s.sendall(_get("/one"))
        assert read_response(s, buf)[2] == b"ok /one"
        started = time.monotonic()
        assert s.recv(100) == b""  # closed without a word
        assert time.monotonic() - started < 4


def test_partial_body_times_out_with_408(serve):
    server = serve("http", "--http-timeout", "1")
    with server.connect(timeout=10) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]


@pytest.mark.parametrize("shape", ["length", "chunked"])
def test_slow_reader_of_a_big_response(serve, shape):
    """A client that reads a big answer slowly: back-pressure, then every byte arrives."""
    server = serve("http")
    with server.connect(timeout=20) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.sendall(_get("/big" if shape == "length" else "/stream?64") + _get("/after"))
        time.sleep(0.5)
        buf = bytearray()
        _, headers, body = read_response(s, buf)
        if shape == "length":
            assert body == b"x" * (1 << 20)
        else:
            assert headers["transfer-encoding"] == "chunked" and len(body) == 64 * 65536
        assert read_response(s, buf)[2] == b"ok /after"


def test_early_answer_to_a_streamed_body_closes_cleanly(serve):
    """A body over the router's buffer is streamed to the worker; when the app answers without
    reading it, the client gets that answer and then a close (its framing is lost), and the
    router goes on serving."""
    server = serve("http")
    with server.connect(timeout=10) as s:
        s.sendall(b"POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (4 << 20)
                  + b"z" * 100_000)
        status, headers, body = read_response(s, bytearray())
        assert status == b"HTTP/1.1 200 OK" and body == b"ok /early"
        assert headers.get("connection") == "close"
        started = time.monotonic()
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 5
    assert server.get("/after")[2] == b"ok /after"
    damn_free(server)
