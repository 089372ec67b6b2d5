"""The spooler process: runs the tasks queued in one spooler directory.

Forked by the master for each ``spooler = DIR`` (and respawned when it dies). It runs the
callables the app registered (``uwsgi.spooler``, ``@spool`` functions): they exist here because
the spooler is forked from the master after the app was loaded; with lazy-apps the master has no
app, so the spooler loads it itself. ``spooler-import`` modules are imported too.

Tasks are the files ``uwsgi_spoolfile_on_*`` in the directory, run in file-name order (creation
order for satrap's names). A new task starts within a fraction of a second (the directory is
checked every 0.25 s, where uWSGI waits for its next ``spooler-frequency`` scan or a wake-up); a
task answered ``SPOOL_RETRY`` (or that raised, or ``SPOOL_IGNORE``) is tried again after
``spooler-frequency`` seconds (default 30, as uWSGI); ``SPOOL_OK`` deletes it. A task file is
locked while it runs, so two spoolers on one directory (or an old and a new one across a reload)
never run the same task. SIGHUP/SIGTERM: finish the current task, then exit 0. SIGQUIT: exit at
once (the task's file stays and runs again later). Tasks are files, so they survive restarts
and crashes.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import runpy
import select
import signal
import stat
import sys
import time
import traceback
from typing import Any

from satrap.log import log
from satrap.uwsgi_api.spoolfile import PREFIX, decode

_POLL = 0.25


def task_dict(path: str, items: dict[bytes, bytes], body: bytes) -> dict[Any, Any]:
    """What ``uwsgi.spooler`` receives, as uWSGI 2.0 builds it under Python 3: the task's keys and
    values as bytes, plus ``'spooler_task_name'`` and ``'body'`` (str keys)."""
    env: dict[Any, Any] = dict(items)
    env["spooler_task_name"] = os.path.basename(path).encode()
    if body:
        env["body"] = body
    return env


class _Stop:
    requested = False
    quick = False


def _install_signals(wake_w: int) -> None:
    def graceful(signum: int, frame: object) -> None:
        _Stop.requested = True
        _poke(wake_w)

    def quick(signum: int, frame: object) -> None:
        os._exit(0)

    def wake(signum: int, frame: object) -> None:
        _poke(wake_w)

    signal.signal(signal.SIGHUP, graceful)
    signal.signal(signal.SIGTERM, graceful)
    signal.signal(signal.SIGQUIT, quick)
    signal.signal(signal.SIGUSR1, wake)  # uWSGI wakes its spoolers this way
    for sig in (signal.SIGINT, signal.SIGTTIN, signal.SIGTTOU, signal.SIGUSR2, signal.SIGWINCH, signal.SIGTSTP):
        try:
            signal.signal(sig, signal.SIG_IGN)  # the master decides; Ctrl-C reaches the whole group
        except (OSError, ValueError):
            pass


def _poke(fd: int) -> None:
    try:
        os.write(fd, b"x")
    except OSError:
        pass


def _load_functions(cfg: Any) -> None:
    """Make sure the app's spooler callables exist in this process."""
    from satrap.uwsgi_api import uwsgi_module as uwsgi  # what apps see as ``uwsgi``

    lazy = bool(getattr(cfg, "lazy_apps", False) or getattr(cfg, "lazy", False))
    for target in getattr(cfg, "spooler_import", None) or []:
        try:
            if target.endswith(".py") or os.sep in target:
                runpy.run_path(target, run_name=f"spooler_import_{os.path.basename(target)[:-3]}")
            else:
                importlib.import_module(target)
        except Exception:  # noqa: BLE001 - a failing spooler-import is logged, the spooler goes on
            log(f"satrap spooler: spooler-import {target} failed:\n{traceback.format_exc().rstrip()}")
    decorators = sys.modules.get("satrap.uwsgi_api.decorators_module")  # loaded once the app used it
    registry = getattr(decorators, "spooler_functions", None) or {}
    default = getattr(decorators, "manage_spool_request", None)
    if lazy and not registry and uwsgi.spooler in (None, default):
        from satrap.app.loader import load_app
        from satrap.errors import AppLoadError

        try:
            load_app(cfg)
        except AppLoadError as err:
            log(f"satrap spooler: the app could not be loaded, so its spooler functions are missing: {err}")


def run_spooler(cfg: Any, directory: str, index: int, master_pid: int | None) -> int:
    from satrap.proctitle import set_title
    from satrap.uwsgi_api import process_started
    from satrap.uwsgi_api.state import ensure_dir, state

    set_title(cfg, f"spooler {index}")
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    _Stop.requested = False
    _install_signals(wake_w)
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    except OSError:
        pass
    if state.api_dir:
        try:
            ensure_dir()
            with open(os.path.join(state.api_dir, f"spooler.{index}.pid"), "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError:
            pass
    if "uwsgi" in sys.modules:
        _load_functions(cfg)
        process_started("spooler", 0, master_pid, index)
    frequency = max(1, int(getattr(cfg, "spooler_frequency", 30) or 30))
    quiet = bool(getattr(cfg, "spooler_quiet", False))
    max_tasks = int(getattr(cfg, "spooler_max_tasks", 0) or 0)
    workdir = getattr(cfg, "spooler_chdir", None)
    runner = _Runner(directory, frequency, quiet, workdir)
    while not _Stop.requested:
        if master_pid and os.getppid() != master_pid:
            log(f"satrap spooler {directory}: the master is gone, exiting")
            return 0
        for name in runner.due():
            if _Stop.requested:
                break
            runner.run(name)
            if max_tasks and runner.tasks >= max_tasks:
                log(f"[spooler {directory} pid: {os.getpid()}] maximum number of tasks reached "
                    f"({max_tasks}) recycling ...")
                return 0
        if _Stop.requested:
            break
        try:
            select.select([wake_r], [], [], _POLL)
        except InterruptedError:
            pass
        try:
            while os.read(wake_r, 64):
                pass
        except OSError:
            pass
    return 0


class _Runner:
    def __init__(self, directory: str, frequency: int, quiet: bool, workdir: str | None) -> None:
        self.directory = directory
        self.frequency = frequency
        self.quiet = quiet
        self.workdir = workdir
        self.retry_at: dict[str, float] = {}
        self.tasks = 0

    def due(self) -> list[str]:
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.startswith(PREFIX))
        except OSError as exc:
            log(f"satrap spooler {self.directory}: cannot read the directory ({exc.strerror})")
            return []
        present = set(names)
        for gone in [n for n in self.retry_at if n not in present]:
            del self.retry_at[gone]
        now_mono, now = time.monotonic(), time.time()
        due = []
        for name in names:
            if self.retry_at.get(name, 0.0) > now_mono:
                continue
            try:
                st = os.lstat(os.path.join(self.directory, name))
            except OSError:
                continue
            if st.st_mtime > now:  # 'at': not before this time
                continue
            if not stat.S_ISREG(st.st_mode):  # regular files only
                continue
            due.append(name)
        return due

    def _later(self, name: str) -> None:
        self.retry_at[name] = time.monotonic() + self.frequency

    def run(self, name: str) -> None:
        from satrap.uwsgi_api import uwsgi_module as uwsgi

        path = os.path.join(self.directory, name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.retry_at[name] = time.monotonic() + 1.0  # another spooler runs it
                return
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    return  # done and replaced meanwhile
            except FileNotFoundError:
                return  # done by another spooler while we waited for the lock
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
            try:
                items, body = decode(data)
            except ValueError as exc:
                log(f"[spooler {self.directory} pid: {os.getpid()}] {name}: {exc}: removed")
                _unlink(path)
                return
            func = getattr(uwsgi, "spooler", None)
            if func is None:
                log("unable to find the spooler function, have you loaded it into the spooler process ?")
                self._later(name)
                return
            if not self.quiet:
                log(f"[spooler {self.directory} pid: {os.getpid()}] managing request {name} ...")
            started = time.monotonic()
            cwd = None
            if self.workdir:
                cwd = os.getcwd()
                try:
                    os.chdir(self.workdir)
                except OSError as exc:
                    log(f"satrap spooler: spooler-chdir {self.workdir}: {exc.strerror}")
            try:
                ret = func(task_dict(path, items, body))
            except Exception:  # noqa: BLE001 - the task's own error: logged and retried
                log(f"[spooler {self.directory} pid: {os.getpid()}] task {name} raised (it will be retried "
                    f"in {self.frequency} s):\n{traceback.format_exc().rstrip()}")
                ret = uwsgi.SPOOL_RETRY
            finally:
                if cwd is not None:
                    try:
                        os.chdir(cwd)
                    except OSError:
                        pass
            self.tasks += 1
            if ret == uwsgi.SPOOL_OK:
                _unlink(path)
                self.retry_at.pop(name, None)
                if not self.quiet:
                    log(f"[spooler {self.directory} pid: {os.getpid()}] done with task {name} after "
                        f"{int(time.monotonic() - started)} seconds")
            else:
                self._later(name)
        finally:
            os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
