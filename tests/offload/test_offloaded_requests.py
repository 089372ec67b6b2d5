"""uWSGI's ``offloaded_requests``: responses a worker handed to its offload threads, counted in the
worker's scoreboard slot and shown by the master's stats server (JSON, ``/metrics``, ``satrap top``).

End to end: the real satrap with ``--offload-threads 1 --stats``, an ``sse:`` route, a real
redis-server; two SSE streams are counted, the plain requests around them are not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from redisrun import RedisRun, running_redis
from support import Satrap, free_port, http_request, wait_until
from test_sse_offload import assert_broadcast, http_sse, wait_subscribers

APP = '''
def application(environ, start_response):
    body = b"plain " + environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''


@pytest.fixture
def redis() -> Iterator[RedisRun]:
    with running_redis() as rr:
        yield rr


def _stats(port: int, path: str = "/json") -> bytes:
    status, _, body = http_request(port, "GET", path)
    assert status == 200
    return body


def test_offloaded_requests_counts_streams_not_plain_requests(
        satrap: Callable[..., Satrap], tmp_path: Path, redis: RedisRun) -> None:
    (tmp_path / "app.py").write_text(APP)
    http, stats = free_port(), free_port()
    proc = satrap("--master", "--processes", "1", "--offload-threads", "1",
                  "--http-socket", f"127.0.0.1:{http}", "--wsgi-file", str(tmp_path / "app.py"),
                  "--stats", f"127.0.0.1:{stats}", "--stats-http",
                  "--route", f"^/events/(.*)$ sse:server={redis.address},subscribe=$1")
    proc.wait_http(http)
    proc.wait_port(stats)
    [worker_pid] = proc.wait_workers(1)

    def worker() -> dict:
        doc = json.loads(_stats(stats))
        [w] = doc["workers"]
        assert w["pid"] == worker_pid
        return w

    before = worker()
    assert before["offloaded_requests"] == 0 and before["cores"][0]["offloaded_requests"] == 0

    assert http_request(http, path="/plain")[2] == b"plain /plain"
    wait_until(lambda: worker()["requests"] == before["requests"] + 1, message="the plain request counted")
    assert worker()["offloaded_requests"] == 0  # a normal response is not offloaded

    clients = [http_sse(http, "/events/ticker"), http_sse(http, "/events/ticker")]
    try:
        for client in clients:
            assert client.headers["content-type"] == "text/event-stream"
        assert_broadcast(redis, clients, "ticker", b"tick")  # the engine really streams them
        assert http_request(http, path="/after")[2] == b"plain /after"
        def counted() -> dict | None:  # the two streams and /after are counted as requests too
            w = worker()
            return w if w["requests"] == before["requests"] + 4 else None

        w = wait_until(counted, message="the streams' and the second plain request's counts")
        assert w["offloaded_requests"] == 2
        [core] = w["cores"]  # uWSGI's place for it: per core (one thread: core 0)
        assert core["offloaded_requests"] == 2

        metrics = _stats(stats, "/metrics").decode()
        assert "# TYPE satrap_offloaded_requests_total counter" in metrics
        assert 'satrap_offloaded_requests_total{worker="1"} 2\n' in metrics

        top = subprocess.run([sys.executable, "-m", "satrap", "top", "--once", f"http://127.0.0.1:{stats}"],
                             capture_output=True, text=True, timeout=30, check=False)
        assert top.returncode == 0, top.stderr
        header = next(line for line in top.stdout.splitlines() if line.split()[:1] == ["WID"])
        assert header.split()[-1] == "OFFL"
        [row] = [line.split() for line in top.stdout.splitlines()
                 if line.split()[:2] == ["1", str(worker_pid)]]
        assert row[-1] == "2"
    finally:
        for client in clients:
            client.close()
    wait_subscribers(redis, "ticker", 0)
    assert worker()["offloaded_requests"] == 2  # a count of hand-overs, not of live streams
