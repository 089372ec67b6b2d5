"""A worker process from birth to exit: signals, title, lazy app load, the loop, the exit code.

Used after ``fork()`` by the master, and in-process when satrap runs without a master.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from satrap.app import invoke
from satrap.errors import AppLoadError, ExitCode
from satrap.log import log
from satrap.net.listeners import Listener
from satrap.proctitle import set_title
from satrap.protocol.http11 import Limits
from satrap.scoreboard import Scoreboard
from satrap.worker.allow import allow_list
from satrap.worker.context import CHILD_SIGNALS, WorkerContext
from satrap.worker.loop import WorkerLoop

# imported here, before fork, like every module a worker needs (the offload engine only when the
# routing layer can hand a response to it: see offload_module): a module first imported in a
# worker after fork rewrites shared interpreter tables (interned strings) and costs each worker
# megabytes of private memory
from satrap.worker.reqlog import RequestLog


def offload_module(cfg: Any) -> Any:
    """satrap.worker.offload when route rules are configured (only their sse actions offload a
    response), else None. Asked in the master when it loads the app, so the module is imported
    before fork, and again in each worker to install the engine."""
    from satrap.config.model import category_given

    if not category_given(cfg, "routing"):
        return None
    from satrap.worker import offload

    return offload


def load_app_or_report(cfg: Any) -> tuple[Callable[..., Any] | None, int]:
    """Load the app; on failure log why. Returns (app, exit code to use or 0 to go on)."""
    from satrap.app.loader import load_app
    from satrap.hooks import run_phase

    offload_module(cfg)  # imported here, before fork, when the routing layer may need it
    run_phase(cfg, "pre-app")
    started = time.monotonic()
    try:
        app = load_app(cfg)
    except AppLoadError as err:
        if err.detail:
            sys.stderr.write(err.detail if err.detail.endswith("\n") else err.detail + "\n")
        log(f"satrap: {err}")
        if cfg.need_app:
            log("satrap: need-app is set and the app did not load: exiting (status 22)")
            return None, int(ExitCode.APP_LOAD)
        log("*** no app loaded: every request will get a 500 (set need-app to exit instead) ***")
        return None, 0
    if app is None:
        from satrap.app.pipeline import cgi_configured

        if cgi_configured(cfg):  # uWSGI's cgi plugin alone: every request runs a CGI script
            from satrap.app.pipeline import wrap

            log("no WSGI app configured: every request goes to the CGI gateway")
            run_phase(cfg, "post-app")
            return wrap(cfg, None), 0
        if cfg.need_app:
            log("satrap: need-app is set but no app is configured (module, wsgi-file or mount): exiting")
            return None, int(ExitCode.APP_LOAD)
        log("*** no app configured: every request will get a 500 (give --module or --wsgi-file) ***")
        return None, 0
    log(f"WSGI app 0 (mountpoint='') ready in {int(time.monotonic() - started)} seconds "
        f"on interpreter satrap pid: {os.getpid()} (default app)")
    from satrap.app.pipeline import wrap

    run_phase(cfg, "post-app")
    return wrap(cfg, app), 0


def make_context(cfg: Any, app: Any, wid: int, scoreboard: Scoreboard | None) -> WorkerContext:
    keepalive = float(cfg.http_keepalive) if _is_number(cfg.http_keepalive) and float(cfg.http_keepalive) > 1 else 5.0
    allow = allow_list(getattr(cfg, "uwsgi_allow", None) or [])
    from satrap.app.pipeline import modifier1_apps

    by_modifier = modifier1_apps(cfg, app)
    if 9 in by_modifier:  # CGI (modifier1 9): its scripts are reaped by the request, not by a handler
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # (a master's handler is inherited at fork)
        app = by_modifier.get(int(getattr(cfg, "http_socket_modifier1", 0) or 0), app)
    return WorkerContext(
        app=app,
        by_modifier=by_modifier,
        wid=wid,
        pid=os.getpid(),
        limits=Limits(max_head=int(cfg.buffer_size), limit_post=int(cfg.limit_post or 0)),
        reqlog=RequestLog(not cfg.disable_logging, cfg, wid=wid),
        slot=scoreboard.writer(wid) if scoreboard is not None else None,
        socket_timeout=float(cfg.socket_timeout or 4),
        keepalive_timeout=keepalive,
        buffer_size=int(cfg.buffer_size),
        dynamic_apps=bool(getattr(cfg, "dynamic_apps", False)),
        uwsgi_allow=allow,
        max_requests=int(cfg.max_requests or 0),
        harakiri_alarm=0,
    )


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def start_autoreloader(interval: int, master_pid: int) -> None:
    """``py-autoreload``: watch the files of every imported module; on a change ask the master
    for a graceful reload (as uWSGI's python reloader does)."""

    def files() -> dict[str, float]:
        seen: dict[str, float] = {}
        for mod in list(sys.modules.values()):
            path = getattr(mod, "__file__", None)
            if path and not path.startswith(sys.base_prefix):
                try:
                    seen[path] = os.stat(path).st_mtime
                except OSError:
                    pass
        return seen

    def watch() -> None:
        known = files()
        while True:
            time.sleep(interval)
            for path, mtime in files().items():
                old = known.get(path)
                if old is not None and old != mtime:
                    log(f"[satrap-python-reloader] module/file {path} has been modified")
                    os.kill(master_pid, signal.SIGHUP)
                    return
                known[path] = mtime

    threading.Thread(target=watch, daemon=True, name="satrap-autoreload").start()


def run_worker(cfg: Any, listeners: list[Listener], wid: int, app: Any, lazy: bool,
               scoreboard: Scoreboard | None, master_pid: int | None) -> int:
    """Body of a worker; returns its exit status."""
    set_title(cfg, f"worker {wid}")
    from satrap.hooks import run_phase
    from satrap.uwsgi_api import worker_started

    if lazy:
        app, code = load_app_or_report(cfg)
        if code:
            return code
    run_phase(cfg, "post-fork")
    worker_started(cfg, wid, master_pid)
    ctx = make_context(cfg, app, wid, scoreboard)
    from satrap.uwsgi_api import bind_worker_context, worker_exiting

    bind_worker_context(ctx)
    offload = offload_module(cfg)
    if offload is not None:  # offload-threads: started only when a response is offloaded
        offload.install(cfg, ctx.slot)
    invoke.send_timeout = ctx.socket_timeout  # how long a file body waits for a stuck client
    processes = int(cfg.processes or 1)
    loop = WorkerLoop(ctx, listeners, int(cfg.threads or 1), processes, master_pid,
                      float(cfg.min_worker_lifetime or 0), int(cfg.reload_on_rss or 0))
    log_file = cfg.logto or cfg.logto2 or cfg.daemonize
    if log_file:
        loop.log_path = os.path.abspath(log_file) if os.path.isabs(log_file) else None
        if loop.log_path is None:  # relative to where satrap started, before any chdir
            loop.log_path = os.path.join(os.environ.get("SATRAP__START_CWD", os.getcwd()), log_file)
    if master_pid is not None:
        # the master decides: Ctrl-C reaches the whole process group, but only the master acts.
        # SIGTERM is graceful here too: systemd (KillMode=control-group) and `timeout` send it to
        # every process at once, and a worker must still finish its in-flight requests then.
        loop.install_signals(graceful=(signal.SIGHUP, signal.SIGTERM), quick=(signal.SIGQUIT,),
                             ignored=(signal.SIGINT, signal.SIGTTIN, signal.SIGTTOU, signal.SIGUSR1,
                                      signal.SIGTSTP, signal.SIGWINCH))
        if cfg.py_autoreload and wid == 1:
            start_autoreloader(int(cfg.py_autoreload), master_pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, CHILD_SIGNALS)  # blocked by the master at fork
    else:
        _install_single_signals(loop, int(cfg.worker_reload_mercy or 60))
    if (scoreboard is not None and processes > 1 and int(cfg.threads or 1) == 1 and ctx.slot is not None
            and all(lst.sock.family != socket.AF_UNIX for lst in listeners)):
        loop.peers = scoreboard.peers(wid, processes)  # share keep-alive connections fairly
    loop.on_accepting = lambda: run_phase(cfg, "accepting")
    code = loop.run()
    if not loop.quick_exit:
        worker_exiting()  # the app's uwsgi.atexit, after a graceful stop
    return code


def _install_single_signals(loop: WorkerLoop, mercy: int) -> None:
    """Without a master the one process is its own supervisor: a stop signal finishes in-flight
    requests within the mercy; a second one (or the mercy running out) ends it at once."""

    def graceful(signum: int, frame: object) -> None:
        if loop.ctx.stopping:
            os._exit(int(ExitCode.WORKER_KILLED))
        log(f"signal {signal.Signals(signum).name} received: finishing in-flight requests "
            f"(at most {mercy} s), then exiting")
        loop.ctx.stopping = True
        signal.signal(signal.SIGALRM, lambda s, f: os._exit(int(ExitCode.WORKER_KILLED)))
        signal.alarm(max(1, mercy))

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, graceful)
    signal.signal(signal.SIGQUIT, lambda s, f: os._exit(int(ExitCode.WORKER_KILLED)))
