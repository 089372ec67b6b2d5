"""HTTP/1.1 serving on --http-socket (issue 2, item 4): keep-alive, chunked, HEAD, PEP 3333."""

from __future__ import annotations

import shutil
import socket

import pytest

from support import FIXTURE_APPS, free_port, http_request


@pytest.fixture
def server(satrap, tmp_path):
    def start(app: str, *extra: str):
        shutil.copy(FIXTURE_APPS / f"{app}.py", tmp_path / f"{app}.py")
        port = free_port()
        proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", app, *extra)
        proc.wait_http(port)
        return proc, port

    return start


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[bytes, dict[str, str], bytes]:
    """Minimal HTTP/1.1 response reader for keep-alive tests (Content-Length or chunked)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "server closed before the response head"
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    del buf[:len(head) + 4]
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(buf) < n:
            buf += sock.recv(65536)
        body = bytes(buf[:n])
        del buf[:n]
        return lines[0].encode(), headers, body
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buf:
                buf += sock.recv(65536)
            line, _, _ = bytes(buf).partition(b"\r\n")
            size = int(line, 16)
            del buf[:len(line) + 2]
            while len(buf) < size + 2:
                buf += sock.recv(65536)
            body += bytes(buf[:size])
            del buf[:size + 2]
            if size == 0:
                return lines[0].encode(), headers, body
    return lines[0].encode(), headers, b""


def test_keep_alive_serves_many_requests_on_one_connection(server):
    proc, port = server("raw")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        buf = bytearray()
        for i in range(5):
            s.sendall(b"GET /n%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            status, headers, body = _read_response(s, buf)
            assert status == b"HTTP/1.1 200 OK"
            assert body == b"ok /n%d" % i
            assert headers["content-length"] == str(len(body))


def test_pipelined_requests_are_answered_in_order(server):
    proc, port = server("raw")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = bytearray()
        assert _read_response(s, buf)[2] == b"ok /a"
        assert _read_response(s, buf)[2] == b"ok /b"


def test_connection_close_and_http10(server):
    proc, port = server("raw")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Connection: close\r\n" in data
        assert data.endswith(b"ok /c")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /ten HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        assert data.endswith(b"ok /ten")  # 1.0 without keep-alive: closed after the response


def test_http10_keep_alive(server):
    proc, port = server("raw")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        buf = bytearray()
        for path in (b"/x", b"/y"):
            s.sendall(b"GET " + path + b" HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            _, headers, body = _read_response(s, buf)
            assert headers["connection"].lower() == "keep-alive"
            assert body == b"ok " + path


def test_response_without_length_is_chunked_on_http11(server):
    proc, port = server("raw")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        buf = bytearray()
        s.sendall(b"GET /nolength HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = _read_response(s, buf)
        assert headers["transfer-encoding"] == "chunked"
        assert body == b"part1;part2;part3"
        s.sendall(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection is still usable
        assert _read_response(s, buf)[2] == b"ok /after"


def test_chunked_request_body_is_dechunked(server):
    proc, port = server("raw")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
                  b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = bytearray()
        assert _read_response(s, buf)[2] == b"got 11: hello world"
        assert _read_response(s, buf)[2] == b"ok /next"


def test_content_length_body_and_expect_continue(server):
    proc, port = server("raw")
    status, _, body = http_request(port, "POST", "/body", body=b"abc" * 1000)
    assert (status, body[:10]) == (200, b"got 3000: ")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        interim = s.recv(100)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"data")
        assert _read_response(s, bytearray())[2] == b"got 4: data"


def test_head_and_204_have_no_body(server):
    proc, port = server("raw")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /end HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while data.count(b"HTTP/1.1") < 3 or not data.endswith(b"ok /end"):
            chunk = s.recv(65536)
            assert chunk
            data += chunk
        assert b"Content-Length: 1048576\r\n" in data  # HEAD tells the length, sends no body
        assert b"xxxx" not in data
        assert b"HTTP/1.1 204 No Content\r\n" in data


def test_app_exception_gives_500_and_worker_lives(server):
    proc, port = server("raw")
    status, _, body = http_request(port, "GET", "/raise")
    assert status == 500
    assert http_request(port, "GET", "/ok")[2] == b"ok /ok"
    proc.wait_log("RuntimeError: app failure on purpose")


def test_malformed_request_gets_400_and_worker_lives(server):
    from support import raw_exchange

    proc, port = server("raw")
    answer = raw_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    answer = raw_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert http_request(port, "GET", "/ok")[2] == b"ok /ok"


@pytest.mark.parametrize("path,data,expected", [
    ("/read", b"payload-bytes", b"payload-bytes"),
    ("/readline", b"one\ntwo\nthree", b"3 lines|one\ntwo\nthree"),
    ("/readlines", b"a\nb\nc\nd\n", b"4 lines"),
    ("/iter", b"a\nb\n", b"2 lines"),
])
def test_pep3333_input_under_validator(server, path, data, expected):
    proc, port = server("validated")
    status, _, body = http_request(port, "POST", path, body=data)
    assert (status, body) == (200, expected)
    assert "AssertionError" not in proc.log()


@pytest.mark.parametrize("path,expected", [
    ("/read", b""),
    ("/readline", b"0 lines|"),
    ("/readlines", b"0 lines"),
    ("/iter", b"0 lines"),
])
def test_pep3333_input_without_a_body(server, path, expected):
    """A bodiless request gets one shared empty stream: it must still be a full PEP 3333 input
    (the validator checks every call), for a GET and for a POST with Content-Length: 0."""
    proc, port = server("validated")
    for method in ("GET", "POST"):  # a POST with Content-Length: 0 takes the same path
        status, _, body = http_request(port, method, path, body=b"" if method == "POST" else None)
        assert (status, body) == (200, expected)
    assert "AssertionError" not in proc.log()


def test_pep3333_write_file_wrapper_close_and_exc_info(server):
    proc, port = server("validated")
    assert http_request(port, "GET", "/write")[2] == b"written;returned"
    status, headers, body = http_request(port, "GET", "/file")
    assert status == 200 and body == b"0123456789" * 1000
    before = int(http_request(port, "GET", "/closed")[2])
    http_request(port, "GET", "/gen")
    assert int(http_request(port, "GET", "/closed")[2]) == before + 1  # close() of /gen was called
    status, _, body = http_request(port, "GET", "/error")
    assert (status, body) == (500, b"handled error")
    log = proc.log()
    assert "AssertionError" not in log and "WSGIWarning" not in log


def test_environ_fields(server):
    import json

    proc, port = server("flaskapp", "--callable", "app")
    status, _, body = http_request(port, "GET", "/environ?q=1", headers={"X-Test": "yes"})
    env = json.loads(body)
    assert env["QUERY_STRING"] == "q=1"
    assert env["PATH_INFO"] == "/environ"
    assert env["SCRIPT_NAME"] == ""
    assert env["SERVER_PORT"] == str(port)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["HTTP_X_TEST"] == "yes"
    assert env["wsgi.url_scheme"] == "http"
