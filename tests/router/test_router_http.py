"""HTTP/1.1 end to end through both paths: ``--http`` (the router process in front of uwsgi
workers) and ``--http-socket`` (workers speak HTTP). The same client-visible behaviour is asked
of both; router-only behaviour (502/504, graceful stop, supervision) is at the end."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket

import pytest
from support import http_request, read_until_eof, wait_until

from router.servers import PATHS, damn_free, read_response, router_wired

both = pytest.mark.parametrize("path", PATHS)


def _get(path: str, host: str = "x", version: str = "HTTP/1.1", extra: str = "") -> bytes:
    return f"GET {path} {version}\r\nHost: {host}\r\n{extra}\r\n".encode()


@both
def test_keep_alive_many_requests_one_connection(serve, path):
    server = serve(path)
    with server.connect() as s:
        buf = bytearray()
        for i in range(20):
            s.sendall(_get(f"/n{i}"))
            status, headers, body = read_response(s, buf)
            assert status == b"HTTP/1.1 200 OK"
            assert body == b"ok /n%d" % i
            assert "close" not in headers.get("connection", "")
    damn_free(server)


@both
def test_pipelined_requests_answered_in_order(serve, path):
    server = serve(path)
    with server.connect() as s:
        s.sendall(b"".join(_get(f"/p{i}") for i in range(10)) + b"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n"
                  + _get("/last"))
        buf = bytearray()
        for i in range(10):
            assert read_response(s, buf)[2] == b"ok /p%d" % i
        status, headers, body = read_response(s, buf, head=True)
        assert headers["content-length"] == str(1 << 20) and body == b""
        # HEAD: the length is told, no body follows, and the next response is intact
        assert read_response(s, buf)[2] == b"ok /last"


@both
def test_chunked_request_body_with_trailers(serve, path):
    server = serve(path)
    with server.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n"
                  + _get("/next"))
        buf = bytearray()
        expected = b"11 " + hashlib.sha256(b"hello world").hexdigest().encode()
        assert read_response(s, buf)[2] == expected
        assert read_response(s, buf)[2] == b"ok /next"


@both
def test_big_chunked_body_is_dechunked(serve, path):
    """2 MiB in 64 KiB chunks: over the router's memory buffer, so it spills to a temp file."""
    server = serve(path)
    payload = os.urandom(1 << 21)
    with server.connect(timeout=20) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(payload), 65536):
            part = payload[i:i + 65536]
            s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        body = read_response(s, bytearray())[2]
    assert body == b"%d %s" % (len(payload), hashlib.sha256(payload).hexdigest().encode())


@both
def test_content_length_bodies_small_and_large(serve, path):
    server = serve(path)
    for size in (0, 10, 70_000, 3 << 20):  # the last is streamed by the router
        payload = os.urandom(size)
        status, _, body = http_request(server.port, "POST", "/echo", body=payload, timeout=20)
        assert (status, body) == (200, b"%d %s" % (size, hashlib.sha256(payload).hexdigest().encode()))


@both
def test_expect_100_continue(serve, path):
    server = serve(path)
    with server.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"data")
        assert read_response(s, bytearray())[2].startswith(b"4 ")
    with server.connect() as s:  # chunked too
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"3\r\nabc\r\n0\r\n\r\n")
        assert read_response(s, bytearray())[2].startswith(b"3 ")


@both
def test_head_204_304_have_no_body(serve, path):
    server = serve(path)
    with server.connect() as s:
        s.sendall(b"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n" + _get("/204") + _get("/304") + _get("/end"))
        buf = bytearray()
        st, headers, body = read_response(s, buf, head=True)
        assert headers["content-length"] == str(1 << 20)
        assert read_response(s, buf)[0] == b"HTTP/1.1 204 No Content"
        st, headers, _ = read_response(s, buf)
        assert st == b"HTTP/1.1 304 Not Modified" and headers["etag"] == '"v1"'
        assert read_response(s, buf)[2] == b"ok /end"  # nothing stray between the responses
        assert b"xxxx" not in buf


@both
def test_unknown_length_is_chunked_for_11_and_close_delimited_for_10(serve, path):
    server = serve(path)
    with server.connect() as s:
        buf = bytearray()
        s.sendall(_get("/nolength"))
        _, headers, body = read_response(s, buf)
        assert headers["transfer-encoding"] == "chunked" and body == b"part1;part2;part3"
        s.sendall(_get("/stream?40"))
        _, headers, body = read_response(s, buf)
        assert len(body) == 40 * 65536 and body.startswith(b"000000y") and b"000039y" in body
        s.sendall(_get("/after"))
        assert read_response(s, buf)[2] == b"ok /after"
    with server.connect() as s:
        s.sendall(b"GET /nolength HTTP/1.0\r\n\r\n")
        data = read_until_eof(s)
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\npart1;part2;part3")
        assert b"chunked" not in data


@both
def test_absolute_form_target(serve, path):
    server = serve(path)
    with server.connect() as s:
        s.sendall(b"GET http://example.com:8080/environ?q=%41 HTTP/1.1\r\nHost: other\r\n\r\n")
        env = json.loads(read_response(s, bytearray())[2])
    assert env["PATH_INFO"] == "/environ"
    assert env["QUERY_STRING"] == "q=%41"
    assert env["HTTP_HOST"] == "example.com:8080"


@both
def test_environ_through_the_path(serve, path):
    server = serve(path)
    status, _, body = http_request(server.port, "POST", "/environ?a=1&b=%20", body=b"xyz",
                                   headers={"X-Test": "yes", "Content-Type": "text/x-t"})
    env = json.loads(body)
    assert env["REQUEST_METHOD"] == "POST"
    assert env["REQUEST_URI"] == "/environ?a=1&b=%20"
    assert env["QUERY_STRING"] == "a=1&b=%20"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["CONTENT_LENGTH"] == "3" and env["CONTENT_TYPE"] == "text/x-t"
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["REMOTE_PORT"].isdigit()
    assert env["SERVER_PORT"] == str(server.port)
    assert env["HTTP_X_TEST"] == "yes" and env["wsgi.url_scheme"] == "http"
    status, _, body = http_request(server.port, "GET", "/a%20b%2Fc")
    assert body == b"ok /a b/c"  # PATH_INFO is percent-decoded


@both
def test_connection_handling_10_and_11(serve, path):
    server = serve(path)
    with server.connect() as s:  # 1.1 + close: answered with Connection: close, then closed
        s.sendall(_get("/c", extra="Connection: close\r\n"))
        data = read_until_eof(s)
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close\r\n" in data
        assert data.endswith(b"ok /c")
    with server.connect() as s:  # plain 1.0: closed after the response
        s.sendall(b"GET /ten HTTP/1.0\r\n\r\n")
        assert read_until_eof(s).endswith(b"ok /ten")
    with server.connect() as s:  # 1.0 keep-alive: kept, and told so
        buf = bytearray()
        for p in ("/x", "/y"):
            s.sendall(f"GET {p} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".encode())
            _, headers, body = read_response(s, buf)
            assert headers["connection"].lower() == "keep-alive" and body == b"ok " + p.encode()


@both
def test_half_closed_client_still_gets_its_response(serve, path):
    """uWSGI's router drops the response when the client shuts its write side (reference 9)."""
    server = serve(path)
    with server.connect() as s:
        s.sendall(_get("/sleep", extra="") .replace(b"/sleep", b"/sleep?0.2"))
        s.shutdown(socket.SHUT_WR)
        assert read_until_eof(s).endswith(b"slept")


@both
@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 5000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 120 + b"\r\n", 431),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + b"z" * 2000, 413),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + b"z" * 2000
     + b"\r\n0\r\n\r\n", 413),
], ids=["414-uri", "431-head", "431-count", "413-length", "413-chunked"])
def test_limits(serve, path, request_bytes, status, request):
    server = serve(path, "--limit-post", "1000")
    with server.connect() as s:
        s.sendall(request_bytes)
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 %d " % status), data[:200]
    assert b"Connection: close\r\n" in data
    assert server.get("/ok")[2] == b"ok /ok"


@both
@pytest.mark.parametrize("smuggle", [
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nContent-Length: 40\r\n\r\n"
    b"abcdefGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
    b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"
    b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
], ids=["cl-te", "cl-cl", "te-not-final-chunked", "space-before-colon", "obs-fold"])
def test_smuggling_vectors_get_400_and_close(serve, path, smuggle):
    server = serve(path)
    with server.connect() as s:
        s.sendall(smuggle)
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    assert b"smuggled" not in data and data.count(b"HTTP/1.1 ") == 1


# -------------------------------------------------------------------------------------------------
# router only
# -------------------------------------------------------------------------------------------------
def test_502_when_no_worker_listens(serve, tmp_path):
    server = serve("http", upstream=str(tmp_path / "nobody.sock"))  # run_router alone
    with server.connect() as s:
        s.sendall(_get("/"))
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert b"Connection: close\r\n" in data


def test_504_when_the_worker_is_too_slow(serve):
    server = serve("http", "--http-timeout", "1", "--harakiri", "0")
    with server.connect() as s:
        s.sendall(_get("/sleep?3"))
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 504 Gateway Timeout\r\n")
    assert server.get("/ok")[2] == b"ok /ok"


def test_large_response_is_streamed_not_buffered(serve):
    """A 64 MiB close-delimited response through a client that reads slowly: the router's
    memory stays bounded (it relays as the client reads)."""
    server = serve("http")
    pid = server.router_pid()
    assert pid is not None
    with server.connect(timeout=20) as s:
        s.sendall(_get("/stream?1024"))
        got = 0
        rss_max = 0
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += len(chunk)
            if got % (8 << 20) < (1 << 16):
                with open(f"/proc/{pid}/status") as f:
                    rss = [int(line.split()[1]) for line in f if line.startswith("VmRSS")][0]
                rss_max = max(rss_max, rss)
            if got > 1024 * 65536:
                break
    assert got >= 1024 * 65536
    assert rss_max < 120_000, f"router RSS grew to {rss_max} kB"


@pytest.mark.parametrize("harness", [True, False], ids=["run_router", "satrap"])
def test_graceful_stop_finishes_in_flight_requests(serve, harness):
    server = serve("http", harness=harness)
    pid = server.router_pid()
    assert pid is not None
    with server.connect() as busy, server.connect() as idle:
        idle.sendall(_get("/warm"))
        read_response(idle, bytearray())
        busy.sendall(_get("/sleep?1"))
        wait_until(lambda: (server.workdir / "sleep-started").exists(), 5,
                   message="the sleep request to reach the app")
        os.kill(pid, signal.SIGHUP)
        assert read_until_eof(idle) == b""  # the idle keep-alive connection is closed at once
        data = read_until_eof(busy)  # the in-flight one gets its response, then a close
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in data
        assert data.endswith(b"slept")
    if server.router is not None:
        assert server.router.wait(5) == 0


@pytest.mark.xfail(not router_wired(), reason="the master does not run the router yet", strict=False)
def test_router_killed_is_respawned(serve):
    server = serve("http")
    assert not server.harness
    pid = server.router_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: (p := server.router_pid()) is not None and p != pid, 10,
               message="a new router")
    wait_until(lambda: server.get("/again")[2] == b"ok /again", 10, message="requests again")
