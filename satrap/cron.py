"""uWSGI's ``cron`` / ``unique-cron`` / ``cron2`` options: placeholder until implemented.

The master calls ``CronTable.due(now)`` on every tick (about 4 times a second) and runs each
returned shell command in the background (``unique`` commands are not started while a previous
run is alive: the table tracks that through ``started(command, pid)`` and ``finished(pid)``)."""

from __future__ import annotations

from typing import Any


class CronTable:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg

    def __bool__(self) -> bool:
        return False

    def due(self, now: float) -> list[str]:
        return []

    def started(self, command: str, pid: int) -> None:
        return None

    def finished(self, pid: int) -> None:
        return None
