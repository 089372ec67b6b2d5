"""cron / unique-cron / cron2: CronTable.due with a fake clock, and one slow end-to-end run."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from satrap.config import load_config
from satrap.cron import CronTable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import free_port


def table(*args: str) -> CronTable:
    return CronTable(load_config(list(args), {}))


def at(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> float:
    return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))


def test_every_minute_runs_once_per_minute() -> None:
    t = table("--cron", "-1 -1 -1 -1 -1 echo x")
    assert t
    assert t.due(at(2024, 5, 6, 10, 0, 1)) == ["echo x"]
    assert t.due(at(2024, 5, 6, 10, 0, 30)) == []
    assert t.due(at(2024, 5, 6, 10, 1, 0)) == ["echo x"]


def test_fields_and_every_n() -> None:
    t = table("--cron", "30 3 -1 -1 -1 nightly", "--cron", "-15 -1 -1 -1 -1 quarter",
              "--cron", "0 0 -1 -1 1 monday")
    assert t.due(at(2024, 5, 6, 3, 30)) == ["nightly", "quarter"]  # 2024-05-06 is a Monday
    assert t.due(at(2024, 5, 6, 3, 31)) == []
    assert t.due(at(2024, 5, 6, 3, 45)) == ["quarter"]
    assert t.due(at(2024, 5, 6, 0, 0)) == ["quarter", "monday"]
    assert t.due(at(2024, 5, 7, 0, 0)) == ["quarter"]


def test_day_and_weekday_are_ored_when_both_given() -> None:
    t = table("--cron", "0 12 1 -1 0 either")
    assert t.due(at(2024, 5, 1, 12, 0)) == ["either"]  # the 1st (a Wednesday)
    assert t.due(at(2024, 5, 5, 12, 0)) == ["either"]  # a Sunday
    assert t.due(at(2024, 5, 6, 12, 0)) == []


def test_unique_cron_waits_for_the_previous_run() -> None:
    t = table("--unique-cron", "-1 -1 -1 -1 -1 slow")
    assert t.due(at(2024, 5, 6, 10, 0)) == ["slow"]
    t.started("slow", 4242)
    assert t.due(at(2024, 5, 6, 10, 1)) == []
    t.finished(4242)
    assert t.due(at(2024, 5, 6, 10, 2)) == ["slow"]


def test_cron2_key_value_form() -> None:
    t = table("--cron2", "minute=-5,unique=1 curl x", "--cron2", "hour=4,minute=0 backup")
    assert t.due(at(2024, 5, 6, 4, 0)) == ["curl x", "backup"]
    assert t.due(at(2024, 5, 6, 4, 3)) == []
    assert t.tasks[0].unique


def test_bad_cron_is_refused_at_load() -> None:
    cfg = load_config(["--cron", "x -1 -1 -1 -1 cmd"], {})
    assert any("cron" in u for u in cfg.unsupported)


@pytest.mark.skipif(os.environ.get("SATRAP_LONG_TESTS") != "1", reason="waits for a minute boundary; SATRAP_LONG_TESTS=1")
def test_cron_runs_from_the_master(satrap, tmp_path: Path) -> None:
    out = tmp_path / "cron.out"
    app = tmp_path / "app.py"
    app.write_text("def application(e, s):\n    s('200 OK', [])\n    return [b'ok']\n")
    port = free_port()
    proc = satrap("--master", "--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app),
                  "--cron", f"-1 -1 -1 -1 -1 echo ran >> {out}")
    proc.wait_http(port)
    deadline = time.time() + 75
    while time.time() < deadline and not out.exists():
        time.sleep(0.5)
    assert out.read_text().startswith("ran")
