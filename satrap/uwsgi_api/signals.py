"""uWSGI signals, timers, crons and file monitors, run by satrap's workers (and spoolers).

uWSGI keeps timers in the master, which raises a numbered signal; the process named by the
handler's target runs the handler between requests. satrap's master knows nothing of this, so:

- a registration made while the app is imported (in the master before fork, or in each worker
  with lazy-apps) is *owned* by one process: worker 1 (or spooler 1 for ``target='spooler'``).
  The owner runs the timer/cron/file-monitor thread; every other process ignores it, so a timer
  fires once per period however many workers there are. A registration made later (during a
  request) is owned by the process that made it;
- when a timer fires, the owner runs the handler itself if it is the target, else it sends the
  signal number as a datagram to each target process's abstract unix socket
  (``@satrap-<instance>-w<wid>`` / ``-s<index>``); every worker and spooler listens on its own
  socket in a daemon thread and runs the handler there;
- targets: ``''``/``worker`` = the first worker (worker 1), ``workers``/``active-workers`` = all,
  ``workerN``, ``spooler``/``spoolers``; mules do not exist in satrap, so ``mule*``/``farm*``
  targets run in worker 1 (logged once).

Handlers run in a thread of the target process, concurrently with requests (uWSGI runs them
between requests in the main loop).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from satrap.log import log
from satrap.uwsgi_api.state import state

MAX_SIGNAL = 256


@dataclass
class Handler:
    func: Callable[[int], Any]
    target: str


@dataclass
class Source:
    """A timer, red-black timer, cron entry or file monitor raising ``signum``."""

    kind: str  # timer | rbtimer | cron | filemon
    signum: int
    args: tuple[Any, ...]
    owner: str = ""  # "" = decided at start (import-time registration); else "w<wid>" / "s<index>"
    started: bool = field(default=False, compare=False)


handlers: dict[int, Handler] = {}
sources: list[Source] = []
_warned_mules = False
_listener_started = ""


def _me() -> str:
    if state.role == "worker":
        return f"w{state.wid}"
    if state.role == "spooler":
        return f"s{state.spooler_index}"
    return "m"


def _normalise_target(target: Any) -> str:
    global _warned_mules
    if isinstance(target, bytes):
        target = target.decode()
    text = str(target or "").strip().lower()
    if text.startswith(("mule", "farm")):
        if not _warned_mules:
            _warned_mules = True
            log(f"satrap: uWSGI signal target {text!r}: satrap has no mules; the handler runs in worker 1")
        return "worker"
    if text in ("spooler", "spoolers") and not state.spoolers:
        log(f"satrap: uWSGI signal target {text!r} but no spooler is configured; the handler runs in worker 1")
        return "worker"
    return text


def _targets(target: str) -> list[str]:
    """Process ids ("w1", "s1") a handler with this target runs in."""
    if target in ("", "worker", "workers1"):
        return ["w1"]
    if target in ("workers", "active-workers"):
        return [f"w{i}" for i in range(1, state.numproc + 1)]
    if target.startswith("worker") and target[6:].isdigit():
        return [f"w{int(target[6:])}"]
    if target == "spooler":
        return ["s1"]
    if target == "spoolers":
        return [f"s{i}" for i in range(1, len(state.spoolers) + 1)]
    return ["w1"]


def _address(proc: str) -> str:
    return f"\0satrap-{state.token}-{proc}"


# -- registration ------------------------------------------------------------------------------
def register_signal(signum: int, target: Any, func: Callable[[int], Any]) -> None:
    signum = _check(signum)
    if not callable(func):
        raise TypeError("uwsgi.register_signal(): the handler must be callable")
    handlers[signum] = Handler(func, _normalise_target(target))
    from satrap.uwsgi_api.state import state

    if state.phase == "running":
        _listen()  # registered after start: this process must now hear signals too


def signal_registered(signum: int) -> bool:
    return _check(signum) in handlers


def free_signal() -> int:
    for signum in range(MAX_SIGNAL):
        if signum not in handlers:
            return signum
    raise RuntimeError("no free uwsgi signal available (all 256 are registered)")


def _check(signum: Any) -> int:
    if not isinstance(signum, int) or not 0 <= signum < MAX_SIGNAL:
        raise ValueError(f"invalid uwsgi signal number: {signum!r} (0-255)")
    return signum


def add_source(kind: str, signum: int, *args: Any) -> None:
    src = Source(kind, _check(signum), args)
    if state.phase == "running":
        src.owner = _me()  # registered at run time: this process runs it
    sources.append(src)
    if state.phase == "running":
        _start_source(src)


# -- delivery ----------------------------------------------------------------------------------
def _run_handler(signum: int) -> None:
    handler = handlers.get(signum)
    if handler is None:
        return
    try:
        handler.func(signum)
    except Exception:  # noqa: BLE001 - the app's handler failing is logged, the worker goes on
        log(f"satrap: uwsgi signal {signum} handler raised:\n{traceback.format_exc().rstrip()}")


def deliver(signum: int) -> None:
    """Raise ``signum``: run its handler in every process its target names."""
    signum = _check(signum)
    handler = handlers.get(signum)
    if handler is None:
        # registered elsewhere (at run time in another process): let every process decide
        procs = [f"w{i}" for i in range(1, state.numproc + 1)] + \
                [f"s{i}" for i in range(1, len(state.spoolers) + 1)]
    else:
        procs = _targets(handler.target)
    me = _me()
    remote = [p for p in procs if p != me]
    if remote:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            for proc in remote:
                try:
                    sock.sendto(str(signum).encode(), _address(proc))
                except OSError:
                    pass  # that process is not running (respawning, cheap mode)
    if me in procs and handler is not None:
        _run_handler(signum)


def _listen() -> None:
    """Each worker/spooler receives signals raised by other processes on its own socket."""
    global _listener_started
    me = _me()
    if _listener_started == f"{os.getpid()}":
        return
    _listener_started = f"{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(_address(me))
    except OSError:
        # a previous incarnation of this worker id may still hold the name (graceful reload):
        # keep trying in the background until it is gone
        pass
    else:
        _spawn(lambda: _receive(sock), f"satrap-signals-{me}")
        return

    def retry() -> None:
        while True:
            time.sleep(0.5)
            try:
                sock.bind(_address(me))
            except OSError:
                continue
            _receive(sock)
            return

    _spawn(retry, f"satrap-signals-{me}")


def _receive(sock: socket.socket) -> None:
    while True:
        try:
            data = sock.recv(64)
        except OSError:
            time.sleep(0.1)
            continue
        try:
            signum = int(data)
        except ValueError:
            continue
        handler = handlers.get(signum)
        if handler is not None and _me() in _targets(handler.target):
            _run_handler(signum)


def _spawn(target: Callable[[], None], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


# -- timers, crons, file monitors ------------------------------------------------------------
def _start_source(src: Source) -> None:
    if src.started:
        return
    src.started = True
    if src.kind in ("timer", "rbtimer"):
        seconds = max(float(src.args[0]), 0.001)
        iterations = int(src.args[1]) if len(src.args) > 1 and src.args[1] else 0
        _spawn(lambda: _timer_loop(src.signum, seconds, iterations), f"satrap-timer-{src.signum}")
    elif src.kind == "cron":
        _spawn(lambda: _cron_loop(src.signum, src.args), f"satrap-cron-{src.signum}")
    elif src.kind == "filemon":
        _spawn(lambda: _filemon_loop(src.signum, str(src.args[0])), f"satrap-filemon-{src.signum}")


def _timer_loop(signum: int, seconds: float, iterations: int) -> None:
    next_at = time.monotonic() + seconds
    fired = 0
    while not iterations or fired < iterations:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        next_at += seconds
        if next_at < time.monotonic():  # a long handler: do not fire a burst to catch up
            next_at = time.monotonic() + seconds
        deliver(signum)
        fired += 1


def cron_matches(fields: tuple[int, ...], tm: time.struct_time) -> bool:
    """uWSGI cron fields: minute, hour, day, month, weekday (0 = Sunday); -1 = any, -N = every N."""
    values = (tm.tm_min, tm.tm_hour, tm.tm_mday, tm.tm_mon, (tm.tm_wday + 1) % 7)
    for want, have, index in zip(fields, values, range(5)):
        want = int(want)
        if want == -1:
            continue
        if want < -1:
            if have % -want:
                return False
            continue
        if index == 4 and want == 7:
            want = 0
        if want != have:
            return False
    return True


def _cron_loop(signum: int, fields: tuple[int, ...]) -> None:
    last = -1
    while True:
        now = time.time()
        minute = int(now // 60)
        if minute != last:
            last = minute
            if cron_matches(tuple(fields), time.localtime(now)):
                deliver(signum)
        time.sleep(max(0.05, 60 - now % 60 + 0.01))


def _fingerprint(path: str) -> tuple[float, float, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime, st.st_ctime, st.st_size, st.st_ino)


def _filemon_loop(signum: int, path: str) -> None:
    known = _fingerprint(path)
    while True:
        time.sleep(0.5)
        now = _fingerprint(path)
        if now != known:
            known = now
            deliver(signum)


def start_process(role: str) -> None:
    """After fork (``worker_started`` / the spooler): listen for signals, start owned sources."""
    me = _me()
    if handlers:
        _listen()  # no thread (and no socket) in a process whose app uses no uwsgi signals
    for src in sources:
        if not src.owner:
            handler = handlers.get(src.signum)
            target = handler.target if handler else ""
            owner = "s1" if target in ("spooler", "spoolers") else "w1"
            src.owner = owner
        if src.owner == me:
            src.started = False  # a fresh process: its threads were not inherited
            _start_source(src)
