"""satrap vs uWSGI vs gunicorn vs granian on loopback: one command, one table.

    python bench/run.py            # full run: 3 rounds x 2 s per measurement (~11 minutes on 2 cores)
    python bench/run.py --quick    # 1 round x 1 s, 2-process configurations only (~3 minutes)
    python bench/run.py --only fixed   # only the fixed-offered-load latency groups (~1.5 min/round)

Why it is built this way:
- Servers of one configuration group are started once, warmed up, measured for memory, and then
  measured interleaved (A B C A B C ...) over several rounds, the order rotated every round: on a
  shared two-core box the machine's speed drifts, and interleaving spreads that drift over every
  server instead of punishing whoever ran last. Reported figures are medians over rounds, and the
  ratios are medians of the per-round paired ratios (satrap and its peer measured seconds apart).
- CPU microseconds per request come from /proc (see procs.py) and are the steadier figure.
- wrk at saturation runs every server at its own throughput, so its p99 compares unlike things;
  the ``fixed/...`` groups drive every server at the same request rate with an open-loop
  generator (loadgen.c, see openloop.py) and report p50/p90/p99/max from the intended send time.
- Everything binds to 127.0.0.1 on free ports; every process is stopped by pid on exit,
  including Ctrl-C and failures; every wrk run is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import envsetup
import openloop
import procs
import report
import wrkrun
from servers import nginx_conf, server_argv

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
APPS_DIR = BENCH / "apps"


@dataclass(frozen=True)
class Group:
    """Servers that are started together and measured interleaved against each other."""

    app: str
    mode: str                   # http-socket | http | socket (behind nginx)
    procs: int
    servers: tuple[str, ...]
    conns: tuple[str, ...]      # "keep-alive" and/or "close"
    quick: bool                 # part of --quick
    rates: tuple[float, ...] = ()   # fixed offered loads (req/s): an open-loop latency group

    @property
    def gid(self) -> str:
        base = f"{self.app}/{self.mode}/{self.procs}p"
        return f"fixed/{base}" if self.rates else base


_ALL = ("satrap", "satrap+log", "uwsgi", "gunicorn", "granian")
_CORE = ("satrap", "uwsgi", "gunicorn", "granian")
_BOTH = ("keep-alive", "close")
GROUPS: tuple[Group, ...] = (
    Group("plain", "http-socket", 2, _ALL, _BOTH, True),
    Group("flask", "http-socket", 2, _ALL, _BOTH, True),
    Group("plain", "http-socket", 1, _ALL, _BOTH, False),
    Group("flask", "http-socket", 1, _ALL, _BOTH, False),
    Group("64k", "http-socket", 2, _CORE, ("keep-alive",), True),
    Group("echo1m", "http-socket", 2, _CORE, ("keep-alive",), True),
    Group("flask", "socket", 2, ("satrap", "satrap+log", "uwsgi"), ("keep-alive",), True),
    Group("plain", "socket", 2, ("satrap", "uwsgi"), ("keep-alive",), False),
    Group("plain", "http", 2, ("satrap", "uwsgi"), _BOTH, True),
    # fixed offered load (open loop, bench/loadgen.c): every server gets the same request rate,
    # one that all of them sustain. Rates are fixed, not a fraction of this run's saturated
    # rate, so that runs compare with each other: plain 5k/10k are ~1/4 and ~1/2 of the slowest
    # peer's (uWSGI, ~19k) saturated rate on the 2-core reference box; flask 2k is ~1/3 of
    # satrap's close rate and ~1/2 of gunicorn's. gunicorn sync is left out of plain: its
    # saturated rate (~6k) is at or below both plain rates, so it would only measure a queue.
    Group("plain", "http-socket", 2, ("satrap", "uwsgi", "granian"), _BOTH, True,
          (5000.0, 10000.0)),
    Group("flask", "http-socket", 2, _CORE, _BOTH, True, (2000.0,)),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: procs.Proc, timeout: float = 30.0) -> float:
    """Poll GET / until a 200 arrives; returns seconds since the process was started."""
    t0 = proc.extra["t0"]
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
            conn.request("GET", "/")
            resp = conn.getresponse()
            resp.read()
            conn.close()
            if resp.status == 200:
                return time.monotonic() - t0
        except OSError:
            pass
        except http.client.HTTPException:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{proc.name} not answering after {timeout}s")


def tail(path: Path | None, n: int = 15) -> str:
    if not path or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def memory(pid: int) -> dict:
    """PSS/USS of the whole tree and of each child (the workers, plus uWSGI's router if any)."""
    pids = procs.tree(pid)
    per = {p: procs.smaps_rollup(p) for p in pids}
    kids = [per[p] for p in pids[1:] if per.get(p)]
    return {
        "tree_pss_kib": sum(v.get("pss", 0) for v in per.values()),
        "root_pss_kib": per.get(pid, {}).get("pss", 0),
        "child_pss_kib": statistics.median([k["pss"] for k in kids]) if kids else None,
        "child_uss_kib": statistics.median([k["uss"] for k in kids]) if kids else None,
        "processes": [{"pid": p, "cmd": procs.comm(p), **per[p]} for p in pids],
    }


def run_group(g: Group, args: argparse.Namespace, venv: Path, outdir: Path,
              available: set[str], results: dict) -> None:
    """Start the group's servers (and nginx), warm up, measure memory, then the interleaved runs."""
    servers = [s for s in g.servers if s.split("+")[0] in available]
    print(f"\n=== {g.gid}: {', '.join(servers)}", flush=True)
    started: dict[str, tuple[procs.Proc, int]] = {}    # server -> (proc, port wrk targets)
    nginx: procs.Proc | None = None
    try:
        backends = {s: free_port() for s in servers}
        fronts = dict(backends)
        if g.mode == "socket":
            fronts = {s: free_port() for s in servers}
            prefix = outdir / f"nginx-{g.app}"
            prefix.mkdir(parents=True, exist_ok=True)
            conf = prefix / "nginx.conf"
            conf.write_text(nginx_conf(prefix, [(fronts[s], backends[s]) for s in servers],
                                       os.geteuid() == 0))
            results["nginx_conf"] = conf.read_text()
            nginx = procs.start("nginx", [envsetup.nginx_path(), "-p", str(prefix), "-c",
                                          str(conf)], BENCH, prefix / "stdout.log",
                                signal.SIGQUIT)
            time.sleep(0.3)
            if nginx.popen.poll() is not None:
                raise RuntimeError("nginx failed:\n" + tail(prefix / "error.log")
                                   + tail(prefix / "stdout.log"))
        for s in servers:
            launch = server_argv(s, venv / "bin", APPS_DIR, g.app, g.mode, g.procs, backends[s])
            results["commands"].setdefault(f"{g.mode}/{s}", " ".join(
                launch.argv).replace(str(backends[s]), "PORT").replace(str(REPO) + "/", ""))
            log = outdir / f"{g.app}-{g.mode}-{g.procs}-{s}.log"
            p = procs.start(s, launch.argv, APPS_DIR, log, launch.stop_signal,
                            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
            p.extra["t0"] = time.monotonic()
            # popen is created before t0 is stored; the gap is microseconds
            try:
                startup = wait_ready(fronts[s], p)
            except RuntimeError as exc:
                print(f"  !! {s} failed to start: {exc}\n{tail(log)}", flush=True)
                results["failures"].append(f"{g.gid} {s}: {exc}")
                procs.stop(p)
                continue
            script = str(APPS_DIR / "post_1m.lua") if g.app == "echo1m" else None
            wrkrun.run(f"http://127.0.0.1:{fronts[s]}/", 1, False, script)   # warm-up
            started[s] = (p, fronts[s])
            print(f"  {s:<11} up in {startup * 1000:6.0f} ms, pid {p.pid}", flush=True)
            if g.rates:
                continue   # start-up and memory are the saturation groups' business
            results["startup"].setdefault(g.gid, {})[s] = startup
            if g.mode == "http":
                # label what --http really is: a router process shows up as one extra child
                n = len(procs.tree(p.pid))
                results["http_shape"][s] = (f"router process + {g.procs} workers" if n > g.procs + 1
                                            else f"direct: {g.procs} workers, no router")
        if not g.rates:
            # memory once every server of the group is up and warm: PSS splits each shared file
            # page (libpython, the stdlib's extension modules) between every process mapping it,
            # so a server measured right after its own start, before its peers run, would be
            # charged more of them than one started last
            for s, (p, _port) in started.items():
                results["memory"].setdefault(g.gid, {})[s] = memory(p.pid)
        order = list(started)
        if g.rates:
            fixed_rounds(g, args, started, results)
            return
        script = str(APPS_DIR / "post_1m.lua") if g.app == "echo1m" else None
        for rnd in range(args.rounds):
            k = rnd % len(order) if order else 0
            rotated = order[k:] + order[:k]
            for conn in g.conns:
                for s in rotated:
                    p, port = started[s]
                    if p.popen.poll() is not None:
                        print(f"  !! {s} died (rc {p.popen.returncode})\n{tail(p.log_path)}")
                        results["failures"].append(f"{g.gid} {s}: died in round {rnd}")
                        continue
                    before = procs.tree_cpu(p.pid)
                    nbefore = procs.tree_cpu(nginx.pid) if nginx else {}
                    try:
                        r = wrkrun.run(f"http://127.0.0.1:{port}/", args.duration,
                                       conn == "close", script)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        results["failures"].append(f"{g.gid} {s} {conn}: wrk: {exc}")
                        continue
                    cpu = procs.cpu_delta(before, procs.tree_cpu(p.pid))
                    ncpu = procs.cpu_delta(nbefore, procs.tree_cpu(nginx.pid)) if nginx else 0
                    row = {"group": g.gid, "app": g.app, "mode": g.mode, "procs": g.procs,
                           "conn": conn, "server": s, "round": rnd, **r.as_dict(),
                           "cpu_us": cpu / r.requests * 1e6 if r.requests else None,
                           "nginx_cpu_us": ncpu / r.requests * 1e6 if nginx and r.requests
                           else None}
                    results["runs"].append(row)
                    print(f"  r{rnd} {conn:<10} {s:<11} {r.rps:9.0f} req/s "
                          f"{row['cpu_us'] or 0:7.1f} us/req  p99 {r.p99_ms:7.2f} ms"
                          f"{'  errors ' + str(r.errors) if r.errors else ''}"
                          f"{'  non2xx ' + str(r.non2xx) if r.non2xx else ''}", flush=True)
        for s, (p, _port) in started.items():
            # memory again at steady state, after every round of load: the pages a worker dirties
            # while serving (refcounts, a full gc pass over un-frozen objects) show up only now
            if p.popen.poll() is None:
                results["memory_loaded"].setdefault(g.gid, {})[s] = memory(p.pid)
    finally:
        for p, _ in started.values():
            procs.stop(p)
        if nginx:
            procs.stop(nginx)
        procs.stop_all()   # anything that failed half-way


def fixed_seconds(args: argparse.Namespace) -> float:
    """Seconds per fixed-rate run: at least 2 s, so that even --quick puts 100+ samples past p99
    at 5k req/s."""
    return max(2.0, args.duration)


def fixed_rounds(g: Group, args: argparse.Namespace, started: dict, results: dict) -> None:
    """Each server at each fixed rate, interleaved like the wrk rounds (order rotated)."""
    order = list(started)
    secs = fixed_seconds(args)
    for rnd in range(args.rounds):
        k = rnd % len(order) if order else 0
        rotated = order[k:] + order[:k]
        for rate in g.rates:
            for conn in g.conns:
                for s in rotated:
                    p, port = started[s]
                    if p.popen.poll() is not None:
                        results["failures"].append(f"{g.gid} {s}: died in round {rnd}")
                        continue
                    before = procs.tree_cpu(p.pid)
                    try:
                        r = openloop.run(port, rate, secs, conn == "close")
                    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                        results["failures"].append(f"{g.gid} {s} {conn} {rate:g}/s: {exc}")
                        continue
                    cpu = procs.cpu_delta(before, procs.tree_cpu(p.pid))
                    row = {"group": g.gid, "app": g.app, "mode": g.mode, "procs": g.procs,
                           "conn": conn, "server": s, "round": rnd, "rate": rate, **r,
                           "sustained": openloop.sustained(r),
                           "cpu_us": cpu / r["completed"] * 1e6 if r["completed"] else None}
                    results["fixed_runs"].append(row)
                    print(f"  r{rnd} {rate:6.0f}/s {conn:<10} {s:<11} got {r['achieved_rps']:7.0f}/s"
                          f"  p50 {r['p50_ms']:6.2f}  p90 {r['p90_ms']:6.2f}  p99 {r['p99_ms']:7.2f}"
                          f"  max {r['max_ms']:7.2f} ms  gen-lag p99 {r['gen_lag_p99_ms']:5.2f}"
                          f"{'' if row['sustained'] else '  NOT SUSTAINED'}"
                          f"{'  errors ' + str(r['errors']) if r['errors'] else ''}", flush=True)


def estimate(groups: list[Group], args: argparse.Namespace) -> float:
    runs = sum(len(g.servers) * len(g.conns) for g in groups if not g.rates)
    fixed = sum(len(g.servers) * len(g.conns) * len(g.rates) for g in groups if g.rates)
    starts = sum(len(g.servers) for g in groups)
    return (runs * args.rounds * (args.duration + 0.3)
            + fixed * args.rounds * (fixed_seconds(args) + 0.3) + starts * 2.5 + 10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="1 round of 1 s, 2-process groups only (about 3 minutes)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 3; quick 1)")
    ap.add_argument("--duration", type=float, help="seconds per wrk run (default 2; quick 1)")
    ap.add_argument("--only", help="comma-separated group ids or prefixes, e.g. plain/http-socket;"
                    " 'fixed' = the fixed-offered-load latency groups only")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--skip-setup", action="store_true",
                    help="use bench/.venv's peers as they are (satrap is still reinstalled from the checkout)")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.duration = args.duration or (1.0 if args.quick else 2.0)

    # Ctrl-C and SIGTERM both unwind through the finally blocks that stop our processes
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    if args.skip_setup:
        venv, notes = BENCH / ".venv", []
        envsetup.install_satrap(venv, REPO)
    else:
        envsetup.ensure_tools()
        venv, notes = envsetup.ensure_venv(BENCH, REPO)
    vers = envsetup.versions(venv)
    available = {"satrap"} | {k for k in ("uwsgi", "gunicorn", "granian")
                              if vers.get(k, "missing") != "missing"}
    groups = [g for g in GROUPS if g.quick or not args.quick]
    if args.only:
        wanted = args.only.split(",")
        groups = [g for g in groups if any(g.gid.startswith(w) for w in wanted)]
    if any(g.rates for g in groups) and openloop.build() is None:
        notes.append("no C compiler: the fixed-offered-load groups (bench/loadgen.c) were skipped")
        groups = [g for g in groups if not g.rates]
    print(f"{len(groups)} groups, {args.rounds} rounds x {args.duration:g} s; "
          f"estimated {estimate(groups, args) / 60:.1f} min", flush=True)

    outdir = BENCH / ".results" / "latest"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    results: dict = {"runs": [], "fixed_runs": [], "memory": {}, "memory_loaded": {}, "startup": {}, "commands": {}, "failures": [], "http_shape": {},
                     "notes": notes, "versions": vers, "machine": report.machine(),
                     "rounds": args.rounds, "duration": args.duration, "quick": args.quick,
                     "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    t0 = time.monotonic()
    try:
        print("\nin-process call rate (ceiling)...", flush=True)
        out = subprocess.run([str(venv / "bin" / "python"), str(BENCH / "ceiling.py"),
                              "0.5" if args.quick else "1"], capture_output=True, text=True,
                             timeout=120, check=False)
        results["ceiling"] = json.loads(out.stdout) if out.returncode == 0 else {}
        for g in groups:
            run_group(g, args, venv, outdir, available, results)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", flush=True)
        results["failures"].append("interrupted")
    finally:
        procs.stop_all()
    results["elapsed_s"] = time.monotonic() - t0
    (outdir / "results.json").write_text(json.dumps(results, indent=1))
    summary = report.summarise(results)
    print()
    print(report.text_table(summary, results))
    if not args.no_docs and (results["runs"] or results["fixed_runs"]):
        report.write_docs(summary, results, REPO / "docs")
        print(f"\nwrote docs/benchmarks.md and docs/bench-chart.svg "
              f"({results['elapsed_s'] / 60:.1f} min)")
    print(f"raw results: {outdir / 'results.json'}")
    return 1 if "interrupted" in results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
