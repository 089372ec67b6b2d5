"""Fixed-offered-load latency: build and run ``loadgen.c`` (an open-loop generator, see there).

Why not wrk: wrk is closed-loop. Each of its 32 connections sends its next request only after the
previous answer, so a server that stalls also stops the clock for the requests that would have
measured the stall (coordinated omission), and at saturation every server runs at its own
throughput, so p99 of a 54k req/s server and of a 19k req/s one are not like for like. wrk's Lua
``delay()`` only adds per-connection think time (whole milliseconds, after each response): the
offered rate still falls when latency rises. wrk2 (``-R``) does this properly but is not packaged
by Debian. ``loadgen.c`` sends request *i* at t0 + i/rate whatever happened before and measures
each latency from that intended time; it is ~250 lines of C with libc only, built here with
``cc -O2`` (the same compiler uWSGI's pip build already needs).

Limits, stated in docs/benchmarks.md as well:
- the generator shares the 2 cores with the servers: when it is descheduled, requests leave late,
  and that lateness is in the latency (as it would be for a real client on a busy box);
  ``send_lag_p99_ms`` reports how late requests left, so a reader can see the generator's share;
- constant spacing (not Poisson): bursts come only from the servers and the scheduler;
- at most ``connections`` requests in flight (32, like wrk -c32); beyond that requests queue in
  the generator and the queueing counts in their latency.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SOURCE = BENCH / "loadgen.c"
BINARY = BENCH / ".results" / "bin" / "loadgen"


def build() -> Path | None:
    """Compile loadgen.c when the binary is missing or older than the source; None if no cc."""
    if BINARY.exists() and BINARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return BINARY
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([cc, "-O2", "-o", str(BINARY), str(SOURCE)], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        print(f"  !! could not build loadgen: {out.stderr.strip()}", flush=True)
        return None
    return BINARY


def run(port: int, rate: float, seconds: float, close: bool, connections: int = 32,
        path: str = "/") -> dict:
    """One fixed-rate run against 127.0.0.1:port; the generator's JSON as a dict."""
    argv = [str(BINARY), "127.0.0.1", str(port), f"{rate:g}", f"{seconds:g}", str(connections),
            "1" if close else "0", path]
    out = subprocess.run(argv, capture_output=True, text=True, check=False,
                         timeout=seconds + 30)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


def sustained(r: dict) -> bool:
    """The server kept up: every scheduled request answered, achieved rate within 3 %."""
    return (r["unfinished"] == 0 and r["errors"] == 0
            and r["achieved_rps"] >= 0.97 * r["target_rps"])
