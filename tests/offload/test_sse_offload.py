"""uWSGI's sse_offload plugin, built in: a redis pub/sub channel streamed as Server-Sent Events by
the worker's offload threads, end to end with a real redis-server and the real satrap.

The config is the wuvt-site one (corpus 021) in miniature: the app answers with X-SSE-* headers,
``pull-header`` turns them into variables, ``response-route-if-not = empty:${SSE_OFFLOAD} sse:...``
hands the response to the offload engine. One worker with one thread serves everything, so a
normal request answered while SSE clients stream proves they are not holding the worker.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from redisrun import RedisRun, running_redis
from support import Satrap, free_port, http_request, wait_until

from satrap.protocol.uwsgi import encode_packet

APP = '''
import os
from urllib.parse import parse_qs

def application(environ, start_response):
    path = environ["PATH_INFO"]
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    if path.startswith("/live/"):
        # what wuvt does: an empty event-stream response the server takes over (Flask would add
        # Content-Length: 0, which must not end the stream)
        headers = [("Content-Type", "text/event-stream"), ("Content-Length", "0"),
                   ("X-SSE-Offload", "y"), ("X-SSE-Channel", path[len("/live/"):]),
                   ("X-SSE-Server", qs.get("server", [os.environ["REDIS_SERVER"]])[0])]
        if "password" in qs:
            headers.append(("X-SSE-Password", qs["password"][0]))
        start_response("200 OK", headers)
        return [b""]
    if path == "/lazy/news":
        def gen():
            start_response("200 OK", [("Content-Type", "text/event-stream"), ("X-SSE-Offload", "y"),
                                      ("X-SSE-Channel", "news"), ("X-SSE-Server", os.environ["REDIS_SERVER"])])
            yield b"ignored"
        return gen()
    body = b"hello " + path.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''

CONFIG = """[uwsgi]
master = 1
processes = 1
offload-threads = {threads}
plugins = python,sse_offload
wsgi-file = {app}
add-header = X-Frame-Options: SAMEORIGIN
collect-header = Content-Security-Policy CSP
response-route-if = empty:${{CSP}} addheader:Content-Security-Policy: default-src 'self'
pull-header = X-SSE-Offload SSE_OFFLOAD
pull-header = X-SSE-Server SSE_SERVER
pull-header = X-SSE-Channel SSE_CHANNEL
pull-header = X-SSE-Password SSE_PASSWORD
response-route-if-not = empty:${{SSE_OFFLOAD}} sse:server=${{SSE_SERVER}},subscribe=${{SSE_CHANNEL}},password=${{SSE_PASSWORD}}
route = ^/direct/(.*)$ sse:server={redis},subscribe=$1
"""


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisRun]:
    with running_redis() as rr:
        yield rr


class Server:
    def __init__(self, proc: Satrap, http: int, uwsgi: int) -> None:
        self.proc, self.http, self.uwsgi = proc, http, uwsgi


def _start(tmp: Path, redis: RedisRun, threads: int) -> Server:
    (tmp / "app.py").write_text(APP)
    (tmp / "sse.ini").write_text(CONFIG.format(threads=threads, app=tmp / "app.py", redis=redis.address))
    http, uwsgi = free_port(), free_port()
    proc = Satrap(["--ini", str(tmp / "sse.ini"), "--http-socket", f"127.0.0.1:{http}",
                   "--socket", f"127.0.0.1:{uwsgi}"], tmp, tmp / "satrap.log",
                  env={"REDIS_SERVER": redis.address})
    try:
        proc.wait_http(http)
    except BaseException:
        proc.stop()
        raise
    return Server(proc, http, uwsgi)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, redis: RedisRun) -> Iterator[Server]:
    srv = _start(tmp_path_factory.mktemp("sse"), redis, threads=2)
    try:
        yield srv
    finally:
        srv.proc.stop()


# -- a raw SSE client ------------------------------------------------------------------------------
class Client:
    """An SSE connection: the response head parsed, the stream read with deadlines."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in self.buf:
            assert time.monotonic() < deadline, f"no response head: {self.buf!r}"
            data = sock.recv(65536)
            assert data, f"closed before the head: {self.buf!r}"
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = lines[0]
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}

    def read(self, n: int, timeout: float = 10.0) -> bytes:
        """Exactly the next ``n`` bytes of the stream."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            assert left > 0, f"stream stalled after {self.buf!r}"
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            assert data, f"stream ended after {self.buf!r}"
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_eof(self, timeout: float = 10.0) -> bytes:
        """Everything until the server closes; fails on a reset (the close must be clean)."""
        self.sock.settimeout(timeout)
        while True:
            data = self.sock.recv(65536)
            if not data:
                out, self.buf = self.buf, b""
                return out
            self.buf += data

    def close(self) -> None:
        self.sock.close()


def http_sse(port: int, path: str) -> Client:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n".encode())
    return Client(sock)


def uwsgi_sse(port: int, path: str) -> Client:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(encode_packet({"REQUEST_METHOD": "GET", "REQUEST_URI": path, "PATH_INFO": path,
                                "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
                                "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost",
                                "REMOTE_ADDR": "127.0.0.1"}))
    return Client(sock)


def wait_subscribers(redis: RedisRun, channel: str, n: int, timeout: float = 10.0) -> None:
    wait_until(lambda: redis.numsub(channel) == n, timeout, message=f"{n} subscribers on {channel}")


def assert_relayed(redis: RedisRun, client: Client, channel: str, message: bytes, frame: bytes) -> None:
    """Once ``client``'s stream has subscribed, a message published on ``channel`` reaches it as
    exactly ``frame``."""
    wait_subscribers(redis, channel, 1)
    redis.publish(channel, message)
    assert client.read(len(frame)) == frame


def assert_broadcast(redis: RedisRun, clients: list[Client], channel: str, message: bytes) -> None:
    """Once every client's stream has subscribed, one message published on ``channel`` reaches
    each of them as its SSE frame."""
    wait_subscribers(redis, channel, len(clients))
    assert redis.publish(channel, message) == len(clients)
    frame = b"data: " + message + b"\n\n"
    for client in clients:
        assert client.read(len(frame)) == frame


# -- the tests -------------------------------------------------------------------------------------
def test_messages_arrive_as_sse_frames(server: Server, redis: RedisRun) -> None:
    client = http_sse(server.http, "/live/frames")
    try:
        assert client.status == "HTTP/1.1 200 OK"
        assert client.headers["content-type"] == "text/event-stream"
        assert "content-length" not in client.headers  # the app's "0" is dropped: the stream ends at close
        assert client.headers["connection"] == "close"
        assert not [h for h in client.headers if h.startswith("x-sse-")]  # pull-header removed them
        assert client.headers["x-frame-options"] == "SAMEORIGIN"
        assert client.headers["content-security-policy"] == "default-src 'self'"
        wait_subscribers(redis, "frames", 1)
        assert redis.publish("frames", b"hello") == 1
        assert redis.publish("frames", b"line one\nline two") == 1
        expected = b"data: hello\n\ndata: line one\ndata: line two\n\n"
        assert client.read(len(expected)) == expected
    finally:
        client.close()


def test_normal_request_keeps_its_headers(server: Server) -> None:
    status, headers, body = http_request(server.http, path="/plain")
    assert status == 200 and body == b"hello /plain"
    assert headers["content-security-policy"] == "default-src 'self'"
    assert "x-sse-offload" not in headers


def test_many_streams_do_not_hold_the_single_worker(server: Server, redis: RedisRun) -> None:
    clients = [http_sse(server.http, "/live/crowd") for _ in range(6)]
    try:
        wait_subscribers(redis, "crowd", 6)
        started = time.monotonic()
        status, _, body = http_request(server.http, path="/still-here", timeout=3)
        assert status == 200 and body == b"hello /still-here"
        assert time.monotonic() - started < 2.0
        assert_broadcast(redis, clients, "crowd", b"to all")
    finally:
        for client in clients:
            client.close()


def test_client_disconnect_ends_the_subscription(server: Server, redis: RedisRun) -> None:
    client = http_sse(server.http, "/live/leaving")
    wait_subscribers(redis, "leaving", 1)
    client.close()
    wait_subscribers(redis, "leaving", 0)
    assert http_request(server.http, path="/after")[0] == 200


def test_uwsgi_protocol_socket_streams_too(server: Server, redis: RedisRun) -> None:
    client = uwsgi_sse(server.uwsgi, "/live/nginx")
    try:
        assert client.status.startswith("HTTP/1.1 200")
        assert client.headers["content-type"] == "text/event-stream"
        assert_relayed(redis, client, "nginx", b"via uwsgi", b"data: via uwsgi\n\n")
    finally:
        client.close()


def test_request_route_sse_sends_the_plugin_head(server: Server, redis: RedisRun) -> None:
    client = http_sse(server.http, "/direct/clock")
    try:
        assert client.status == "HTTP/1.1 200 OK"
        assert client.headers["content-type"] == "text/event-stream"
        assert client.headers["cache-control"] == "no-cache"
        assert_relayed(redis, client, "clock", b"1700000000", b"data: 1700000000\n\n")
    finally:
        client.close()


def test_lazy_app_response_is_offloaded(server: Server, redis: RedisRun) -> None:
    client = http_sse(server.http, "/lazy/news")
    try:
        assert client.headers["content-type"] == "text/event-stream"
        assert_relayed(redis, client, "news", b"x", b"data: x\n\n")  # not the app's b"ignored"
    finally:
        client.close()


def test_redis_down_closes_cleanly_and_worker_lives(server: Server) -> None:
    dead = free_port()
    client = http_sse(server.http, f"/live/nowhere?server=127.0.0.1:{dead}")
    try:
        assert client.status == "HTTP/1.1 200 OK"
        assert client.read_eof() == b""  # a FIN (a reset would raise), nothing streamed
    finally:
        client.close()
    server.proc.wait_log(rf"\[sse_offload\] cannot connect to redis 127\.0\.0\.1:{dead}")
    assert http_request(server.http, path="/alive")[2] == b"hello /alive"


def test_redis_closing_ends_the_stream(server: Server, redis: RedisRun) -> None:
    client = http_sse(server.http, "/live/kicked")
    try:
        assert_relayed(redis, client, "kicked", b"last", b"data: last\n\n")
        killed = redis.command("CLIENT", "KILL", "TYPE", "pubsub")
        assert killed >= 1
        assert client.read_eof() == b""
    finally:
        client.close()


def test_password_is_sent_with_auth(tmp_path: Path) -> None:
    with running_redis(password="s3cret pass") as secured:
        srv = _start(tmp_path, secured, threads=1)
        try:
            good = http_sse(srv.http, f"/live/private?server={secured.address}&password=s3cret+pass")
            try:
                assert_relayed(secured, good, "private", b"for members", b"data: for members\n\n")
            finally:
                good.close()
            bad = http_sse(srv.http, f"/live/private?server={secured.address}&password=wrong")
            try:
                assert bad.read_eof() == b""
            finally:
                bad.close()
            srv.proc.wait_log(r"\[sse_offload\] redis 127\.0\.0\.1:\d+ refused: WRONGPASS")
            assert http_request(srv.http, path="/ok")[0] == 200
        finally:
            srv.proc.stop()


def test_without_offload_threads_the_worker_streams_itself(tmp_path: Path, redis: RedisRun) -> None:
    srv = _start(tmp_path, redis, threads=0)
    try:
        client = http_sse(srv.http, "/live/inline")
        try:
            assert_relayed(redis, client, "inline", b"a\nb", b"data: a\ndata: b\n\n")
        finally:
            client.close()
        wait_subscribers(redis, "inline", 0)
        assert http_request(srv.http, path="/free-again", timeout=5)[0] == 200  # the worker is back
        srv.proc.wait_log(r"no offload-threads: the SSE stream runs in the worker thread")
    finally:
        srv.proc.stop()


def test_keepalive_connection_can_turn_into_a_stream(server: Server, redis: RedisRun) -> None:
    sock = socket.create_connection(("127.0.0.1", server.http), timeout=10)
    try:
        sock.sendall(b"GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = Client(sock)
        assert first.status == "HTTP/1.1 200 OK" and first.read(len(b"hello /first")) == b"hello /first"
        sock.sendall(b"GET /live/reused HTTP/1.1\r\nHost: localhost\r\n\r\n")
        stream = Client(sock)  # the parked connection, now taken over by the engine
        stream.buf = first.buf + stream.buf
        assert stream.headers["content-type"] == "text/event-stream"
        assert_relayed(redis, stream, "reused", b"again", b"data: again\n\n")
        for n in range(3):  # the worker's epoll and its fd bookkeeping are still sound
            assert http_request(server.http, path=f"/n{n}")[2] == f"hello /n{n}".encode()
    finally:
        sock.close()
    wait_subscribers(redis, "reused", 0)


def test_garbage_from_redis_ends_the_stream_not_the_worker(server: Server) -> None:
    fake = socket.create_server(("127.0.0.1", 0))
    fake.settimeout(10)
    port = fake.getsockname()[1]
    client = http_sse(server.http, f"/live/junk?server=127.0.0.1:{port}")
    try:
        peer, _ = fake.accept()
        with peer:
            peer.settimeout(10)
            assert b"SUBSCRIBE" in peer.recv(65536)
            peer.sendall(b"*3\r\n$9\r\nsubscribe\r\n$4\r\njunk\r\n:1\r\n" + b"$99999999999\r\n")
            assert client.read_eof() == b""
    finally:
        client.close()
        fake.close()
    server.proc.wait_log(r"\[sse_offload\] redis 127\.0\.0\.1:\d+ sent garbage: RESP: bulk string of 99999999999")
    assert http_request(server.http, path="/fine")[2] == b"hello /fine"


def test_redis_given_by_host_name_streams(server: Server, redis: RedisRun) -> None:
    """``server=localhost:PORT``: the name is looked up off the offload loop (and cached), then
    the stream works as with a numeric address; a second stream to the same name works too."""
    clients = [http_sse(server.http, f"/live/named?server=localhost:{redis.port}") for _ in range(2)]
    try:
        for client in clients:
            assert client.status == "HTTP/1.1 200 OK"
        assert_broadcast(redis, clients, "named", b"by name")
    finally:
        for client in clients:
            client.close()
    wait_subscribers(redis, "named", 0)

