"""Prometheus text exposition (format 0.0.4) rendered from uWSGI-shaped stats documents.

Why not ``prometheus_client``: its model is a process-global registry of live metric objects
updated in place, while satrap's numbers already live in the scoreboard and arrive as one
snapshot per scrape; using it would mean a custom collector re-wrapping every value, for a text
format that is a few lines of string building. Measured here (CPython 3.11): importing it costs
~40-50 ms and ~10 MB RSS in the master, which every vassal of an Emperor would pay. The output
is checked against ``prometheus_client``'s own parser in the tests when it is installed.

Input: a list of ``(labels, document)`` pairs, so one scrape can carry one set of series per
vassal (label ``vassal="name"``) when an Emperor serves it, or one unlabelled set for an instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(base: dict[str, str], **extra: Any) -> str:
    items = list(base.items()) + [(k, str(v)) for k, v in extra.items()]
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in items) + "}"


def _num(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class _Family:
    """One metric family: a HELP/TYPE header and its samples, emitted together as the format
    requires (all samples of a family must be contiguous)."""

    def __init__(self, name: str, kind: str, help: str) -> None:
        self.name = name
        self.kind = kind
        self.help = help
        self.samples: list[str] = []

    def add(self, labels: str, value: float, suffix: str = "") -> None:
        self.samples.append(f"{self.name}{suffix}{labels} {_num(value)}")

    def render(self) -> str:
        head = f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.kind}\n"
        return head + "".join(s + "\n" for s in self.samples)


def render(instances: Iterable[tuple[dict[str, str], dict[str, Any]]]) -> str:
    """Every instance's series, grouped by family."""
    fams: dict[str, _Family] = {}

    def fam(name: str, kind: str, help: str) -> _Family:
        if name not in fams:
            fams[name] = _Family(name, kind, help)
        return fams[name]

    for base, doc in instances:
        if "vassals" in doc:
            _emperor(fam, base, doc)
        else:
            _instance(fam, base, doc)
    return "".join(f.render() for f in fams.values())


def _instance(fam: Any, base: dict[str, str], doc: dict[str, Any]) -> None:
    fam("satrap_info", "gauge", "satrap instance (value 1); labels carry the uWSGI-compatible version").add(
        _labels(base, version=doc.get("version", ""), pid=doc.get("pid", 0)), 1)
    for sock in doc.get("sockets", ()):
        lab = _labels(base, socket=sock.get("name", ""), proto=sock.get("proto", ""))
        fam("satrap_listen_queue", "gauge", "connections waiting in the accept backlog").add(lab, sock.get("queue", 0))
        fam("satrap_listen_queue_max", "gauge", "accept backlog limit").add(lab, sock.get("max_queue", 0))
    fam("satrap_listen_queue_errors_total", "counter", "master checks (one a second) that found an accept "
        "backlog full").add(_labels(base), doc.get("listen_queue_errors", 0))
    workers = list(doc.get("workers", ()))
    fam("satrap_workers", "gauge", "worker slots").add(_labels(base), len(workers))
    fam("satrap_workers_busy", "gauge", "workers serving a request right now").add(
        _labels(base), sum(1 for w in workers if w.get("status") == "busy"))
    bounds = [int(b) for b in doc.get("latency_buckets_us", ())]
    hist = [0] * (len(bounds) + 1)
    hist_sum_us = 0
    have_hist = False
    for w in workers:
        lab = _labels(base, worker=w.get("id", 0))
        fam("satrap_requests_total", "counter", "requests served by the worker since it was spawned").add(
            lab, w.get("requests", 0))
        fam("satrap_exceptions_total", "counter", "requests whose app raised").add(lab, w.get("exceptions", 0))
        fam("satrap_sent_bytes_total", "counter", "response bytes sent").add(lab, w.get("tx", 0))
        fam("satrap_offloaded_requests_total", "counter", "responses handed to the worker's offload "
            "threads (sse/sseraw streams)").add(lab, w.get("offloaded_requests", 0))
        fam("satrap_respawns_total", "counter", "times this worker slot was respawned").add(
            lab, w.get("respawn_count", 0))
        fam("satrap_harakiri_total", "counter", "requests killed by harakiri in this slot").add(
            lab, w.get("harakiri_count", 0))
        fam("satrap_worker_rss_bytes", "gauge", "resident memory of the worker").add(lab, w.get("rss", 0))
        fam("satrap_worker_vsz_bytes", "gauge", "address space of the worker").add(lab, w.get("vsz", 0))
        fam("satrap_worker_avg_response_seconds", "gauge", "uWSGI's running average response time").add(
            lab, w.get("avg_rt", 0) / 1e6)
        fam("satrap_worker_busy", "gauge", "1 while the worker serves a request").add(
            lab, int(w.get("status") == "busy"))
        classes = w.get("status_classes") or ()
        for name, count in zip(_CLASSES, classes):
            fam("satrap_responses_total", "counter", "responses by status class").add(
                _labels(base, worker=w.get("id", 0), code=name), count)
        buckets = w.get("latency_buckets") or ()
        if bounds and len(buckets) == len(hist):
            have_hist = True
            for i, count in enumerate(buckets):
                hist[i] += int(count)
            hist_sum_us += int(w.get("running_time", 0))
    if have_hist:
        h = fam("satrap_request_duration_seconds", "histogram", "request duration, all workers")
        cumulative = 0
        for bound, count in zip(bounds + [None], hist):
            cumulative += count
            le = "+Inf" if bound is None else _num(bound / 1e6)
            h.add(_labels(base, le=le), cumulative, "_bucket")
        h.add(_labels(base), hist_sum_us / 1e6, "_sum")
        h.add(_labels(base), cumulative, "_count")


def _emperor(fam: Any, base: dict[str, str], doc: dict[str, Any]) -> None:
    vassals = list(doc.get("vassals", ()))
    fam("satrap_emperor_vassals", "gauge", "vassals governed by the Emperor").add(_labels(base), len(vassals))
    for v in vassals:
        lab = _labels(base, vassal=v.get("id", ""))
        fam("satrap_vassal_up", "gauge", "1 while the vassal process exists").add(lab, int(bool(v.get("pid"))))
        fam("satrap_vassal_ready", "gauge", "1 once the vassal accepts requests").add(
            lab, int(bool(v.get("accepting") or v.get("ready"))))
        fam("satrap_vassal_respawns_total", "counter", "times the Emperor respawned the vassal").add(
            lab, v.get("respawns", 0))
