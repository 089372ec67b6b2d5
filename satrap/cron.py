"""uWSGI's ``cron`` / ``unique-cron`` / ``cron2`` options (core/cron.c).

``cron = minute hour day month weekday command``: each field is a number, ``-1`` (any) or ``-N``
(every N: the field modulo N is 0, so ``-5`` in the minute field is ``*/5``); months are 1-12,
weekdays 0-6 with Sunday 0, in local time. As in uWSGI, when both day and weekday are given
(>= 0) either one matching is enough. ``cron2 = minute=-5,hour=3,unique=1 command`` is the
key=value form (missing keys are ``-1``). A task runs at most once per minute.

The master calls ``CronTable.due(now)`` on every tick (about 4 times a second) and runs each
returned shell command in the background (``unique`` commands are not started while a previous
run is alive: the table tracks that through ``started(command, pid)`` and ``finished(pid)``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from satrap.errors import ConfigError

_FIELDS = ("minute", "hour", "day", "month", "week")


@dataclass
class CronTask:
    minute: int
    hour: int
    day: int
    month: int
    week: int
    command: str
    unique: bool = False
    last_minute: int = field(default=-1, compare=False)

    def matches(self, tm: time.struct_time) -> bool:
        def ok(want: int, have: int) -> bool:
            if want < 0:
                return have % -want == 0
            return want == have

        if not (ok(self.minute, tm.tm_min) and ok(self.hour, tm.tm_hour) and ok(self.month, tm.tm_mon)):
            return False
        wday = (tm.tm_wday + 1) % 7  # struct_time: Monday 0; cron/uWSGI: Sunday 0
        week = 0 if self.week == 7 else self.week
        if self.day >= 0 and week >= 0:
            return tm.tm_mday == self.day or wday == week
        return ok(self.day, tm.tm_mday) and ok(week, wday)


def _int(text: str, what: str, value: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"cron = {value!r}: {what} must be a number, -1 (any) or -N (every N), "
                          f"not {text!r}") from None


def parse_cron(value: str, unique: bool = False) -> CronTask:
    """``min hour day month wday command``."""
    parts = value.split(None, 5)
    if len(parts) < 6:
        raise ConfigError(f"cron = {value!r}: expected 'minute hour day month weekday command'")
    minute, hour, day, month, week = [_int(p, name, value) for p, name in zip(parts[:5], _FIELDS)]
    return CronTask(minute, hour, day, month, week, command=parts[5], unique=unique)


def parse_cron2(value: str) -> CronTask:
    """``minute=-5,hour=3,unique=1 command`` (uWSGI 1.9.11+)."""
    head, _, command = value.strip().partition(" ")
    keys: dict[str, str] = {}
    if "=" in head:
        for item in head.split(","):
            k, eq, v = item.partition("=")
            if not eq:
                raise ConfigError(f"cron2 = {value!r}: {item!r} is not key=value")
            keys[k.strip()] = v.strip()
    else:
        command = value.strip()
    command = command.strip()
    if not command:
        raise ConfigError(f"cron2 = {value!r}: no command")
    unknown = set(keys) - set(_FIELDS) - {"unique", "harakiri", "legion"}
    if unknown:
        raise ConfigError(f"cron2 = {value!r}: unknown key(s) {', '.join(sorted(unknown))} "
                          f"(satrap knows {', '.join(_FIELDS)}, unique)")
    if "legion" in keys:
        raise ConfigError(f"cron2 = {value!r}: legion crons are not supported (legions are not implemented)")
    minute, hour, day, month, week = [_int(keys.get(name, "-1"), name, value) for name in _FIELDS]
    return CronTask(minute, hour, day, month, week, command=command,
                    unique=keys.get("unique", "0") not in ("0", "", "false"))


def tasks_from(cfg: Any) -> list[CronTask]:
    def values(name: str) -> list[str]:
        try:
            return [v for v in (cfg.get(name) or []) if v]
        except AttributeError:
            return []

    tasks = [parse_cron(v) for v in values("cron")]
    tasks += [parse_cron(v, unique=True) for v in values("unique-cron")]
    tasks += [parse_cron2(v) for v in values("cron2")]
    return tasks


class CronTable:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.tasks = tasks_from(cfg)
        self.running: dict[int, str] = {}

    def __bool__(self) -> bool:
        return bool(self.tasks)

    def due(self, now: float) -> list[str]:
        tm = time.localtime(now)
        minute = int(now // 60)
        out: list[str] = []
        for task in self.tasks:
            if task.last_minute == minute or not task.matches(tm):
                continue
            task.last_minute = minute
            if task.unique and task.command in self.running.values():
                continue
            out.append(task.command)
        return out

    def started(self, command: str, pid: int) -> None:
        self.running[pid] = command

    def finished(self, pid: int) -> None:
        self.running.pop(pid, None)
