"""Test support: start the real ``satrap`` command, talk to it over real sockets, clean up by pid.

Every process a test starts goes through :class:`Satrap`, which runs it in its own session
(process group) and, at teardown, kills the whole group and checks that no process of it is left
behind, even when the test failed. No sleeps as synchronisation: everything polls with a deadline.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
FIXTURE_APPS = REPO / "tests" / "fixtures" / "apps"
SHARED = REPO.parent / "shared"


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def system_binary(name: str, extra_path: str = "/usr/sbin:/usr/local/sbin:/usr/local/bin") -> str | None:
    """A system tool a test drives (nginx, redis-server...), on PATH or where Debian puts it."""
    import shutil

    return shutil.which(name) or shutil.which(name, path=extra_path)


def require_binary(name: str, why: str, extra_path: str = "/usr/sbin:/usr/local/sbin:/usr/local/bin") -> str:
    """Its path, or skip the test saying how to install it and what the test needs it for."""
    path = system_binary(name, extra_path)
    if path is None:
        import pytest

        pytest.skip(why)
    return path


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02,
               message: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` from /proc (no psutil needed)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != b"Z":
            kids.append(int(entry))
    return kids


def pgid_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def proc_title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z"


class Satrap:
    """One running ``satrap`` command (or ``command``: another program run the same way)."""

    name = "satrap"

    def __init__(self, args: list[str], cwd: Path, log_path: Path, env: dict[str, str] | None = None,
                 command: list[str] | None = None) -> None:
        self.args = args
        self.log_path = log_path
        full_env = dict(os.environ)
        for key in ("UWSGI_INI", "NOTIFY_SOCKET"):
            full_env.pop(key, None)
        full_env["PYTHONUNBUFFERED"] = "1"
        if env:
            full_env.update(env)
        self._log = open(log_path, "wb")
        argv = [*(command or [sys.executable, "-m", "satrap"]), *args]
        self.proc = subprocess.Popen(argv, cwd=str(cwd),
                                     stdout=self._log, stderr=subprocess.STDOUT, env=full_env,
                                     start_new_session=True, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        self.seen_pids: set[int] = {self.pid}

    # -- observing ---------------------------------------------------------------------------
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 10.0, count: int = 1) -> list[str]:
        rx = re.compile(pattern)

        def found() -> list[str]:
            exited = self.proc.poll() is not None
            hits = rx.findall(self.log())
            if len(hits) >= count:
                return hits
            if exited:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before /{pattern}/:\n"
                                     f"{self.log()[-4000:]}")
            return []

        try:
            return wait_until(found, timeout, message=f"log line /{pattern}/ x{count}")  # type: ignore[return-value]
        except AssertionError as exc:
            if "exited" in str(exc):
                raise
            raise AssertionError(f"no /{pattern}/ (x{count}) in {self.name} log:\n{self.log()[-4000:]}") from None

    def workers(self) -> list[int]:
        kids = children_of(self.pid)
        self.seen_pids.update(kids)
        return kids

    def wait_workers(self, n: int, timeout: float = 10.0) -> list[int]:
        return wait_until(lambda: (w if len(w := self.workers()) == n else None), timeout,
                          message=f"{n} workers")  # type: ignore[return-value]

    def wait_port(self, port: int, host: str = "127.0.0.1", timeout: float = 15.0) -> None:
        def ok() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"satrap exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_until(ok, timeout, message=f"port {port}")

    def wait_http(self, port: int, path: str = "/", host: str = "127.0.0.1", timeout: float = 15.0) -> None:
        def ok() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"satrap exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                return http_request(port, "GET", path, host=host, timeout=2)[0] > 0
            except OSError:
                return False

        wait_until(ok, timeout, message=f"HTTP answer on {port}")

    # -- stopping ----------------------------------------------------------------------------
    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: float = 15.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit within {timeout}s:\n{self.log()[-4000:]}") from None

    def stop(self) -> None:
        """Kill everything this satrap started (its process group, and any pid seen) and reap."""
        pids = set(self.seen_pids) | set(pgid_members(self.pid))
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


def http_request(port: int, method: str = "GET", path: str = "/", body: bytes | None = None,
                 headers: dict[str, str] | None = None, host: str = "127.0.0.1",
                 timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def read_until_eof(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes (a reset ends it too)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def raw_exchange(port: int, data: bytes, host: str = "127.0.0.1", timeout: float = 5.0,
                 family: int = socket.AF_INET) -> bytes:
    """Send raw bytes, half-close, read until the server closes."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return read_until_eof(s)
