"""Process titles as uWSGI sets them, so ``ps`` shows each process's role.

uWSGI names processes only when asked (``procname-prefix``, ``procname-prefix-spaced``,
``auto-procname``); otherwise ``ps`` shows the command line. satrap does the same, with its own
name in place of ``uWSGI``: ``flask demo satrap master``, ``flask demo satrap worker 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_set: Callable[[str], None] | None
try:
    from setproctitle import setproctitle as _set
except ImportError:  # pragma: no cover - setproctitle is a declared dependency
    _set = None


def title_prefix(cfg: Any) -> str | None:
    """The prefix to use, or None when titles should be left alone (uWSGI's default)."""
    if getattr(cfg, "procname_prefix_spaced", None):
        return cfg.procname_prefix_spaced + " "
    if getattr(cfg, "procname_prefix", None):
        return cfg.procname_prefix
    if getattr(cfg, "auto_procname", False):
        return ""
    return None


def set_title(cfg: Any, role: str) -> None:
    if _set is None:
        return
    if getattr(cfg, "procname", None):
        title = cfg.procname  # uWSGI: one fixed name for every process
    else:
        prefix = title_prefix(cfg)
        if prefix is None:
            return
        title = f"{prefix}satrap {role}"
    if getattr(cfg, "procname_append", None):
        title += cfg.procname_append
    _set(title)
