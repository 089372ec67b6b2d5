"""``--stats-http``: the JSON over HTTP, ``/metrics`` (Prometheus) and ``/history``."""

from __future__ import annotations

import json
import re
import threading

import pytest
from conftest import send_requests
from support import http_request


def _metrics(port: int) -> tuple[dict[str, str], str]:
    status, headers, body = http_request(port, "GET", "/metrics")
    assert status == 200
    return headers, body.decode()


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_stats_http_json_and_metrics_under_load(instance):
    proc, port, stats = instance("--stats-http", processes=3)
    stats_port = int(stats.rsplit(":", 1)[1])
    status, headers, body = http_request(stats_port, "GET", "/json")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "*"
    assert json.loads(body)["pid"] == proc.pid

    # load from 4 client threads while /metrics is scraped concurrently
    per_thread = 40
    paths = ["/"] * (per_thread - 8) + ["/status/404"] * 5 + ["/status/503"] * 3
    threads = [threading.Thread(target=send_requests, args=(port, paths)) for _ in range(4)]
    for t in threads:
        t.start()
    scrapes = 0
    while any(t.is_alive() for t in threads):
        _metrics(stats_port)
        scrapes += 1
    for t in threads:
        t.join()
    sent = 4 * per_thread
    headers, text = _metrics(stats_port)
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(text)
    assert sum(v for k, v in samples.items() if k.startswith("satrap_requests_total{")) == sent
    assert sum(v for k, v in samples.items() if k.startswith("satrap_responses_total{") and 'code="2xx"' in k) == 4 * (per_thread - 8)
    assert sum(v for k, v in samples.items() if 'code="4xx"' in k) == 20
    assert sum(v for k, v in samples.items() if 'code="5xx"' in k) == 12
    assert samples['satrap_request_duration_seconds_bucket{le="+Inf"}'] == sent
    assert samples["satrap_request_duration_seconds_count"] == sent
    buckets = [v for k, v in samples.items() if k.startswith("satrap_request_duration_seconds_bucket")]
    assert buckets == sorted(buckets), "histogram buckets are cumulative"
    assert samples["satrap_workers"] == 3 and samples["satrap_workers_busy"] == 0
    assert all(samples[f'satrap_worker_rss_bytes{{worker="{i}"}}'] > 0 for i in (1, 2, 3))
    assert samples[f'satrap_listen_queue{{socket="127.0.0.1:{port}",proto="http"}}'] == 0
    for family in ("satrap_respawns_total", "satrap_harakiri_total"):
        assert f"# TYPE {family} counter" in text
    # every family's samples are contiguous and every line is well-formed
    seen: list[str] = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in seen
            seen.append(name)
        elif not line.startswith("#"):
            assert re.fullmatch(r'[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+', line), line
    assert scrapes >= 1


def test_metrics_parse_with_prometheus_client(instance):
    parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client not installed")
    _proc, port, stats = instance("--stats-http", processes=2)
    send_requests(port, ["/"] * 9)
    _, text = _metrics(int(stats.rsplit(":", 1)[1]))
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    total = sum(s.value for s in families["satrap_requests"].samples if s.name == "satrap_requests_total")
    assert total == 9
    assert families["satrap_request_duration_seconds"].type == "histogram"


def test_plain_stats_socket_also_speaks_http_and_history(instance):
    """Without --stats-http the socket still answers a browser or a scraper (first bytes are an
    HTTP request line), while a silent client still gets the raw JSON."""
    _proc, port, stats = instance(processes=1)
    stats_port = int(stats.rsplit(":", 1)[1])
    send_requests(port, ["/"] * 3)
    status, headers, body = http_request(stats_port, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'<tr class="worker' in body and b"http://" not in body and b"https://" not in body
    status, _, body = http_request(stats_port, "GET", "/history")
    hist = json.loads(body)
    assert hist["interval"] == 1.0 and isinstance(hist["samples"], list)
    status, _, _ = http_request(stats_port, "HEAD", "/json")
    assert status == 200
