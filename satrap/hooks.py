"""uWSGI hooks (``hook-<phase>``, ``exec-<phase>``, ``call-<phase>``): placeholder until
implemented. The call sites exist already: cli (asap, as-user, pre-app, post-app,
as-user-atexit), the master (master-start) and each worker (post-fork, accepting)."""

from __future__ import annotations

from typing import Any


def run_phase(cfg: Any, phase: str) -> None:
    """Run every hook configured for ``phase``; a failing fatal hook raises ConfigError."""
    return None
