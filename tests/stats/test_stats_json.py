"""uWSGI's stats JSON over TCP and unix sockets, with values checked against what was sent."""

from __future__ import annotations

import json
import os
import time

from conftest import BODY_LEN, raw_stats, send_requests
from support import wait_until

TOP_KEYS = ["version", "listen_queue", "listen_queue_errors", "signal_queue", "load", "pid", "uid",
            "gid", "cwd", "locks", "sockets", "workers"]
WORKER_KEYS = ["id", "pid", "accepting", "requests", "delta_requests", "exceptions", "harakiri_count",
               "signals", "signal_queue", "status", "rss", "vsz", "running_time", "last_spawn",
               "respawn_count", "tx", "avg_rt", "apps", "cores"]
CORE_KEYS = ["id", "requests", "static_requests", "routed_requests", "offloaded_requests",
             "write_errors", "read_errors", "in_request", "vars", "req_info"]


def test_json_shape_and_true_values(instance, tmp_path):
    proc, port, stats = instance(processes=2)
    paths = ["/"] * 23 + ["/status/404"] * 5 + ["/status/500"] * 2
    received = send_requests(port, paths)
    raw = raw_stats(stats)
    assert raw.startswith(b"{\n\t\"version\""), "tab-indented like uWSGI"
    doc = json.loads(raw)
    assert list(doc)[:len(TOP_KEYS)] == TOP_KEYS
    assert doc["pid"] == proc.pid
    assert doc["uid"] == os.getuid() and doc["gid"] == os.getgid()
    assert doc["cwd"] == str(tmp_path)
    assert doc["listen_queue"] == 0 and doc["load"] == 0
    [sock] = doc["sockets"]
    assert sock["name"] == f"127.0.0.1:{port}" and sock["proto"] == "http"
    assert sock["max_queue"] == 100  # the default --listen backlog, as the kernel reports it
    workers = doc["workers"]
    assert [w["id"] for w in workers] == [1, 2]
    assert sorted(w["pid"] for w in workers) == sorted(proc.workers())
    now = time.time()
    for w in workers:
        assert list(w)[:len(WORKER_KEYS) - 1] == WORKER_KEYS[:-1]
        assert w["status"] == "idle" and w["accepting"] == 1
        assert 0 < w["rss"] <= w["vsz"]
        assert now - 120 < w["last_spawn"] <= now + 1
        assert w["respawn_count"] == 0 and w["harakiri_count"] == 0
        assert w["apps"][0]["requests"] == w["requests"]
        [core] = w["cores"]
        assert list(core) == CORE_KEYS and core["requests"] == w["requests"] and core["in_request"] == 0
        with open(f"/proc/{w['pid']}/statm") as f:
            pages = int(f.read().split()[1])
        assert abs(w["rss"] - pages * os.sysconf("SC_PAGE_SIZE")) < 8 << 20
    assert sum(w["requests"] for w in workers) == len(paths)
    assert sum(w["delta_requests"] for w in workers) == len(paths)
    assert sum(w["tx"] for w in workers) == received == len(paths) * BODY_LEN
    assert sum(w["running_time"] for w in workers) > 0
    classes = [sum(w["status_classes"][i] for w in workers) for i in range(5)]
    assert classes == [0, 23, 0, 5, 2]
    assert sum(sum(w["latency_buckets"]) for w in workers) == len(paths)
    # a second read: nothing new, so delta_requests drops to 0 and totals stay
    doc2 = json.loads(raw_stats(stats))
    assert sum(w["requests"] for w in doc2["workers"]) == len(paths)
    assert all(w["delta_requests"] == 0 for w in doc2["workers"])


def test_busy_worker_and_listen_queue(instance, tmp_path):
    """One worker held busy: it shows "busy" with the URI, and connections that wait for it are
    counted in listen_queue (the kernel's accept backlog, read with TCP_INFO)."""
    import socket

    _proc, port, stats = instance(processes=1)
    flag = tmp_path / "release"
    blocker = socket.create_connection(("127.0.0.1", port))
    blocker.sendall(f"GET /block?{flag} HTTP/1.1\r\nHost: x\r\n\r\n".encode())

    def busy() -> dict | None:
        doc = json.loads(raw_stats(stats))
        return doc if doc["workers"][0]["status"] == "busy" else None

    doc = wait_until(busy, message="worker busy")
    core = doc["workers"][0]["cores"][0]
    assert core["in_request"] == 1 and core["vars"] == ["REQUEST_METHOD=GET", f"REQUEST_URI=/block?{flag}"]
    assert core["req_info"]["request_start"] > 0
    waiting = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    try:
        doc = wait_until(lambda: (d := json.loads(raw_stats(stats)))["listen_queue"] == 4 and d,
                         message="listen_queue == 4")
        assert doc["sockets"][0]["queue"] == 4 and doc["load"] == 4
    finally:
        flag.write_text("go")
        for s in waiting:
            s.close()
        blocker.close()
    wait_until(lambda: json.loads(raw_stats(stats))["listen_queue"] == 0, message="queue drained")


def test_unix_socket_stats(instance, tmp_path):
    path = tmp_path / "stats.sock"
    proc, port, _stats = instance(processes=1, stats=str(path))
    send_requests(port, ["/"] * 7)
    doc = json.loads(raw_stats(str(path)))
    assert doc["workers"][0]["requests"] == 7
    # the same socket answers HTTP when the client speaks it
    reply = raw_stats(str(path), b"GET /metrics HTTP/1.0\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") and b"text/plain; version=0.0.4" in head
    assert b'satrap_requests_total{worker="1"} 7' in body
    proc.signal(2)
    proc.wait_exit()
    assert not path.exists(), "the stats socket file is removed at exit"
