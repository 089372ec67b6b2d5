"""Fixtures for the Emperor tests: ``emperor`` (real vassals) and ``fake_emperor`` (fake ones)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import RUN_FAKE, EmperorProc


def _factory(tmp_path: Path, base: list[str]) -> Iterator[Callable[..., EmperorProc]]:
    started: list[EmperorProc] = []

    def start(*args: str) -> EmperorProc:
        proc = EmperorProc([*base, *args], tmp_path, tmp_path / f"emperor-{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def emperor(tmp_path: Path) -> Iterator[Callable[..., EmperorProc]]:
    """The real Emperor over real ``python -m satrap`` vassals."""
    yield from _factory(tmp_path, [sys.executable, "-m", "satrap.emperor"])


@pytest.fixture
def fake_emperor(tmp_path: Path) -> Iterator[Callable[..., EmperorProc]]:
    """The real Emperor over ``fake_vassal.py`` vassals (the Emperor's side alone)."""
    yield from _factory(tmp_path, [sys.executable, str(RUN_FAKE)])


@pytest.fixture
def vassals(tmp_path: Path) -> Path:
    d = tmp_path / "vassals"
    d.mkdir()
    return d
