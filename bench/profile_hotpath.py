"""Where a satrap worker spends its time under wrk load, and whether httptools would parse faster.

    bench/.venv/bin/python bench/profile_hotpath.py [--duration 10] [--processes 1]

Run with the bench venv (it needs ``py-spy`` and ``httptools``: ``bench/.venv/bin/pip install
py-spy httptools``). For the plain app on ``--http-socket`` it samples one worker with
``py-spy record --format raw`` while wrk drives it, once with keep-alive and once with
``Connection: close``, and prints the top functions and lines by self time (the leaf frame of
each sample) and the top satrap functions by inclusive time. Then it times
``satrap.protocol.http11.parse_head`` against ``httptools.HttpRequestParser`` on the same bytes,
with the httptools side building the same result (method, path, query, HTTP_* dict), since a
parser that returns less is not a like-for-like replacement. That httptools side still skips
satrap's strictness checks and its framing/Host/keep-alive step, so it flatters httptools: made
equally strict it is slower than satrap's parser (see docs/architecture.md).

Why one process by default: all wrk load lands on the sampled worker, so the profile has the
most samples and no idle time from connections parked in the other worker.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import procs
import wrkrun
from run import free_port, wait_ready

HEAD = (b"GET /api/v1/items?page=2&sort=name HTTP/1.1\r\n"
        b"Host: example.com\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
        b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        b"Accept-Language: en-US,en;q=0.5\r\n"
        b"Accept-Encoding: gzip, deflate, br\r\n"
        b"Connection: keep-alive\r\n"
        b"Cookie: session=abc123def456; theme=dark\r\n"
        b"\r\n")
WRK_HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n"

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _short(path: str) -> str:
    for marker in ("/satrap/", "site-packages/", "/lib/python3"):
        i = path.rfind(marker)
        if i != -1:
            return path[i + 1:] if marker == "/satrap/" else path[i + len(marker):].lstrip("/")
    return path


def analyse(raw: Path, top: int = 12) -> str:
    """Self time by function and by line, inclusive time of satrap functions, from raw stacks."""
    self_fn: collections.Counter[str] = collections.Counter()
    self_line: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if f]
        # py-spy puts "process ..." / "thread ..." pseudo-frames first; the leaf is last
        parsed = []
        for f in frames:
            m = _FRAME.match(f)
            if m:
                parsed.append((m.group("func"), _short(m.group("file")), m.group("line") or "?"))
        if not parsed:
            continue
        func, file, lno = parsed[-1]
        self_fn[f"{func} ({file})"] += n
        self_line[f"{file}:{lno} {func}"] += n
        seen = set()
        for func, file, _ in parsed:
            key = f"{func} ({file})"
            if file.startswith("satrap/") and key not in seen:
                seen.add(key)
                incl[key] += n
    if not total:
        return "  (no samples)"
    out = [f"  {total} samples"]
    for title, counter in (("self time by function", self_fn), ("self time by line", self_line),
                           ("inclusive time, satrap functions", incl)):
        out.append(f"  -- {title}")
        for key, n in counter.most_common(top):
            out.append(f"  {100 * n / total:5.1f}%  {key}")
    return "\n".join(out)


def profile(venv_bin: Path, close: bool, duration: int, processes: int, native: bool) -> str:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        argv = [str(venv_bin / "satrap"), "--http-socket", f"127.0.0.1:{port}", "--wsgi-file",
                str(BENCH / "apps" / "hello.py"), "--master", "--processes", str(processes),
                "--disable-logging"]
        server = procs.start("satrap", argv, BENCH / "apps", Path(tmp) / "satrap.log")
        server.extra["t0"] = time.monotonic()
        load = None
        try:
            wait_ready(port, server)
            wrkrun.run(f"http://127.0.0.1:{port}/", 1, close)      # warm-up
            workers = procs.tree(server.pid)[1:]
            argv = ["wrk", "-t1", "-c32", f"-d{duration + 3}s"]
            argv += ["-H", "Connection: close"] if close else []
            load = procs.start("wrk", argv + [f"http://127.0.0.1:{port}/"], BENCH,
                               Path(tmp) / "wrk.log")
            time.sleep(1)
            raw = Path(tmp) / "profile.txt"
            spy = [str(venv_bin / "py-spy"), "record", "-d", str(duration), "-r", "250", "-p",
                   str(workers[0]), "-o", str(raw), "--format", "raw", "--nonblocking"]
            if native:
                spy.append("--native")
            subprocess.run(spy, check=False, capture_output=True, text=True, timeout=duration + 60)
            load.popen.wait(duration + 10)
            wrk_out = (Path(tmp) / "wrk.log").read_text()
            rps = re.search(r"Requests/sec:\s+(\S+)", wrk_out)
            head = (f"satrap --http-socket plain app, {processes} process(es), "
                    f"{'Connection: close' if close else 'keep-alive'}, worker pid {workers[0]}, "
                    f"wrk {rps.group(1) if rps else '?'} req/s while sampled")
            return head + "\n" + analyse(raw)
        finally:
            if load:
                procs.stop(load)
            procs.stop(server)


class _Proto:
    """httptools callbacks collecting what satrap's RequestHead carries; the header name ->
    environ key mapping is cached, as satrap caches it."""

    __slots__ = ("done", "headers", "keys", "url")

    def __init__(self, keys: dict[bytes, str]) -> None:
        self.url = b""
        self.headers: dict[str, str] = {}
        self.done = False
        self.keys = keys

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        key = self.keys.get(name)
        if key is None:
            key = self.keys[name] = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        self.headers[key] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.done = True


def _time_parsers(data: bytes, number: int) -> dict[str, float]:
    """µs per parse for satrap and for httptools (fresh parser / reused parser) on ``data``."""
    import httptools

    from satrap.protocol.http11 import parse_head

    _, consumed = parse_head(data)
    assert consumed == len(data)
    keys: dict[bytes, str] = {}

    def with_httptools() -> tuple:
        proto = _Proto(keys)
        parser = httptools.HttpRequestParser(proto)
        parser.feed_data(data)
        url = httptools.parse_url(proto.url)
        return (parser.get_method(), url.path, url.query, proto.headers)

    reused_proto = _Proto(keys)
    reused = httptools.HttpRequestParser(reused_proto)

    def with_httptools_reused() -> tuple:
        reused_proto.url = b""
        reused_proto.headers = {}
        reused.feed_data(data)
        url = httptools.parse_url(reused_proto.url)
        return (reused.get_method(), url.path, url.query, reused_proto.headers)

    method, path, _query, headers = with_httptools()
    assert method == data.split(b" ", 1)[0] and path and headers, "httptools parsed otherwise"
    times = {}
    for name, fn in (("satrap parse_head", lambda: parse_head(data)),
                     ("httptools, new parser per request", with_httptools),
                     ("httptools, parser reused (keep-alive)", with_httptools_reused)):
        times[name] = min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6
    return times


def compare_parsers(number: int = 200_000) -> str:
    """parse_head vs httptools on the same bytes, both producing method/path/query/HTTP_* dict."""
    out = []
    for label, data in ((f"typical browser head ({HEAD.count(b': ')} fields, {len(HEAD)} bytes)",
                         HEAD),
                        (f"wrk head (1 field, {len(WRK_HEAD)} bytes)", WRK_HEAD)):
        times = _time_parsers(data, number)
        base = times["satrap parse_head"]
        out.append(f"  {label}:")
        for name, us in times.items():
            out.append(f"    {name:<40} {us:6.2f} µs  ({us / base:4.2f}x satrap)")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--native", action="store_true", help="py-spy --native (C frames too)")
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args()
    venv_bin = Path(sys.executable).parent
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if not args.no_profile:
            for close in (False, True):
                print(profile(venv_bin, close, args.duration, args.processes, args.native),
                      flush=True)
                print()
        print("parse_head vs httptools (best of 5 x 200k, one core, same bytes):")
        print(compare_parsers())
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
