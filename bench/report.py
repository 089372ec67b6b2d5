"""Turn raw runs into medians, paired ratios, a text table, docs/benchmarks.md and an SVG chart.

Ratios are medians of per-round ratios (satrap and its peer measured in the same round, seconds
apart), not ratios of medians: pairing cancels most of the drift of a shared machine.
The chart is written by hand as SVG so the bench needs nothing beyond the stdlib.
"""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

from servers import APPS, SERVER_LABELS

SERVER_ORDER = ("satrap", "satrap+log", "uwsgi", "gunicorn", "granian")
MODE_LABEL = {"http-socket": "--http-socket", "http": "--http", "socket": "nginx uwsgi_pass → --socket"}
COLORS = {"satrap": "#2b6cb0", "satrap+log": "#63b3ed", "uwsgi": "#c05621",
          "gunicorn": "#2f855a", "granian": "#805ad5"}


def machine() -> dict[str, str]:
    """CPU model, core count, kernel and memory: enough to judge whether numbers compare."""
    model, mhz = "?", "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("cpu MHz") and mhz == "?":
                mhz = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1048576:.1f} GiB"
    except OSError:
        pass
    return {"cpu": model, "mhz": mhz, "nproc": str(os.cpu_count()), "kernel": platform.release(),
            "memory": mem, "os": platform.platform()}


def _med(vals: list[float]) -> float | None:
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def summarise(results: dict) -> list[dict]:
    """One row per (group, connection mode, server) with medians and paired ratios."""
    runs = results["runs"]
    keys: list[tuple[str, str]] = []
    for r in runs:
        if (r["group"], r["conn"]) not in keys:
            keys.append((r["group"], r["conn"]))
    rows = []
    for gid, conn in keys:
        sel = [r for r in runs if r["group"] == gid and r["conn"] == conn]
        by_server: dict[str, list[dict]] = {}
        for r in sel:
            by_server.setdefault(r["server"], []).append(r)
        for s in SERVER_ORDER:
            if s not in by_server:
                continue
            rs = by_server[s]
            row = {"group": gid, "app": rs[0]["app"], "mode": rs[0]["mode"],
                   "procs": rs[0]["procs"], "conn": conn, "server": s, "n": len(rs),
                   "rps": _med([r["rps"] for r in rs]), "cpu_us": _med([r["cpu_us"] for r in rs]),
                   "p99_ms": _med([r["p99_ms"] for r in rs]),
                   "p50_ms": _med([r["p50_ms"] for r in rs]),
                   "nginx_cpu_us": _med([r["nginx_cpu_us"] for r in rs]),
                   "errors": sum(r["errors"] for r in rs), "non2xx": sum(r["non2xx"] for r in rs)}
            for peer in ("uwsgi", "gunicorn", "satrap"):
                if peer == s or peer not in by_server or not s.startswith("satrap"):
                    continue
                pr = {r["round"]: r for r in by_server[peer]}
                ratios = [r["rps"] / pr[r["round"]]["rps"] for r in rs
                          if r["round"] in pr and pr[r["round"]]["rps"]]
                cpu = [r["cpu_us"] / pr[r["round"]]["cpu_us"] for r in rs
                       if r["round"] in pr and r["cpu_us"] and pr[r["round"]]["cpu_us"]]
                row[f"x_{peer}"] = _med(ratios)
                # the spread over rounds: on a shared 2-core box a ratio moves by 10-25% between
                # runs, so a target met or missed by less than that is within the noise
                row[f"x_{peer}_range"] = (min(ratios), max(ratios)) if ratios else None
                row[f"cpu_x_{peer}"] = _med(cpu)
            rows.append(row)
    return rows


def summarise_fixed(results: dict) -> list[dict]:
    """One row per (group, rate, connection mode, server) of the fixed-offered-load runs.

    Percentiles and achieved rate are medians over rounds; ``max_ms`` is the worst of all rounds;
    ``p99_x_uwsgi`` is the median of per-round satrap/uWSGI p99 ratios; ``short`` counts rounds
    that did not sustain the rate, and the row counts as sustained when fewer than half did."""
    runs = results.get("fixed_runs", [])
    keys: list[tuple[str, float, str]] = []
    for r in runs:
        if (r["group"], r["rate"], r["conn"]) not in keys:
            keys.append((r["group"], r["rate"], r["conn"]))
    rows = []
    for gid, rate, conn in keys:
        by_server: dict[str, list[dict]] = {}
        for r in runs:
            if r["group"] == gid and r["rate"] == rate and r["conn"] == conn:
                by_server.setdefault(r["server"], []).append(r)
        for s in SERVER_ORDER:
            rs = by_server.get(s)
            if not rs:
                continue
            row = {"group": gid, "app": rs[0]["app"], "mode": rs[0]["mode"],
                   "procs": rs[0]["procs"], "conn": conn, "rate": rate, "server": s,
                   "n": len(rs), "achieved_rps": _med([r["achieved_rps"] for r in rs]),
                   "max_ms": max(r["max_ms"] for r in rs),
                   "short": sum(not r["sustained"] for r in rs),
                   "sustained": 2 * sum(not r["sustained"] for r in rs) < len(rs),
                   "errors": sum(r["errors"] for r in rs) + sum(r["non2xx"] for r in rs),
                   "cpu_us": _med([r.get("cpu_us") for r in rs])}
            for k in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "service_p99_ms",
                      "send_lag_p99_ms", "gen_lag_p99_ms"):
                row[k] = _med([r.get(k) for r in rs])
            if s.startswith("satrap") and "uwsgi" in by_server:
                pr = {r["round"]: r for r in by_server["uwsgi"]}
                row["p99_x_uwsgi"] = _med([r["p99_ms"] / pr[r["round"]]["p99_ms"] for r in rs
                                           if r["round"] in pr and pr[r["round"]]["p99_ms"] > 0])
            rows.append(row)
    return rows


FIXED_HEAD = ["config (app · listener · procs · client)", "offered req/s", "server", "achieved",
              "p50 ms", "p90 ms", "p99 ms", "max ms", "p99 ÷ uWSGI", "gen. lag p99 ms",
              "CPU µs/req", "errors"]


def fixed_table_rows(fixed: list[dict]) -> list[list[str]]:
    out = []
    for r in fixed:
        out.append([
            _config(r), f"{r['rate']:,.0f}", SERVER_LABELS[r["server"]],
            _fmt(r["achieved_rps"], ",.0f") + (f" ({r['short']}/{r['n']} short)" if r["short"]
                                               else ""),
            _fmt(r["p50_ms"], ".2f"), _fmt(r["p90_ms"], ".2f"), _fmt(r["p99_ms"], ".2f"),
            _fmt(r["max_ms"], ".2f"),
            _fmt(r.get("p99_x_uwsgi"), ".2f") if r.get("p99_x_uwsgi") else "",
            _fmt(r["gen_lag_p99_ms"], ".2f"), _fmt(r["cpu_us"], ".1f"),
            str(r["errors"]) if r["errors"] else "",
        ])
    return out


def _text(head: list[str], rows: list[list[str]], left: int, group_col: int = 0) -> list[str]:
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) if i < left else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths)))]
    last = None
    for r in rows:
        key = (r[0], r[1]) if group_col else r[0]
        if last is not None and key != last:
            lines.append("")
        last = key
        lines.append("  ".join(c.ljust(w) if i < left else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    return lines


def _fmt(v: float | None, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def _config(row: dict) -> str:
    return f"{row['app']} · {row['mode']} · {row['procs']}p · {row['conn']}"


def table_rows(summary: list[dict]) -> list[list[str]]:
    out = []
    for row in summary:
        out.append([
            _config(row), SERVER_LABELS[row["server"]], _fmt(row["rps"], ",.0f"),
            _fmt(row["cpu_us"], ".1f"), _fmt(row["p99_ms"], ".2f"),
            str(row["errors"] + row["non2xx"]) if row["errors"] + row["non2xx"] else "",
            _fmt(row.get("x_uwsgi"), ".2f") if row.get("x_uwsgi") else "",
            _fmt(row.get("x_gunicorn"), ".2f") if row.get("x_gunicorn") else "",
        ])
    return out


HEAD = ["config (app · listener · procs · client)", "server", "req/s", "CPU µs/req", "p99 ms",
        "errors", "÷ uWSGI", "÷ gunicorn"]


def text_table(summary: list[dict], results: dict) -> str:
    lines: list[str] = []
    if summary:
        lines += _text(HEAD, table_rows(summary), 2)
        lines += ["", "÷ columns: median of per-round req/s ratios (satrap rows only).", ""]
    fixed = summarise_fixed(results)
    if fixed:
        lines += [("fixed offered load (open loop, bench/loadgen.c, 32 connections; latency "
                   "from the intended send time):")]
        lines += _text(FIXED_HEAD, fixed_table_rows(fixed), 3, group_col=1)
        lines += ["", ("p99 ÷ uWSGI: median of per-round p99 ratios (< 1: satrap's tail is "
                       "shorter); gen. lag: how late the generator itself sent (its share of the "
                       "latency)."), ""]
    lines += extras_text(results)
    lines += [""] + [f"target: {t}" for t in targets(summary, results)]
    if results.get("failures"):
        lines += ["", "failures:"] + [f"  {f}" for f in results["failures"]]
    return "\n".join(lines)


def extras_text(results: dict) -> list[str]:
    lines = ["start-up (s to first 200) and memory after warm-up (KiB, median per child process):"]
    for gid, mem in results["memory"].items():
        for s, m in mem.items():
            st = results["startup"].get(gid, {}).get(s)
            lines.append(f"  {gid:<22} {s:<11} start {_fmt(st, '.2f')} s  child PSS "
                         f"{_fmt(m['child_pss_kib'], ',.0f')}  USS {_fmt(m['child_uss_kib'], ',.0f')}"
                         f"  tree PSS {m['tree_pss_kib']:,}  ({len(m['processes'])} procs)")
    lines.append("memory after all rounds of load (KiB, median per child process):")
    for gid, mem in results.get("memory_loaded", {}).items():
        for s, m in mem.items():
            lines.append(f"  {gid:<22} {s:<11} child PSS {_fmt(m['child_pss_kib'], ',.0f')}  USS "
                         f"{_fmt(m['child_uss_kib'], ',.0f')}  tree PSS {m['tree_pss_kib']:,}")
    lines.append("in-process call rate (ceiling):")
    for app, c in results.get("ceiling", {}).items():
        lines.append(f"  {app:<7} {c['calls_per_s']:>10,.0f} calls/s  {c['us_per_call']:8.1f} µs")
    return lines


def _find(summary: list[dict], gid: str, conn: str, server: str) -> dict | None:
    return next((r for r in summary if r["group"] == gid and r["conn"] == conn
                 and r["server"] == server), None)


def targets(summary: list[dict], results: dict) -> list[str]:
    """The issue's targets, each with the measured value and met / NOT met."""
    out: list[str] = []

    def check(label: str, value: float | None, ok: bool | None, spec: str = ".2f", note: str = "") -> None:
        state = "n/a" if value is None else ("met" if ok else "NOT met")
        out.append(f"{label}: {_fmt(value, spec)} ({state}){note}")

    def ratio(gid: str, conn: str, peer: str, goal: float, server: str = "satrap") -> None:
        row = _find(summary, gid, conn, server)
        v = row.get(f"x_{peer}") if row else None
        spread = row.get(f"x_{peer}_range") if row else None
        note = f" [rounds {spread[0]:.2f}-{spread[1]:.2f}]" if spread else ""
        check(f"{gid} {conn} {server}/{peer} >= {goal}", v, v is not None and v >= goal, note=note)

    ratio("plain/http-socket/2p", "keep-alive", "uwsgi", 2.0)
    ratio("plain/http-socket/2p", "keep-alive", "gunicorn", 6.0)
    row = _find(summary, "plain/http-socket/2p", "keep-alive", "satrap")
    v = row["cpu_us"] if row else None
    check("plain/http-socket/2p keep-alive satrap CPU µs/req <= 35", v, v is not None and v <= 35,
          ".1f")
    ratio("plain/http-socket/2p", "close", "uwsgi", 0.9)
    ratio("flask/http-socket/2p", "keep-alive", "uwsgi", 1.4)
    ratio("flask/http-socket/2p", "keep-alive", "gunicorn", 2.5)
    ratio("flask/http-socket/2p", "close", "uwsgi", 1.0)
    ratio("flask/socket/2p", "keep-alive", "uwsgi", 1.0)
    ratio("plain/http/2p", "keep-alive", "uwsgi", 1.5)
    a = _find(summary, "plain/http-socket/2p", "keep-alive", "satrap")
    b = _find(summary, "plain/http-socket/2p", "keep-alive", "satrap+log")
    v = b["cpu_us"] - a["cpu_us"] if a and b and a["cpu_us"] and b["cpu_us"] else None
    check("request log cost (satrap+log − satrap CPU µs/req, plain 2p keep-alive) <= 10", v,
          v is not None and v <= 10, ".1f")
    for key, when in (("memory", "after warm-up"), ("memory_loaded", "after load")):
        mem = results.get(key, {}).get("flask/http-socket/2p", {})
        s_pss = mem.get("satrap", {}).get("child_pss_kib")
        for peer in ("uwsgi", "gunicorn"):
            p_pss = mem.get(peer, {}).get("child_pss_kib")
            check(f"flask 2p per-worker PSS {when} satrap <= {peer} ({_fmt(p_pss, ',.0f')} KiB)", s_pss,
                  s_pss is not None and p_pss is not None and s_pss <= p_pss, ",.0f")
    for conn in ("keep-alive", "close"):
        a = _find(summary, "plain/http-socket/2p", conn, "satrap")
        b = _find(summary, "plain/http-socket/2p", conn, "uwsgi")
        v = a["p99_ms"] if a else None
        check(f"p99 AT SATURATION (wrk -c32 closed loop, each server at its own req/s: "
              f"satrap {_fmt(a and a['rps'], ',.0f')}, uWSGI {_fmt(b and b['rps'], ',.0f')}) "
              f"plain 2p {conn} satrap <= uWSGI ({_fmt(b and b['p99_ms'], '.2f')} ms)", v,
              v is not None and b is not None and v <= b["p99_ms"])
    fixed = summarise_fixed(results)
    for r in fixed:
        if r["server"] != "satrap" or r["app"] != "plain":
            continue
        b = next((x for x in fixed if x["group"] == r["group"] and x["rate"] == r["rate"]
                  and x["conn"] == r["conn"] and x["server"] == "uwsgi"), None)
        v = r.get("p99_x_uwsgi")
        check(f"p99 AT FIXED LOAD {r['rate']:,.0f} req/s (open loop, same rate for both) plain 2p "
              f"{r['conn']}: satrap {_fmt(r['p99_ms'], '.2f')} ms vs uWSGI "
              f"{_fmt(b and b['p99_ms'], '.2f')} ms (medians); paired satrap ÷ uWSGI p99 <= 1.0"
              f"{'' if not b or b['sustained'] else ' [uWSGI fell short]'}"
              f"{'' if r['sustained'] else ' [satrap fell short]'}", v,
              v is not None and r["sustained"] and v <= 1.0)
    return out


# ----------------------------------------------------------------------------- markdown + svg

def _md_table(head: list[str], rows: list[list[str]], right_from: int = 2) -> str:
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" if i < right_from else "--:" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_docs(summary: list[dict], results: dict, docs: Path) -> None:
    """docs/benchmarks.md and docs/bench-chart.svg from one run."""
    docs.mkdir(exist_ok=True)
    (docs / "bench-chart.svg").write_text(svg_chart(summary))
    m = results["machine"]
    v = results["versions"]
    mem_rows = []
    for gid, mem in results["memory"].items():
        for s, mm in mem.items():
            ml = results.get("memory_loaded", {}).get(gid, {}).get(s)
            mem_rows.append([gid, SERVER_LABELS[s],
                             _fmt(results["startup"].get(gid, {}).get(s), ".2f"),
                             _fmt(mm["child_pss_kib"], ",.0f"), _fmt(mm["child_uss_kib"], ",.0f"),
                             f"{mm['tree_pss_kib']:,}",
                             _fmt(ml and ml["child_pss_kib"], ",.0f"), _fmt(ml and ml["child_uss_kib"], ",.0f"),
                             _fmt(ml and ml["tree_pss_kib"], ",.0f"), str(len(mm["processes"]))])
    ceil_rows = [[app, APPS[app][0], f"{c['calls_per_s']:,.0f}", f"{c['us_per_call']:.1f}"]
                 for app, c in results.get("ceiling", {}).items()]
    cmd_lines = "\n".join(f"# {k}\n{c}" for k, c in sorted(results["commands"].items()))
    nginx_rows = [[_config(r), SERVER_LABELS[r["server"]], _fmt(r["nginx_cpu_us"], ".1f")]
                  for r in summary if r["mode"] == "socket"]
    text = f"""# Benchmarks

satrap against uWSGI, gunicorn (sync workers) and granian, same apps, same process counts, on
loopback. Generated by `python bench/run.py{' --quick' if results['quick'] else ''}` on
{results['started']} ({results['rounds']} interleaved round(s) × {results['duration']:g} s per
measurement, {results['elapsed_s'] / 60:.1f} min in all). Re-run it to replace this page.

![req/s per server and configuration](bench-chart.svg)

## Results

`wrk -t1 -c32 -d{results['duration']:g}s --latency` against each server; `close` adds
`-H 'Connection: close'`. Figures are medians over rounds. **CPU µs/req** is the user+system
CPU time of the server's whole process tree (master, workers, uWSGI's router) during the run,
from `/proc/<pid>/stat`, divided by the requests completed; it is the steadier figure on a
shared 2-core box, where wrk itself takes most of a core. **÷ uWSGI / ÷ gunicorn** are medians
of per-round paired req/s ratios (satrap rows only). `errors` counts wrk connect/write/timeout
errors plus non-2xx answers over all rounds (wrk's "read" errors are left out: they are the server
closing the connection after a response, which uWSGI `--http-socket` and gunicorn sync do every
time).

Notes on what each configuration means:
- uWSGI `--http-socket` and gunicorn sync close the connection after every response even when
  the client asks for keep-alive; satrap and granian keep it open.
- `--http`: measured shape of each server's process tree: {_http_shapes(results)}. uWSGI's
  router speaks uwsgi to its workers and closes the client connection after each response unless
  `--http-keepalive` is given (it is not).
- `nginx uwsgi_pass → --socket`: wrk talks keep-alive HTTP to one nginx worker, which opens an
  uwsgi-protocol connection per request to the server. CPU µs/req counts the server only; the
  nginx CPU per request is listed separately below.
- `satrap (logging on)` is satrap with its default request log (uWSGI format) written to a file;
  every other row runs with request logging off.

{_md_table(HEAD, table_rows(summary))}

{_fixed_md(results)}

### Targets from issue 10

{chr(10).join('- ' + t for t in targets(summary, results))}

### nginx CPU per request (socket configurations)

{_md_table(['config', 'upstream server', 'nginx CPU µs/req'], nginx_rows) if nginx_rows else '(not run)'}

### Start-up and memory

Start-up is the time from spawning the server to its first answered `GET /`. Memory is read from
`/proc/<pid>/smaps_rollup` twice: once every server of the group is up and has had a 1 s
warm-up, and again after all the rounds of load ("loaded": the steady state of a server that has
been serving for a while, once every worker has touched the app's objects and the garbage
collector has made full passes). Both times every server of the group is running: PSS splits each
shared file page (libpython, the stdlib's extension modules) between all the processes that map
it, so a server measured alone would be charged more of them than one measured beside its peers. PSS and USS (private
clean + dirty) are the median over the server's child processes (its workers; for uWSGI `--http`
also the router; granian's children are its workers), and the tree PSS sums every process
including the master. satrap calls `gc.freeze()` before forking, so a full collection in a worker
does not write to the preloaded app's pages; uWSGI and gunicorn do not, which is why their workers
grow under load (and why their warm-up figure jumps when a full collection happens to run during
the warm-up). satrap's master loads only the parts of satrap the config uses (docs/architecture.md,
"Memory"), so the heap its workers share is mostly the app's.

{_md_table(['group', 'server', 'start-up s', 'child PSS KiB', 'child USS KiB', 'tree PSS KiB', 'loaded child PSS', 'loaded child USS', 'loaded tree PSS', 'processes'], mem_rows)}

### In-process call rate (the ceiling)

`application(environ, start_response)` called in a loop in one process, body joined and
`close()` called, no server at all (`bench/ceiling.py`). No server can beat this per core.

{_md_table(['app', 'file', 'calls/s', 'µs/call'], ceil_rows)}

## Machine

- CPU: {m['cpu']} ({m['mhz']} MHz), `nproc` = {m['nproc']}
- Kernel: {m['kernel']} ({m['os']}); memory {m['memory']}
- {v.get('python')}; satrap {v.get('satrap')}, uWSGI {v.get('uwsgi')}, gunicorn {v.get('gunicorn')},
  granian {v.get('granian')}, Flask {v.get('flask')}; {v.get('wrk')}; {v.get('nginx')}

## Exact options each server ran with

Every server runs from `bench/apps/` (its working directory) on `127.0.0.1`; `PORT` is a free
port picked at run time. Process count is `--processes`/`-w`/`--workers` = 1 or 2, one thread
each. gunicorn gets `--preload` so that, like uWSGI and satrap by default, the app is loaded
before fork.

```
{cmd_lines}
```

nginx (1.x from Debian, `nginx-light`), started by the bench with its own prefix and stopped by pid:

```
{results.get('nginx_conf', '(not run)').strip()}
```

## How to reproduce

```
python bench/run.py              # full: 1 and 2 processes, 3 rounds x 2 s (~11 min on 2 cores)
python bench/run.py --quick      # 2-process groups, 1 round x 1 s (~3 min)
python bench/run.py --rounds 5 --duration 5 --only plain/http-socket/2p
python bench/run.py --only fixed  # the fixed-offered-load latency groups alone
```

The first run creates `bench/.venv` (uWSGI is compiled by pip; needs gcc and the Python
headers), installs satrap from this checkout with `pip install -e`, and installs `wrk` and
`nginx-light` with apt-get when they are missing. See `bench/README.md`.
"""
    if results.get("failures") or results.get("notes"):
        text += "\n## Problems during this run\n\n" + "\n".join(
            f"- {f}" for f in results.get("notes", []) + results.get("failures", [])) + "\n"
    (docs / "benchmarks.md").write_text(text)


def _fixed_md(results: dict) -> str:
    fixed = summarise_fixed(results)
    if not fixed:
        return "### Latency at a fixed offered load\n\n(not run: `python bench/run.py --only fixed`)"
    secs = max(r["seconds"] for r in results["fixed_runs"])
    return f"""### Latency at a fixed offered load

p99 at saturation (the table above) compares servers running at very different throughputs, and
on 2 cores it mostly measures how the scheduler slices wrk and the workers. Here every server gets
the **same** request rate (chosen so that on a quiet 2-core box every server sustains it; on a busy
one, servers near their capacity fall short and the *achieved* column says so), from
`bench/loadgen.c`: an open-loop generator (wrk2-style; wrk2 is not packaged by Debian, and wrk's
Lua `delay()` is closed-loop think time in whole milliseconds) that sends request *i* at
t0 + i/rate over at most 32 connections (keep-alive: 32 opened up front, reopened when the server
closes one; close: a new connection per request) and measures each latency from the *intended*
send time, so stalls are not hidden by coordinated omission. {secs:g} s per run, the rounds
interleaved and rotated like the wrk runs; percentiles are medians over rounds, max is the worst
round. **gen. lag p99** is how late the generator's own loop noticed a request was due (it shares
the 2 cores with the servers; that lateness is inside the latency figures, so a p99 close to it
says more about the box than about the server). *k/n short*: in k of n rounds a request went
unanswered or the achieved rate fell more than 3 % short of the offered rate.

{_md_table(FIXED_HEAD, fixed_table_rows(fixed), right_from=3)}"""


def _http_shapes(results: dict) -> str:
    shapes = results.get("http_shape", {})
    return "; ".join(f"{SERVER_LABELS[k]} = {v}" for k, v in shapes.items()) or "(not run)"


def svg_chart(summary: list[dict]) -> str:
    """Horizontal bars, one block per configuration, each block scaled to its own best server.

    Blocks have their own scale because a 1 MiB echo and a hello world differ by 100x in req/s;
    the number at the end of every bar is the absolute req/s.
    """
    blocks: list[tuple[str, list[dict]]] = []
    for row in summary:
        if row["procs"] != 2:
            continue
        title = f"{row['app']} · {MODE_LABEL[row['mode']]} · 2 processes · {row['conn']}"
        if not blocks or blocks[-1][0] != title:
            blocks.append((title, []))
        blocks[-1][1].append(row)
    bar_h, gap, title_h, left, width = 16, 4, 22, 150, 460
    height = 40 + sum(title_h + len(rows) * (bar_h + gap) + 10 for _, rows in blocks)
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" '
            f'height="{height}" font-family="sans-serif" font-size="12">'),
           '<rect width="100%" height="100%" fill="white"/>',
           ('<text x="10" y="22" font-size="15" font-weight="bold">req/s on loopback, wrk -t1 '
            '-c32 (median; bars scaled per block)</text>')]
    y = 40
    for title, rows in blocks:
        out.append(f'<text x="10" y="{y + 14}" font-weight="bold">{_esc(title)}</text>')
        y += title_h
        best = max((r["rps"] or 0) for r in rows) or 1
        for r in rows:
            w = max(1, round(width * (r["rps"] or 0) / best))
            out.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">'
                       f'{_esc(SERVER_LABELS[r["server"]])}</text>')
            out.append(f'<rect x="{left}" y="{y}" width="{w}" height="{bar_h}" '
                       f'fill="{COLORS[r["server"]]}"/>')
            out.append(f'<text x="{left + w + 4}" y="{y + 12}">{_fmt(r["rps"], ",.0f")}</text>')
            y += bar_h + gap
        y += 10
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
