"""The ``uwsgi`` and ``uwsgidecorators`` modules apps import, provided by satrap's processes.

``install`` registers the modules in ``sys.modules`` (never on ``sys.path``, so a real uWSGI
install is not shadowed outside satrap, and ``import uwsgi`` keeps failing in any other Python
process) before the app is imported; ``worker_started`` runs in each worker after fork (postfork
hooks, signal listener, the timers worker 1 owns). The spooler process body is
:func:`satrap.uwsgi_api.spooler.run_spooler`. See docs/uwsgi-api.md.
"""

from __future__ import annotations

import sys
import traceback
from types import ModuleType
from typing import Any

from satrap.log import log


def install(cfg: Any) -> None:
    from satrap.uwsgi_api import state as state_mod

    state_mod.setup(cfg)
    from satrap.uwsgi_api import uwsgi_module

    uwsgi_module._configure(cfg)
    sys.modules["uwsgi"] = uwsgi_module
    sys.modules["uwsgidecorators"] = _decorators_stub()


def _decorators_stub() -> ModuleType:
    """``uwsgidecorators`` as a stand-in that loads the real module on the app's first use of a
    name. Most apps never import it, and every module the master loads is heap that all of its
    workers share (PSS charges each a share); an app that does use it loads it at import time,
    in the master, so the workers still find it there after fork."""
    stub = ModuleType("uwsgidecorators", "satrap's uwsgidecorators (loaded on first use)")

    def __getattr__(name: str) -> Any:
        from satrap.uwsgi_api import decorators_module

        return getattr(decorators_module, name)

    stub.__getattr__ = __getattr__  # type: ignore[method-assign]
    return stub


def _run_post_fork_hooks(where: str) -> None:
    from satrap.uwsgi_api import uwsgi_module as uwsgi  # what apps see as ``uwsgi``

    hook = getattr(uwsgi, "post_fork_hook", None)
    if hook is None:
        return
    try:
        hook()
    except Exception:  # noqa: BLE001 - the app's hook failing is logged, the worker goes on
        log(f"satrap: a @postfork function raised in {where}:\n{traceback.format_exc().rstrip()}")


def process_started(role: str, wid: int, master_pid: int | None, spooler_index: int = 0) -> None:
    """Common start of a worker or spooler process (after fork, after a lazy app load)."""
    from satrap.uwsgi_api import signals
    from satrap.uwsgi_api.state import state

    if "uwsgi" not in sys.modules or state.cfg is None:
        return  # install() did not run (embedded use): nothing to start
    state.role = role
    state.wid = wid if role == "worker" else 0
    state.spooler_index = spooler_index
    if master_pid is not None:
        state.master_pid = master_pid
        state.has_master = True
    else:
        state.master_pid = 0
        state.has_master = False
    # postfork first (apps reconnect databases there, timers may need them); a timer registered
    # by a postfork function is still an import-time one: only its owner process runs it
    _run_post_fork_hooks(f"worker {wid}" if role == "worker" else f"spooler {spooler_index}")
    signals.start_process(role)
    state.phase = "running"


def worker_started(cfg: Any, wid: int, master_pid: int | None) -> None:
    process_started("worker", wid, master_pid)


def bind_worker_context(ctx: Any) -> None:
    """Optional hook for the worker (call after ``make_context``): ``uwsgi.request_id()`` then reads
    ``ctx.requests`` directly instead of finding the context once by a heap scan."""
    import os

    from satrap.uwsgi_api import uwsgi_module

    uwsgi_module._ctx_ref[:] = [os.getpid(), ctx]


def worker_exiting() -> None:
    """Optional hook for the worker's last moments (a graceful exit): runs ``uwsgi.atexit``."""
    from satrap.uwsgi_api import uwsgi_module

    func = getattr(uwsgi_module, "atexit", None)
    if callable(func):
        try:
            func()
        except Exception:  # noqa: BLE001 - the app's atexit failing is logged, the exit goes on
            log(f"satrap: uwsgi.atexit raised:\n{traceback.format_exc().rstrip()}")
