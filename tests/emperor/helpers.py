"""Emperor test helpers: start an Emperor (real or with fake vassals) and read what it did.

Like ``support.Satrap``, every Emperor runs in its own session; teardown SIGKILLs its process
group and every pid seen, so a failed test leaves nothing behind. Everything polls with a deadline.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from support import alive, children_of, pgid_members, wait_until

HERE = Path(__file__).resolve().parent
RUN_FAKE = HERE / "run_fake_emperor.py"


class EmperorProc:
    def __init__(self, argv: list[str], cwd: Path, log_path: Path) -> None:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        for key in ("UWSGI_INI", "NOTIFY_SOCKET"):
            env.pop(key, None)
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=str(cwd), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        self.seen: set[int] = {self.pid}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 10.0, count: int = 1) -> list[str]:
        rx = re.compile(pattern)

        def found() -> list[str]:
            if self.proc.poll() is not None and len(rx.findall(self.log())) < count:
                raise AssertionError(f"emperor exited ({self.proc.returncode}):\n{self.log()[-4000:]}")
            hits = rx.findall(self.log())
            return hits if len(hits) >= count else []

        try:
            return wait_until(found, timeout, message=pattern)  # type: ignore[return-value]
        except AssertionError as exc:
            raise AssertionError(f"{exc}; no /{pattern}/ x{count} in:\n{self.log()[-4000:]}") from None

    def vassal_pids(self) -> list[int]:
        kids = children_of(self.pid)
        self.seen.update(kids)
        for kid in kids:
            self.seen.update(children_of(kid))
        return kids

    def wait_vassals(self, n: int, timeout: float = 10.0) -> list[int]:
        found = wait_until(lambda: ((k,) if len(k := self.vassal_pids()) == n else None), timeout,
                           message=f"{n} vassal processes")
        return found[0]  # type: ignore[index]

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: float = 15.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"emperor did not exit within {timeout}s:\n{self.log()[-4000:]}") from None

    def stop(self) -> None:
        pids = set(self.seen) | set(pgid_members(self.pid))
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
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


def group_alive(pgid: int) -> list[int]:
    return [p for p in pgid_members(pgid) if alive(p)]


def unix_http(path: str, timeout: float = 10.0) -> bytes:
    """One HTTP/1.0 GET over a unix socket; returns the body (raises on no answer)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise AssertionError(f"no HTTP answer: {data!r}")
    return body


def journal(path: Path) -> list[str]:
    j = Path(str(path) + ".journal")
    return j.read_text().splitlines() if j.exists() else []


def write_file(path: Path, text: str) -> None:
    """Write atomically (tmp + rename) so the Emperor never sees half a file."""
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def touch(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


PY = sys.executable
