"""End to end: the real ``uwsgitop`` (PyPI) in a pseudo-terminal against satrap's stats socket."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid

import pytest
from conftest import send_requests
from support import wait_until


def _uwsgitop() -> str:
    found = shutil.which("uwsgitop")
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "uwsgitop"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        found = shutil.which("uwsgitop")
    if found is None:
        pytest.skip("uwsgitop is not installed and `pip install uwsgitop` failed")
    return found


@pytest.fixture
def tmux():
    if shutil.which("tmux") is None:
        pytest.skip("tmux not installed (apt-get install tmux)")
    name = f"satrap-test-{uuid.uuid4().hex[:8]}"  # a private tmux server, killed by its name

    def run(*args: str) -> str:
        return subprocess.run(["tmux", "-L", name, *args], capture_output=True, text=True,
                              timeout=10, check=False).stdout

    yield run
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=10, check=False)


def _rows(screen: str, pids: list[int]) -> dict[int, int]:
    """worker pid -> requests, from uwsgitop's table (WID % PID REQ ...)."""
    rows = {}
    for line in screen.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[0].isdigit() and fields[2].isdigit() and int(fields[2]) in pids:
            rows[int(fields[2])] = int(fields[3])
    return rows


def test_uwsgitop_shows_one_row_per_worker_with_growing_counts(instance, tmux):
    top = _uwsgitop()
    proc, port, stats = instance(processes=3)
    pids = proc.workers()
    tmux("new-session", "-d", "-x", "200", "-y", "50", "-e", f"PATH={os.environ.get('PATH', '')}",
         f"{top} --frequency 1 {stats}")

    def screen_with(pred) -> str | None:
        text = tmux("capture-pane", "-p")
        return text if pred(_rows(text, pids)) else None

    first = wait_until(lambda: screen_with(lambda r: len(r) == 3), timeout=20, message="3 worker rows")
    assert re.search(r"uwsgi-2\.0\.\d+ - .* - req: \d+", first), first
    before = sum(_rows(first, pids).values())
    send_requests(port, ["/"] * 30)
    after = wait_until(lambda: screen_with(lambda r: len(r) == 3 and sum(r.values()) >= before + 30),
                       timeout=20, message="request counts grow to +30")
    assert sum(_rows(after, pids).values()) == before + 30
    send_requests(port, ["/"] * 12)
    wait_until(lambda: screen_with(lambda r: sum(r.values()) == before + 42), timeout=20,
               message="request counts grow again")
