"""``Master.stats_view()`` plain data → the JSON document uWSGI's stats server sends.

Why a separate builder: the master's view is cheap to take (it copies scoreboard slots and
knows nothing about uWSGI's spelling); the compatibility details (key order, which keys exist,
the ``cores``/``apps`` sub-objects tools like uwsgitop read) live here, in one place, and the
Prometheus text and the status page are rendered from the document this returns.

Values are true, not decorative: ``requests``/``tx``/``avg_rt``/``running_time`` come from the
workers' shared-memory slots, ``rss``/``vsz`` from ``/proc/PID/statm``, ``listen_queue`` from
``TCP_INFO`` on TCP listeners and netlink ``sock_diag`` on unix ones (``satrap.net.listenq``),
``listen_queue_errors`` counts the master's once-a-second looks that found a queue full. Where satrap has nothing to report (signals, the per-core
split of a threaded worker's requests) the value is 0, never invented.

``offloaded_requests`` is uWSGI's per-core counter of responses handed to the offload threads
(the ``sse``/``sseraw`` engine, ``satrap.worker.offload``); the scoreboard counts per worker, so
it is reported on core 0, like ``requests``.

satrap adds, per worker, ``status_classes`` (responses by class 1xx..5xx),
``latency_buckets`` (counts per ``latency_buckets_us`` bound, +Inf last) and
``offloaded_requests`` (the worker's total, so a reader need not add up cores) and, at the top level,
``latency_buckets_us`` and ``server`` = "satrap": uWSGI readers ignore unknown keys, and these
let a remote reader (``satrap top``, an Emperor) compute the same metrics from the JSON alone.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from satrap.scoreboard import LATENCY_BUCKETS_US
from satrap.stats import procinfo

try:
    from satrap import UWSGI_COMPAT_VERSION as _VERSION
except ImportError:  # pragma: no cover - older tree
    _VERSION = "2.0.30"

_LOCKS = ("user 0", "signal", "filemon", "timer", "rbtimer", "cron", "rpc", "snmp")


class SnapshotBuilder:
    """Turns views into documents; remembers the previous read for ``delta_requests``.

    uWSGI's ``delta_requests`` is "requests since the master last looked"; here it is the
    requests each worker served since the previous stats document was built (per worker pid, so
    a respawned worker starts again from its own zero).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[int, tuple[int, int]] = {}  # wid -> (pid, requests)

    def build(self, view: dict[str, Any], cores: bool = True) -> dict[str, Any]:
        """The uWSGI stats document for ``view`` (an Emperor document passes through)."""
        if "vassals" in view:
            return view
        with self._lock:
            return self._build(view, cores)

    def _build(self, view: dict[str, Any], with_cores: bool) -> dict[str, Any]:
        sockets = []
        total_queue = 0  # uWSGI's listen_queue (and load) is the longest queue, not the sum
        for sock in view.get("sockets", ()):
            if "queue" in sock:  # the master read it (netlink for unix sockets, TCP_INFO for TCP)
                queue, max_queue = int(sock["queue"]), int(sock.get("max_queue", 0))
            else:
                queue, max_queue = procinfo.listen_queue(int(sock.get("fd", -1)))
            total_queue = max(total_queue, queue)
            sockets.append({"name": str(sock.get("name", "")), "proto": str(sock.get("proto", "")),
                            "queue": queue, "max_queue": max_queue, "shared": 0, "can_offload": 0})
        threads = max(1, int(view.get("threads", 1) or 1))
        workers = [self._worker(w, threads, with_cores) for w in view.get("workers", ())]
        return {
            "version": _VERSION,
            "listen_queue": total_queue,
            "listen_queue_errors": int(view.get("listen_queue_errors", 0) or 0),
            "signal_queue": 0,
            "load": total_queue,
            "pid": int(view.get("pid", os.getpid())),
            "uid": os.getuid(),
            "gid": os.getgid(),
            "cwd": _cwd(),
            "locks": [{name: 0} for name in _LOCKS],
            "sockets": sockets,
            "workers": workers,
            # satrap additions (ignored by uWSGI readers)
            "server": "satrap",
            "mode": str(view.get("mode", "running")),
            "started": int(view.get("started", 0) or 0),
            "latency_buckets_us": list(LATENCY_BUCKETS_US),
        }

    def _worker(self, w: dict[str, Any], threads: int, with_cores: bool) -> dict[str, Any]:
        wid = int(w["id"])
        pid = int(w.get("pid", 0) or 0)
        requests = int(w.get("requests", 0))
        last_pid, last_requests = self._last.get(wid, (pid, 0))
        delta = requests - last_requests if last_pid == pid and requests >= last_requests else requests
        self._last[wid] = (pid, requests)
        rss, vsz = procinfo.memory(pid)
        request_start = float(w.get("request_start", 0.0) or 0.0)
        status = _status(w, request_start)
        exceptions = int(w.get("exceptions", 0))
        offloaded = int(w.get("offloaded_requests", 0) or 0)
        doc: dict[str, Any] = {
            "id": wid,
            "pid": pid,
            "accepting": int(bool(pid) and w.get("state") == "running" and status != "cheap"),
            "requests": requests,
            "delta_requests": delta,
            "exceptions": exceptions,
            "harakiri_count": int(w.get("harakiri_count", 0)),
            "signals": 0,
            "signal_queue": 0,
            "status": status,
            "rss": rss,
            "vsz": vsz,
            "running_time": int(w.get("running_time", 0)),
            "last_spawn": int(w.get("last_spawn", 0)),
            "respawn_count": int(w.get("respawn_count", 0)),
            "tx": int(w.get("tx", 0)),
            "avg_rt": int(w.get("avg_rt", 0)),
            "apps": [{"id": 0, "modifier1": 0, "mountpoint": "", "startup_time": 0,
                      "requests": requests, "exceptions": exceptions, "chdir": ""}],
            # satrap additions
            "status_classes": [int(x) for x in w.get("status_classes", ())],
            "latency_buckets": [int(x) for x in w.get("latency_buckets", ())],
            "offloaded_requests": offloaded,
        }
        if with_cores:
            doc["cores"] = _cores(w, threads, requests, request_start, offloaded)
        return doc


def _status(w: dict[str, Any], request_start: float) -> str:
    """uWSGI's worker status words; satrap's "stopping" is shown as what the worker is doing."""
    status = str(w.get("status", "idle"))
    if status in ("idle", "busy", "cheap", "pause") or status.startswith("sig"):
        return status
    return "busy" if request_start else "idle"


def _cores(w: dict[str, Any], threads: int, requests: int, request_start: float,
           offloaded: int = 0) -> list[dict[str, Any]]:
    """One core per thread. The scoreboard counts per worker, not per thread, so a threaded
    worker's requests (and offloaded responses) are all reported on core 0 (the worker totals
    stay exact)."""
    busy = request_start > 0
    # the scoreboard keeps "METHOD URI" of the request in flight (what harakiri logs)
    text = str(w.get("uri", ""))
    method, _, uri = text.partition(" ") if " " in text else ("", "", text)
    in_vars = ([f"REQUEST_METHOD={method}"] if method else []) + ([f"REQUEST_URI={uri}"] if uri else [])
    cores = []
    for cid in range(threads):
        in_request = int(busy and cid == 0)
        cores.append({
            "id": cid,
            "requests": requests if cid == 0 else 0,
            "static_requests": 0,
            "routed_requests": 0,
            "offloaded_requests": offloaded if cid == 0 else 0,
            "write_errors": 0,
            "read_errors": 0,
            "in_request": in_request,
            "vars": in_vars if in_request else [],
            "req_info": {"request_start": int(request_start)} if in_request else {},
        })
    return cores


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return ""


def dumps(doc: dict[str, Any], minified: bool = False) -> bytes:
    """uWSGI indents its document with tabs (``stats-minified`` drops the whitespace)."""
    if minified:
        return json.dumps(doc, separators=(",", ":")).encode()
    return json.dumps(doc, indent="\t").encode()


def total_requests(doc: dict[str, Any]) -> int:
    return sum(int(w.get("requests", 0)) for w in doc.get("workers", ()))
