"""The ``uwsgi`` and ``uwsgidecorators`` modules apps import, provided by satrap's processes.

placeholder until implemented: ``install`` registers the modules in ``sys.modules`` (never on
``sys.path``, so a real uWSGI install is not shadowed outside satrap) before the app is
imported; ``worker_started`` runs in each worker after fork (postfork hooks, timers)."""

from __future__ import annotations

from typing import Any


def install(cfg: Any) -> None:
    return None


def worker_started(cfg: Any, wid: int, master_pid: int | None) -> None:
    return None
