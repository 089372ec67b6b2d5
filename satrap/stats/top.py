"""``satrap top ADDR...``: watch one or many instances (or every vassal of an Emperor) at once.

Why not just uwsgitop: it watches one address, and for an Emperor shows only vassal names and
pids. Here every address given becomes one block; an Emperor's block lists each vassal and,
when the vassal entry carries its own ``stats`` address, that vassal's workers too.

Live mode redraws with plain ANSI escapes (no curses: works in any terminal and in pipes-free
tmux panes alike); requests/s is the difference between two reads. ``--once`` prints one sample
as plain text for scripts; its requests/s is the worker's lifetime average (requests divided by
the time since the worker was spawned), since one read has no previous value to differ from.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from satrap.stats.client import fetch

_HEADER = f"{'WID':>4} {'PID':>8} {'STATUS':<8} {'REQS':>9} {'RPS':>8} {'AVG(ms)':>8} {'RSS':>8} {'EXC':>5} {'RESP':>5} {'HARA':>5} {'OFFL':>5}"


def _size(n: int) -> str:
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)


def _offloaded(w: dict[str, Any]) -> int:
    """Responses handed to offload threads: satrap's per-worker total, else (uWSGI) the cores' sum."""
    if "offloaded_requests" in w:
        return int(w.get("offloaded_requests") or 0)
    return sum(int(c.get("offloaded_requests", 0) or 0) for c in w.get("cores", ()) or ())


class Rates:
    """Requests/s per (address, worker id, pid) from successive reads."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, int, int], tuple[float, int]] = {}

    def rate(self, key: tuple[str, int, int], now: float, requests: int, last_spawn: int,
             once: bool) -> float:
        if once:
            age = now - last_spawn if last_spawn else 0
            return requests / age if age > 0 else 0.0
        prev = self._last.get(key)
        self._last[key] = (now, requests)
        if prev is None or now <= prev[0] or requests < prev[1]:
            return 0.0
        return (requests - prev[1]) / (now - prev[0])


def _workers_block(addr: str, doc: dict[str, Any], rates: Rates, now: float, once: bool,
                   indent: str = "") -> list[str]:
    workers = list(doc.get("workers", ()))
    total = sum(int(w.get("requests", 0)) for w in workers)
    busy = sum(1 for w in workers if w.get("status") == "busy")
    rows = []
    total_rps = 0.0
    for w in workers:
        wid, pid = int(w.get("id", 0)), int(w.get("pid", 0))
        rps = rates.rate((addr, wid, pid), now, int(w.get("requests", 0)), int(w.get("last_spawn", 0)), once)
        total_rps += rps
        rows.append(f"{indent}{wid:>4} {pid:>8} {w.get('status', '')!s:<8} {int(w.get('requests', 0)):>9} "
                    f"{rps:>8.1f} {int(w.get('avg_rt', 0)) / 1000:>8.1f} {_size(int(w.get('rss', 0))):>8} "
                    f"{int(w.get('exceptions', 0)):>5} {int(w.get('respawn_count', 0)):>5} "
                    f"{int(w.get('harakiri_count', 0)):>5} {_offloaded(w):>5}")
    head = (f"{indent}== {addr} == {doc.get('server', 'uwsgi')} {doc.get('version', '?')} "
            f"pid {doc.get('pid', 0)} workers {len(workers)} busy {busy} req {total} "
            f"rps {total_rps:.1f} lq {doc.get('listen_queue', 0)}"
            + (f" lq-full {doc['listen_queue_errors']}" if doc.get("listen_queue_errors") else ""))
    return [head, indent + _HEADER] + rows


def _emperor_block(addr: str, doc: dict[str, Any], rates: Rates, now: float, once: bool) -> list[str]:
    vassals = list(doc.get("vassals", ()))
    lines = [f"== {addr} == emperor pid {doc.get('pid', 0)} vassals {len(vassals)}"]
    for v in vassals:
        state = v.get("state") or ("ready" if v.get("ready") else "-")
        lines.append(f"  vassal {v.get('id', '?')} pid {v.get('pid', 0)} state {state} "
                     f"accepting {int(bool(v.get('accepting')))} respawns {v.get('respawns', 0)}")
        stats = v.get("stats")
        if stats:
            try:
                sub = fetch(str(stats), timeout=2.0)
            except (OSError, ValueError) as err:
                lines.append(f"    (stats {stats}: {err})")
                continue
            lines.extend(_workers_block(f"{v.get('id', '?')} {stats}", sub, rates, now, once, "    "))
    return lines


def render(addresses: list[str], rates: Rates, once: bool) -> list[str]:
    """Every address's block; an unreachable address is a line, not a crash."""
    lines: list[str] = []
    for addr in addresses:
        now = time.time()
        try:
            doc = fetch(addr)
        except (OSError, ValueError) as err:
            lines.append(f"== {addr} == unreachable: {err}")
            continue
        if "vassals" in doc:
            lines.extend(_emperor_block(addr, doc, rates, now, once))
        else:
            lines.extend(_workers_block(addr, doc, rates, now, once))
        lines.append("")
    return lines


def main(args: list[str], out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="satrap top",
                                     description="live view of satrap/uWSGI stats servers (--stats addresses)")
    parser.add_argument("addresses", nargs="+", metavar="ADDR",
                        help="host:port, :port, /unix/path, @abstract or http://host:port")
    parser.add_argument("--once", action="store_true", help="print one sample as plain text and exit")
    parser.add_argument("-d", "--delay", "--frequency", type=float, default=1.0,
                        help="seconds between refreshes (live mode)")
    opts = parser.parse_args(args)
    stream = out or sys.stdout
    rates = Rates()
    if opts.once:
        lines = render(opts.addresses, rates, once=True)
        stream.write("\n".join(lines).rstrip("\n") + "\n")
        return 0 if not any("unreachable" in line for line in lines if line.startswith("==")) else 1
    try:
        while True:
            lines = render(opts.addresses, rates, once=False)
            stamp = time.strftime("%H:%M:%S")
            stream.write("\x1b[H\x1b[2J" + f"satrap top - {stamp} - every {opts.delay:g}s - Ctrl-C quits\n\n"
                         + "\n".join(lines) + "\n")
            stream.flush()
            time.sleep(opts.delay)
    except KeyboardInterrupt:
        return 0
