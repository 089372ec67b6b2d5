"""Run wrk once and turn its text report into numbers.

wrk is used with one thread and 32 connections (``-t1 -c32``): one load-generator thread
leaves the second core to the servers, the same shape the issue's reference figures used.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass
class WrkResult:
    """What one wrk run measured; latencies in milliseconds."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int        # connect + write + timeout: real failures
    read_eof: int      # wrk's "read" errors: the server closed the connection (uWSGI, gunicorn
                       # close after every response; expected, not a failure)
    non2xx: int

    def as_dict(self) -> dict:
        return asdict(self)


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def parse(out: str) -> WrkResult:
    """Parse wrk's --latency output (see wrk's README for the layout)."""
    req = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not (req and rps):
        raise RuntimeError("unparseable wrk output:\n" + out)
    return WrkResult(
        requests=int(req.group(1)),
        seconds=_ms(req.group(2) + req.group(3)) / 1000.0,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        errors=int(err.group(1)) + int(err.group(3)) + int(err.group(4)) if err else 0,
        read_eof=int(err.group(2)) if err else 0,
        non2xx=int(non.group(1)) if non else 0,
    )


def wrk_argv(url: str, duration: float, close: bool, script: str | None,
             connections: int = 32) -> list[str]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
            "--timeout", "5s"]
    if close:
        argv += ["-H", "Connection: close"]
    if script:
        argv += ["-s", script]
    return argv + [url]


def run(url: str, duration: float, close: bool, script: str | None = None) -> WrkResult:
    """One bounded wrk run (wrk stops itself after ``duration``; we kill it if it does not)."""
    argv = wrk_argv(url, duration, close, script)
    out = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=duration + 30)
    return parse(out.stdout)
