"""Processes the bench starts, and what /proc says about them.

Every process is started in its own session (so its pid is also its process-group id) and
recorded in ``STARTED``; :func:`stop_all` stops each one by that pid, gracefully first and then
with SIGKILL to its group, so nothing outlives the bench even after a failure or Ctrl-C.

CPU time is read from ``/proc/<pid>/stat`` (utime + stime) for the server's whole process tree:
master, workers and any router. Reading it before and after a wrk run and dividing by the
requests wrk completed gives CPU microseconds per request, which is much steadier than req/s on
a shared two-core machine because it does not depend on how the scheduler split the cores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    """One started process: its Popen, a name for messages and the signal that stops it."""

    name: str
    popen: subprocess.Popen
    stop_signal: int = signal.SIGTERM
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid


STARTED: list[Proc] = []


def start(name: str, argv: list[str], cwd: Path, log_path: Path,
          stop_signal: int = signal.SIGTERM, env: dict[str, str] | None = None) -> Proc:
    """Start ``argv`` in a new session, output to ``log_path`` (a file, so it can never block)."""
    with open(log_path, "ab") as log:   # the child keeps its own copy of the descriptor
        popen = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    proc = Proc(name, popen, stop_signal, log_path)
    STARTED.append(proc)
    return proc


def stop(proc: Proc, timeout: float = 5.0) -> None:
    """Stop one process by its pid, then SIGKILL its process group if anything is left."""
    if proc.popen.poll() is None:
        try:
            os.kill(proc.pid, proc.stop_signal)
        except ProcessLookupError:
            pass
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # workers may linger after the master left (or the master ignored the signal): the group
    # id is the pid we started, so this reaches exactly our processes and nothing else
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.popen.poll() is None:
        try:
            proc.popen.wait(2)
        except subprocess.TimeoutExpired:
            pass
    if proc in STARTED:
        STARTED.remove(proc)


def stop_all() -> None:
    """Stop everything still recorded, newest first (nginx before its upstreams, etc.)."""
    for proc in reversed(list(STARTED)):
        stop(proc)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may contain spaces: split after the last ')'
    return data[data.rindex(")") + 2:].split()


def children_map() -> dict[int, list[int]]:
    """ppid -> [pid] for every process visible now."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime per pid, in seconds (dead pids are left out)."""
    out: dict[int, float] = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            # after the name: state(0) ppid(1) ... utime is field 14 overall -> index 11 here
            out[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def tree_cpu(pid: int) -> dict[int, float]:
    return cpu_seconds(tree(pid))


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two snapshots; processes born in between count from zero."""
    return sum(t - before.get(p, 0.0) for p, t in after.items())


def smaps_rollup(pid: int) -> dict[str, int]:
    """Pss, Rss and USS (Private_Clean + Private_Dirty) in KiB, or {} if unreadable."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    vals: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
            vals[parts[0][:-1]] = int(parts[1])
    return {"rss": vals.get("Rss", 0), "pss": vals.get("Pss", 0),
            "uss": vals.get("Private_Clean", 0) + vals.get("Private_Dirty", 0)}


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()[:80]
    except OSError:
        return "?"


def wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
