"""The body of the "http N" router process (forked by the master, respawned when it dies).

The master forks the router with signals reset to defaults and the client-facing listening
sockets bound; the workers listen on ``upstream`` (uwsgi protocol). Signals, as for a worker:
SIGHUP and SIGTERM are a graceful stop (finish in-flight requests, close idle keep-alive
connections), SIGQUIT and SIGINT a quick one. uvloop is used when installed unless
``SATRAP_NO_UVLOOP`` is set; it makes little difference since the connections' sockets are
polled by the router's own epoll (one reader in the loop, see :mod:`satrap.router.server`).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Any

from satrap.log import log
from satrap.net.listeners import Listener
from satrap.proctitle import set_title
from satrap.router.server import Router, describe
from satrap.router.settings import RouterSettings
from satrap.router.upstream import Upstream


def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[bool], object]) -> None:
    """The signals of a gateway process (the ``--http`` router, the fastrouter), as uWSGI's:
    SIGHUP/SIGTERM stop gracefully, SIGQUIT/SIGINT at once; a vanished peer is a failed send,
    never a SIGPIPE."""
    for sig in (signal.SIGHUP, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, True)
    for sig in (signal.SIGQUIT, signal.SIGINT):
        loop.add_signal_handler(sig, stop, False)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (and not disabled), else asyncio's own."""
    if not os.environ.get("SATRAP_NO_UVLOOP"):
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_router(cfg: Any, listeners: list[Listener], upstream: str, index: int) -> int:
    """Serve HTTP clients on ``listeners``, forwarding each request to ``upstream``. Returns the
    process exit code (0 after a stop)."""
    set_title(cfg, f"http {index}")
    parent = os.getppid()
    settings = RouterSettings.from_config(cfg)
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        router = Router(loop, settings, listeners, Upstream(upstream), parent)
        stop_on_signals(loop, router.stop)
        router.start()
        log(f"{describe(listeners, upstream)} (pid {os.getpid()}, "
            f"{type(loop).__module__.split('.')[0]} loop, "
            f"max {settings.max_connections} connections)")
        code = loop.run_until_complete(router.done)
        loop.run_until_complete(router.close_all())
        router.close()
        return code
    finally:
        loop.close()
        asyncio.set_event_loop(None)
