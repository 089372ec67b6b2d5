"""Scale-out past one machine: two "hosts" (network namespaces), satrap on each, nginx over both.

Why namespaces: two real network stacks with their own addresses, so stopping one host's satrap
looks to nginx exactly like a machine going away (connection refused), and nginx's
``proxy_next_upstream error timeout`` must carry the traffic to the other one. Addresses are in
10.200.X.0/24, used only inside namespaces this test creates (plus the host end of each veth, so
nginx in the root namespace can reach them) and removed in ``finally``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nginxrun import NginxRun, require_nginx
from support import http_request, wait_until

APP = '''
import os
def application(environ, start_response):
    body = os.environ["SCALE_HOST"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


def _free_subnets(n: int) -> list[int]:
    """Third octets X of 10.200.X.0/24 not routed anywhere on this machine yet."""
    routes = _ip("-4", "route", "show", "table", "all", check=False).stdout + _ip("-4", "addr", check=False).stdout
    start = 1 + (os.getpid() % 120) * 2
    out = []
    for x in list(range(start, 250)) + list(range(1, start)):
        if f"10.200.{x}." not in routes:
            out.append(x)
            if len(out) == n:
                return out
    pytest.skip("no free 10.200.X.0/24 subnet for the test namespaces")
    return out


class Host:
    """One namespace with a veth to the root namespace: 10.200.X.1 (root side) <-> 10.200.X.2 (inside)."""

    def __init__(self, tag: str, octet: int) -> None:
        suffix = f"{os.getpid() % 100000}{tag}"
        self.ns = f"satrap-so-{suffix}"
        self.outer = f"sso{suffix}"[:15]
        self.inner = f"ssi{suffix}"[:15]
        self.addr = f"10.200.{octet}.2"
        self.gw = f"10.200.{octet}.1"
        self.proc: subprocess.Popen[bytes] | None = None
        self.tag = tag

    def create(self) -> None:
        _ip("netns", "add", self.ns)
        _ip("link", "add", self.outer, "type", "veth", "peer", "name", self.inner)
        _ip("link", "set", self.inner, "netns", self.ns)
        _ip("addr", "add", f"{self.gw}/24", "dev", self.outer)
        _ip("link", "set", self.outer, "up")
        _ip("netns", "exec", self.ns, "ip", "addr", "add", f"{self.addr}/24", "dev", self.inner)
        _ip("netns", "exec", self.ns, "ip", "link", "set", self.inner, "up")
        _ip("netns", "exec", self.ns, "ip", "link", "set", "lo", "up")

    def start(self, app: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UWSGI_", "SATRAP_"))}
        env.update(SCALE_HOST=self.tag, PYTHONUNBUFFERED="1")
        # `ip netns exec` execs the command: this pid is satrap's master
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, sys.executable, "-m", "satrap", "--http-socket",
                 f"{self.addr}:8000", "--wsgi-file", str(app), "--master", "--processes", "2",
                 "--worker-reload-mercy", "5"],
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        wait_until(lambda: self._answers(), 20, message=f"satrap in {self.ns}")

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"satrap in {self.ns} exited with {self.proc.returncode}")
        try:
            return http_request(8000, "GET", "/", host=self.addr, timeout=1)[2] == self.tag.encode()
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGINT) -> int:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        return self.proc.wait(30)

    def destroy(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        for pid in _ip("netns", "pids", self.ns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        _ip("link", "del", self.outer, check=False)
        _ip("netns", "del", self.ns, check=False)


def _require_netns() -> None:
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is missing (apt-get install iproute2): the scale-out test makes hosts with `ip netns`")
    probe = f"satrap-so-probe-{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        pytest.skip(f"`ip netns add` is not permitted here ({made.stderr.strip() or 'no reason given'}): "
                    "the scale-out test needs root and network namespaces")
    _ip("netns", "del", probe, check=False)


def test_nginx_upstream_over_two_hosts_survives_one_stopping(tmp_path: Path) -> None:
    _require_netns()
    require_nginx()
    app = tmp_path / "app.py"
    app.write_text(APP)
    a, b = _free_subnets(2)
    hosts = [Host("h1", a), Host("h2", b)]
    nginx: NginxRun | None = None
    try:
        for h in hosts:
            h.create()
        for h in hosts:
            h.start(app, tmp_path / f"{h.tag}.log")
        upstream = "".join(f"        server {h.addr}:8000 max_fails=1 fail_timeout=2s;\n" for h in hosts)
        nginx = NginxRun(servers=(
            "upstream satrap_hosts {\n" + upstream + "    }\n"
            "server {\n"
            "    listen 127.0.0.1:@PORT@;\n"
            "    location / {\n"
            "        proxy_pass http://satrap_hosts;\n"
            "        proxy_next_upstream error timeout http_502 http_503;\n"
            "        proxy_connect_timeout 1s;\n"
            "        proxy_read_timeout 5s;\n"
            "    }\n"
            "}\n"))
        nginx.start()
        port = nginx.port

        results: list[tuple[float, int, bytes]] = []
        stop_loop = threading.Event()

        def client() -> None:
            while not stop_loop.is_set():
                try:
                    status, _, body = http_request(port, "GET", "/", timeout=5)
                except OSError as exc:
                    status, body = 0, repr(exc).encode()
                results.append((time.monotonic(), status, body))
                time.sleep(0.01)

        loop = threading.Thread(target=client, daemon=True)
        loop.start()
        wait_until(lambda: {r[2] for r in results} >= {b"h1", b"h2"}, 15, message="both hosts answering")

        assert hosts[0].stop(signal.SIGINT) == 0  # host 1's satrap goes away (graceful stop)
        stopped_at = time.monotonic()
        wait_until(lambda: sum(1 for r in results if r[0] > stopped_at) >= 50, 20, message="traffic while h1 is down")
        during = [r for r in results if r[0] > stopped_at + 0.1]
        assert during and all(r[2] == b"h2" for r in during), {r[2] for r in during}

        hosts[0].start(app, tmp_path / "h1.log")  # and comes back
        back_at = time.monotonic()
        wait_until(lambda: any(r[2] == b"h1" for r in results if r[0] > back_at), 20,
                   message="nginx sending to h1 again")
        stop_loop.set()
        loop.join(10)

        failures = [r for r in results if r[1] != 200]
        assert not failures, f"{len(failures)} of {len(results)} requests failed, e.g. {failures[:3]}"
        assert len(results) > 100
    finally:
        if nginx is not None:
            nginx.stop()
        for h in hosts:
            h.destroy()
        left = _ip("netns", "list", check=False).stdout
        assert all(h.ns not in left for h in hosts), left
