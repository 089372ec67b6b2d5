"""Start satrap serving HTTP through the ``--http`` router or directly (``--http-socket``).

``start_server("http", ...)`` runs ``satrap --http`` when the master has the router wired in;
until then it runs the workers on an abstract uwsgi socket plus ``tests/router/run_router.py``
(``run_router`` in a process of its own), which is the same router code. Every process is
started in its own session and killed by pid/process group at teardown.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

from support import REPO, Satrap, free_port, http_request, wait_until

HERE = Path(__file__).resolve().parent
APP = HERE / "apps" / "routerapp.py"
PATHS = ("http", "http-socket")


def router_wired() -> bool:
    """Whether ``satrap --http`` starts the router (the master's side of the seam)."""
    for rel in ("satrap/master/master.py", "satrap/master/workers.py", "satrap/cli.py"):
        path = REPO / rel
        if path.exists() and "run_router" in path.read_text():
            return True
    return False


def read_response(sock: socket.socket, buf: bytearray,
                  head: bool = False) -> tuple[bytes, dict[str, str], bytes]:
    """Read one response (Content-Length, chunked, or no body for HEAD/204/304) from a
    keep-alive connection; ``buf`` keeps what follows it."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"server closed before the response head ({bytes(buf)[:200]!r})"
        buf += chunk
    raw, _, _ = bytes(buf).partition(b"\r\n\r\n")
    del buf[:len(raw) + 4]
    lines = raw.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(lines[0].split(" ")[1])
    if head or status in (204, 304) or status < 200:
        return lines[0].encode(), headers, b""
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(buf) < n:
            chunk = sock.recv(65536)
            assert chunk, "server closed inside the body"
            buf += chunk
        body = bytes(buf[:n])
        del buf[:n]
        return lines[0].encode(), headers, body
    if headers.get("transfer-encoding") == "chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buf:
                chunk = sock.recv(65536)
                assert chunk, "server closed inside a chunked body"
                buf += chunk
            line, _, _ = bytes(buf).partition(b"\r\n")
            size = int(line, 16)
            del buf[:len(line) + 2]
            while len(buf) < size + 2:
                chunk = sock.recv(65536)
                assert chunk, "server closed inside a chunk"
                buf += chunk
            body += buf[:size]
            del buf[:size + 2]
            if size == 0:
                return lines[0].encode(), headers, bytes(body)
    # close-delimited
    while chunk := sock.recv(65536):
        buf += chunk
    body = bytes(buf)
    del buf[:]
    return lines[0].encode(), headers, body




class Server:
    """A running satrap serving HTTP on ``port`` through ``path`` ("http" or "http-socket")."""

    def __init__(self, path: str, workdir: Path, options: list[str], processes: int = 2,
                 upstream: str | None = None, harness: bool = False) -> None:
        self.path = path
        self.port = free_port()
        self.workdir = workdir
        self.router: subprocess.Popen[bytes] | None = None
        self.router_log: Path | None = None
        shutil.copy(APP, workdir / "routerapp.py")
        base = ["--module", "routerapp", "--master", "--auto-procname", "--processes", str(processes), *options]
        tag = uuid.uuid4().hex[:10]
        log_path = workdir / f"satrap-{path}-{tag}.log"
        self.harness = path == "http" and (harness or upstream is not None or not router_wired())
        if path == "http-socket":
            self.satrap = Satrap(["--http-socket", f"127.0.0.1:{self.port}", *base], workdir, log_path)
        elif not self.harness:
            self.satrap = Satrap(["--http", f"127.0.0.1:{self.port}", *base], workdir, log_path)
        else:
            # upstream="tcp": the workers listen on a TCP uwsgi socket (the router's connect
            # then completes asynchronously), else on an abstract unix socket
            name = f"127.0.0.1:{free_port()}" if upstream == "tcp" else f"@satrap-rt-{tag}"
            if upstream == "tcp":
                upstream = None
            self.satrap = Satrap(["--socket", name, *base], workdir, log_path)
            self.router_log = workdir / f"router-{tag}.log"
            self._router_out = open(self.router_log, "wb")
            self.router = subprocess.Popen(
                [sys.executable, str(HERE / "run_router.py"), f"127.0.0.1:{self.port}",
                 upstream or name, *options], cwd=str(workdir), stdout=self._router_out,
                stderr=subprocess.STDOUT, start_new_session=True, stdin=subprocess.DEVNULL)
        try:
            self.satrap.wait_http(self.port) if path == "http-socket" else self._wait_router(upstream)
            # every child up before a test snapshots the pids (one may answer before the other
            # is forked): the master's children are the workers, plus the router with --http
            self.satrap.wait_workers(processes + (1 if path == "http" and not self.harness else 0))
        except BaseException:
            self.stop()
            raise

    def _wait_router(self, upstream: str | None) -> None:
        wait_until(self._router_up, 15, message=f"the router on port {self.port}")
        if upstream is None:
            wait_until(lambda: self.get("/")[0] == 200, 15, message="a response through the router")

    def _router_up(self) -> bool:
        for proc in (self.satrap.proc, self.router):
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"exited with {proc.returncode}:\n{self.log()[-4000:]}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    # -- observing -------------------------------------------------------------------------------
    def log(self) -> str:
        text = self.satrap.log()
        if self.router_log is not None:
            text += self.router_log.read_text(errors="replace")
        return text

    def get(self, path: str = "/", **kw: object) -> tuple[int, dict[str, str], bytes]:
        try:
            return http_request(self.port, "GET", path, **kw)  # type: ignore[arg-type]
        except OSError:
            return 0, {}, b""

    def worker_pids(self) -> set[int]:
        """Workers (and, with --http, the router) as the master's children."""
        return set(self.satrap.workers())

    def router_pid(self) -> int | None:
        if self.router is not None:
            return self.router.pid
        for pid in self.satrap.workers():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"http 1" in cmd:
                return pid
        return None

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    # -- stopping --------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.router is not None:
            if self.router.poll() is None:
                try:
                    os.killpg(self.router.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.router.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self._router_out.close()
        self.satrap.stop()


def damn_free(server: Server) -> None:
    log = server.log()
    assert "DAMN" not in log, log[-3000:]
    assert not re.search(r"Traceback", log), log[-3000:]
