"""The ``uwsgi`` module apps import inside satrap (registered as ``sys.modules['uwsgi']``).

Names and behaviour follow uWSGI 2.0's Python API (see docs/uwsgi-api.md for what differs).
Anything of uWSGI's API satrap does not provide raises :class:`NotProvided` — both a
``NotImplementedError`` (a clear message naming the function) and an ``AttributeError`` (so
``hasattr(uwsgi, "x")`` and ``getattr(uwsgi, "x", None)`` feature checks keep working).
"""

from __future__ import annotations

import os
import signal as _signal
import socket as _socket
import threading
from collections.abc import Callable
from typing import Any

from satrap import UWSGI_COMPAT_VERSION
from satrap.log import log as _log
from satrap.uwsgi_api import locks as _locks_mod
from satrap.uwsgi_api import signals as _signals
from satrap.uwsgi_api import spoolfile as _spoolfile
from satrap.uwsgi_api.cache import SharedCache, open_cache
from satrap.uwsgi_api.state import state as _state


class NotProvided(AttributeError, NotImplementedError):
    """A uWSGI API name satrap does not provide."""


SPOOL_OK = -2
SPOOL_RETRY = -1
SPOOL_IGNORE = 0

version = UWSGI_COMPAT_VERSION.encode()
version_info = tuple(int(p) for p in UWSGI_COMPAT_VERSION.split(".")) + (0, "")
hostname = _socket.gethostname().encode()
opt: dict[str, Any] = {}
numproc = 1
started_on = 0
buffer_size = 4096
cores = 1
has_threads = 1
magic_table: dict[str, str] = {}
applications = None
# set by the app (or by uwsgidecorators); satrap calls them
spooler: Callable[[dict[Any, Any]], Any] | None = None
post_fork_hook: Callable[[], Any] | None = None
atexit: Callable[[], Any] | None = None  # accepted; see docs/uwsgi-api.md

_cache: SharedCache | None = None
_locks: _locks_mod.LockSet | None = None
_logvars = threading.local()


def _configure(cfg: Any) -> None:
    """Called by :func:`satrap.uwsgi_api.install` in the master before the app is imported."""
    global opt, numproc, started_on, buffer_size, cores, _cache, _locks
    opt = _export_options(cfg)
    numproc = _state.numproc
    started_on = _state.started_on
    buffer_size = int(getattr(cfg, "buffer_size", 4096) or 4096)
    cores = int(getattr(cfg, "threads", 1) or 1)
    _cache = open_cache(_state.api_dir)
    _locks = _locks_mod.LockSet(_state.api_dir)


def _export_value(value: Any) -> Any:
    if value is True:
        return True
    if value is False:
        return b"false"
    return str(value).encode()


def _export_options(cfg: Any) -> dict[str, Any]:
    """uWSGI's ``uwsgi.opt``: str keys, bytes values (True for bare flags), a list when repeated."""
    out: dict[str, Any] = {}
    items = cfg.items() if hasattr(cfg, "items") else []
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            values = [_export_value(v) for v in value]
            if not values:
                continue
            out[name] = values[0] if len(values) == 1 else values
        else:
            out[name] = _export_value(value)
    for name, value in (getattr(cfg, "placeholders", None) or {}).items():
        out.setdefault(name, _export_value(value))
    return out


# -- process identity ---------------------------------------------------------------------------
def worker_id() -> int:
    return _state.wid


def masterpid() -> int:
    return _state.master_pid


def i_am_the_spooler() -> bool:
    return _state.role == "spooler"


def mem() -> tuple[int, int]:
    """(rss, vsz) of this process, in bytes."""
    try:
        with open("/proc/self/statm", "rb") as f:
            fields = f.read().split()
        page = os.sysconf("SC_PAGE_SIZE")
        return int(fields[1]) * page, int(fields[0]) * page
    except (OSError, ValueError, IndexError):
        return 0, 0


_ctx_ref: list[Any] = []


def _worker_context() -> Any:
    """The worker's request counters: the worker binds its context here at start
    (``satrap.uwsgi_api.bind_worker_context``); anything else has none."""
    if _ctx_ref and _ctx_ref[0] == os.getpid():
        return _ctx_ref[1]
    return None


def request_id() -> int:
    """Requests this worker has completed (uWSGI's per-worker counter); best effort."""
    ctx = _worker_context()
    return int(getattr(ctx, "requests", 0)) if ctx is not None else 0


def setprocname(name: Any) -> None:
    try:
        from setproctitle import setproctitle

        setproctitle(name.decode() if isinstance(name, bytes) else str(name))
    except ImportError:
        pass


# -- control ------------------------------------------------------------------------------------
def reload() -> bool:
    """Ask the master for a graceful reload (as SIGHUP / ``--reload``)."""
    if not _state.master_pid:
        _log("satrap: uwsgi.reload() without a master process: nothing to reload")
        return False
    os.kill(_state.master_pid, _signal.SIGHUP)
    return True


def stop() -> bool:
    """Ask the master for a graceful shutdown (in-flight requests finish)."""
    if not _state.master_pid:
        os.kill(os.getpid(), _signal.SIGINT)
        return True
    os.kill(_state.master_pid, _signal.SIGINT)
    return True


def accepting(accepting: bool = True) -> None:
    """uWSGI marks the worker ready; satrap's workers report readiness themselves."""
    return


def log(message: Any) -> bool:
    _log(message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message))
    return True


def set_logvar(key: Any, value: Any) -> None:
    """Stored per request thread until the request log line takes them (``%(key)`` in
    ``log-format``, as uWSGI's user logvars)."""
    store = getattr(_logvars, "vars", None)
    if store is None:
        store = _logvars.vars = {}
    store[key.decode() if isinstance(key, bytes) else str(key)] = \
        value.decode() if isinstance(value, bytes) else str(value)


def take_logvars() -> dict[str, str]:
    """This thread's logvars, removed: the request log takes them once per request, so values
    never leak into the next request's line."""
    return _logvars.__dict__.pop("vars", None) or {}


def get_logvar(key: Any) -> str | None:
    store = getattr(_logvars, "vars", None) or {}
    return store.get(key.decode() if isinstance(key, bytes) else str(key))


_harakiri_timers = threading.local()


def set_user_harakiri(seconds: int) -> None:
    """Kill this process (the master respawns it) if the running code is still busy after
    ``seconds``; 0 cancels. Per thread."""
    timer = getattr(_harakiri_timers, "timer", None)
    if timer is not None:
        timer.cancel()
        _harakiri_timers.timer = None
    if seconds and int(seconds) > 0:
        pid = os.getpid()
        who = f"worker {_state.wid}" if _state.role == "worker" else _state.role

        def kill() -> None:
            _log(f"*** HARAKIRI (user) ON {who.upper()} (pid: {pid}) after {int(seconds)} seconds ***")
            os.kill(pid, _signal.SIGKILL)

        timer = threading.Timer(int(seconds), kill)
        timer.daemon = True
        timer.start()
        _harakiri_timers.timer = timer


# -- cache --------------------------------------------------------------------------------------
def _c() -> SharedCache:
    assert _cache is not None, "satrap.uwsgi_api.install() was not called"
    return _cache


def cache_get(key: Any, cache_name: Any = None) -> bytes | None:
    return _c().get(key, cache_name)


def cache_set(key: Any, value: Any, expires: int = 0, cache_name: Any = None) -> bool | None:
    return True if _c().set(key, value, expires, cache_name) else None


def cache_update(key: Any, value: Any, expires: int = 0, cache_name: Any = None) -> bool:
    return _c().update(key, value, expires, cache_name)


def cache_del(key: Any, cache_name: Any = None) -> bool | None:
    return True if _c().delete(key, cache_name) else None


def cache_exists(key: Any, cache_name: Any = None) -> bool:
    return _c().exists(key, cache_name)


def cache_clear(cache_name: Any = None) -> bool:
    return _c().clear(cache_name)


def cache_keys(cache_name: Any = None) -> list[bytes]:
    return _c().keys(cache_name)


def cache_inc(key: Any, value: int = 1, expires: int = 0, cache_name: Any = None) -> bool:
    return _c().math(key, int(value), "inc", expires, cache_name)


def cache_dec(key: Any, value: int = 1, expires: int = 0, cache_name: Any = None) -> bool:
    return _c().math(key, int(value), "dec", expires, cache_name)


def cache_mul(key: Any, value: int = 2, expires: int = 0, cache_name: Any = None) -> bool:
    return _c().math(key, int(value), "mul", expires, cache_name)


def cache_div(key: Any, value: int = 2, expires: int = 0, cache_name: Any = None) -> bool:
    return _c().math(key, int(value), "div", expires, cache_name)


def cache_num(key: Any, cache_name: Any = None) -> int:
    return _c().num(key, cache_name)


# -- locks --------------------------------------------------------------------------------------
def _l() -> _locks_mod.LockSet:
    assert _locks is not None, "satrap.uwsgi_api.install() was not called"
    return _locks


def lock(num: int = 0) -> None:
    _l().lock(num)


def unlock(num: int = 0) -> None:
    _l().unlock(num)


def is_locked(num: int = 0) -> bool:
    return _l().is_locked(num)


# -- signals ------------------------------------------------------------------------------------
def register_signal(signum: int, who: Any, handler: Callable[[int], Any]) -> None:
    _signals.register_signal(signum, who, handler)


def signal_registered(signum: int) -> bool:
    return _signals.signal_registered(signum)


def signal(signum: int, remote: Any = None) -> None:
    if remote:
        raise NotProvided("uwsgi.signal() to a remote instance is not provided by satrap yet")
    _signals.deliver(signum)


def add_timer(signum: int, seconds: float) -> None:
    _signals.add_source("timer", signum, seconds)


def add_rb_timer(signum: int, seconds: float, iterations: int = 0) -> None:
    _signals.add_source("rbtimer", signum, seconds, iterations)


def add_ms_timer(signum: int, milliseconds: int) -> None:
    _signals.add_source("timer", signum, int(milliseconds) / 1000.0)


def add_cron(signum: int, minute: int, hour: int, day: int, month: int, weekday: int) -> bool:
    _signals.add_source("cron", signum, minute, hour, day, month, weekday)
    return True


def add_file_monitor(signum: int, path: Any) -> None:
    _signals.add_source("filemon", signum, path.decode() if isinstance(path, bytes) else str(path))


# -- spooler ------------------------------------------------------------------------------------
def _spooler_dir(args: dict[Any, Any]) -> str:
    if not _state.spoolers:
        raise ValueError("uwsgi.spool(): no spooler is configured (add spooler = DIR to the config)")
    wanted = args.get("spooler", args.get(b"spooler"))
    if wanted is None:
        return _state.spoolers[0]
    path = os.path.abspath(wanted.decode() if isinstance(wanted, bytes) else str(wanted))
    if path not in _state.spoolers:
        raise ValueError(f"uwsgi.spool(): {path} is not one of this instance's spoolers "
                         f"({', '.join(_state.spoolers)})")
    return path


def spool(*args: Any, **kwargs: Any) -> bytes:
    """Queue a task (a dict of strings) for the spooler; returns the spool file's path."""
    task: dict[Any, Any] = {}
    for arg in args:
        if not isinstance(arg, dict):
            raise TypeError("uwsgi.spool() takes a dict and/or keyword arguments")
        task.update(arg)
    task.update(kwargs)
    directory = _spooler_dir(task)
    return _spoolfile.write_task(directory, task).encode()


send_to_spooler = spool


def _pid_file(index: int) -> str:
    return os.path.join(_state.api_dir, f"spooler.{index}.pid")


def spooler_pids() -> list[int]:
    pids = []
    for index in range(1, len(_state.spoolers) + 1):
        try:
            with open(_pid_file(index)) as f:
                pid = int(f.read().strip() or 0)
            os.kill(pid, 0)
        except (OSError, ValueError):
            continue
        pids.append(pid)
    return pids


def spooler_pid() -> int:
    pids = spooler_pids()
    return pids[0] if pids else 0


def spooler_jobs() -> list[bytes]:
    jobs: list[bytes] = []
    for directory in _state.spoolers:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        jobs.extend(os.path.join(directory, n).encode() for n in names if n.startswith(_spoolfile.PREFIX))
    return jobs


def spooler_get_task(path: Any) -> dict[Any, Any] | None:
    from satrap.uwsgi_api.spooler import task_dict

    p = path.decode() if isinstance(path, bytes) else str(path)
    try:
        with open(p, "rb") as f:
            data = f.read()
        items, body = _spoolfile.decode(data)
    except (OSError, ValueError):
        return None
    return task_dict(p, items, body)


# -- everything else -----------------------------------------------------------------------------
_KNOWN_MISSING = {
    # a few common ones get a hint; any other missing name gets the generic message
    "mule_msg": "mules are not implemented; use the spooler or a thread",
    "mule_get_msg": "mules are not implemented",
    "mule_id": "mules are not implemented",
    "sharedarea_read": "shared areas are not implemented; use uwsgi.cache_*",
    "sharedarea_write": "shared areas are not implemented; use uwsgi.cache_*",
    "queue_push": "the queue framework is not implemented; use uwsgi.cache_* or the spooler",
    "queue_pop": "the queue framework is not implemented; use uwsgi.cache_* or the spooler",
    "rpc": "RPC is not implemented",
    "register_rpc": "RPC is not implemented",
    "websocket_handshake": "websockets are not implemented",
    "websocket_recv": "websockets are not implemented",
    "websocket_send": "websockets are not implemented",
    "async_sleep": "async modes are not implemented",
    "suspend": "async modes are not implemented",
    "farm_msg": "mule farms are not implemented",
    "chunked_read": "use wsgi.input (satrap de-chunks request bodies)",
    "sendfile": "return a wsgi.file_wrapper instead",
    "route": "internal routing from Python is not implemented",
}


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    hint = _KNOWN_MISSING.get(name)
    message = f"uwsgi.{name}() is not provided by satrap yet"
    if hint:
        message += f" ({hint})"
    raise NotProvided(message)


def __dir__() -> list[str]:
    return sorted(n for n in globals() if not n.startswith("_"))

