"""Emperor test helpers: start an Emperor (real or with fake vassals) and read what it did.

Like ``support.Satrap``, every Emperor runs in its own session; teardown SIGKILLs its process
group and every pid seen, so a failed test leaves nothing behind. Everything polls with a deadline.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from support import Satrap, alive, children_of, pgid_members, read_until_eof, wait_until

HERE = Path(__file__).resolve().parent
RUN_FAKE = HERE / "run_fake_emperor.py"


class EmperorProc(Satrap):
    """An Emperor process: ``support.Satrap`` plus what it knows of its vassals."""

    name = "emperor"

    def __init__(self, argv: list[str], cwd: Path, log_path: Path) -> None:
        super().__init__([], cwd, log_path, command=argv)

    @property
    def seen(self) -> set[int]:
        return self.seen_pids

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


def group_alive(pgid: int) -> list[int]:
    return [p for p in pgid_members(pgid) if alive(p)]


def unix_http(path: str, timeout: float = 10.0) -> bytes:
    """One HTTP/1.0 GET over a unix socket; returns the body (raises on no answer)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        data = read_until_eof(s)
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
