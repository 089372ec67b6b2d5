"""Property test: whatever arrives on a uwsgi socket, one worker answers or closes cleanly, and
lives on. Random bytes, and valid packets (as nginx would send them) truncated and mutated, are
thrown at ONE running worker (``--master --processes 1``); afterwards a normal request succeeds on
the same worker pid, and the master never had to respawn it (no "DAMN" in the log).
"""

from __future__ import annotations

import re
import socket
import time
from typing import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from satrap.protocol.uwsgi import encode_packet
from support import FIXTURE_APPS, Satrap, free_port

APP_DIR = FIXTURE_APPS / "uwsgi_nginx"
STATUS_LINE = re.compile(rb"HTTP/[0-9]\.[0-9] [1-5]\d\d [^\r\n]*\r\n")


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Satrap, int, int]]:
    logs = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    # socket-timeout bounds how long a worker waits on a peer that sends too little
    app = Satrap(["--socket", f"127.0.0.1:{port}", "--module", "server", "--callable", "myapp",
                  "--master", "--processes", "1", "--socket-timeout", "2", "--disable-logging"],
                 APP_DIR, logs / "satrap.log", {"PYTHONDONTWRITEBYTECODE": "1"})
    try:
        app.wait_port(port)
        [pid] = app.wait_workers(1)
        yield app, port, pid
    finally:
        app.stop()


def exchange(port: int, data: bytes) -> tuple[bytes, str]:
    """Send, half-close, read until the worker closes: (answer, "fin" | "reset" | "hang")."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker already refused it and closed
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return b"".join(chunks), "reset"
            except socket.timeout:
                return b"".join(chunks), "hang"
            if not chunk:
                return b"".join(chunks), "fin"
            chunks.append(chunk)


def request(port: int, path: str) -> bytes:
    pvars = {"REQUEST_METHOD": "GET", "REQUEST_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
             "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "fuzz.test", "SERVER_PORT": "80"}
    answer, how = exchange(port, encode_packet(pvars))
    assert how == "fin"
    return answer


# -- strategies --------------------------------------------------------------------------------

PATHS = ["/", "/pid", "/echo", "/upload", "/headers", "/go", "/stream", "/nowhere", "/caf\u00c3\u00a9/x"]
METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", ""]
text = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=40)


@st.composite
def nginx_like_packet(draw: st.DrawFn) -> bytes:
    """A packet as nginx's uwsgi module builds it (plus random extra vars), and its body."""
    path = draw(st.sampled_from(PATHS))
    query = draw(st.sampled_from(["", "x=1", "size=1000", "a=1&a=2", "size=abc"]))
    body = draw(st.binary(max_size=300))
    declared = draw(st.sampled_from([str(len(body)), "", str(len(body) + 50), "0", "x", "-1",
                                     "99999999999999999999"]))
    pvars = [("QUERY_STRING", query), ("REQUEST_METHOD", draw(st.sampled_from(METHODS))),
             ("CONTENT_TYPE", draw(st.sampled_from(["", "application/json", "text/plain",
                                                      "application/x-www-form-urlencoded",
                                                      "multipart/form-data; boundary=zz"]))),
             ("CONTENT_LENGTH", declared), ("REQUEST_URI", path + ("?" + query if query else "")),
             ("PATH_INFO", path), ("SERVER_PROTOCOL", draw(st.one_of(
                 st.sampled_from(["HTTP/1.1", "HTTP/1.0", "", "HTTP/2.0", "FTP/9", "HTTP/1.1 200 OK\r\nX: y"]),
                 text))),
             ("REMOTE_ADDR", "127.0.0.1"), ("SERVER_PORT", "80"), ("SERVER_NAME", "fuzz.test")]
    pvars += draw(st.lists(st.tuples(text.filter(bool), text), max_size=6))
    for key in draw(st.lists(st.sampled_from(["HTTPS", "UWSGI_SCHEME", "HTTP_X_FORWARDED_PROTO",
                                              "SCRIPT_NAME", "UWSGI_SCRIPT", "UWSGI_FILE"]), max_size=3)):
        pvars.append((key, draw(text)))
    modifier1 = draw(st.sampled_from([0, 0, 0, 30, 5, 72, 100, 255]))
    return encode_packet(pvars, modifier1=modifier1, modifier2=draw(st.sampled_from([0, 0, 1]))) + body


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(nginx_like_packet()))
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


payloads = st.one_of(st.binary(max_size=200), nginx_like_packet(), mutated(),
                     st.binary(min_size=1, max_size=3))


def test_any_bytes_get_a_response_or_a_clean_close(worker: tuple[Satrap, int, int]) -> None:
    app, port, pid = worker
    outcomes = {"answered": 0, "closed": 0}
    previous = [b""]

    # no shrinking: once the worker is gone every later example fails too, and shrinking against
    # a respawning worker would only burn time; the failing input is in the assertion message
    @settings(max_examples=200, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=payloads)
    def one_connection(data: bytes) -> None:
        answer, how = exchange(port, data)
        # (a dying worker's pid can outlive its closed socket by a moment: name both inputs)
        assert app.workers() == [pid], (f"worker {pid} died on {data!r} or on {previous[0]!r}:\n"
                                        f"{app.log()[-3000:]}")
        previous[0] = data
        assert how != "hang", f"no answer and no close within 5 s for {data!r}"
        if answer:
            assert STATUS_LINE.match(answer), answer[:200]
            assert b"\r\n\r\n" in answer, answer[:200]
            outcomes["answered"] += 1
        else:
            # nothing to say: a close, and a clean one (FIN, not RST)
            assert how == "fin", f"connection reset for {data[:80]!r}"
            outcomes["closed"] += 1
        assert app.proc.poll() is None, app.log()[-3000:]

    started = time.monotonic()
    one_connection()
    elapsed = time.monotonic() - started
    assert elapsed < 30, elapsed
    # both kinds of outcome were exercised
    assert outcomes["answered"] > 10 and outcomes["closed"] > 10, outcomes

    # afterwards: a normal request succeeds, on the very same worker, never respawned
    answer = request(port, "/pid")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:300]
    assert answer.endswith(b"\r\n\r\n" + str(pid).encode())
    assert app.workers() == [pid]
    log = app.log()
    assert "DAMN" not in log and "respawn" not in log.lower(), log[-3000:]
