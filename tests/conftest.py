"""Shared fixtures: ``satrap`` starts the real command; everything it starts is killed by pid."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import Satrap  # noqa: E402


@pytest.fixture
def satrap(tmp_path: Path) -> Iterator[Callable[..., Satrap]]:
    started: list[Satrap] = []

    def start(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Satrap:
        log_path = tmp_path / f"satrap-{len(started)}.log"
        proc = Satrap(list(args), cwd or tmp_path, log_path, env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
