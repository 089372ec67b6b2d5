"""uWSGI hooks (core/hooks.c): ``hook-<phase> = action:args``, ``exec-<phase> = shell command`` and
``call-<phase> = module.func``, run when the start reaches that phase.

Call sites: the cli (asap, as-user, pre-app, post-app, as-user-atexit), the master (master-start)
and each worker (post-fork; pre-app/post-app too with lazy-apps). ``pre-jail``/``post-jail`` run
right after ``asap`` (satrap has no jail, but uWSGI runs them without one too), and ``as-root`` runs
before ``as-user`` unless its own call site ran it first.

As in uWSGI, for each phase the ``hook-`` entries run first, then ``exec-``, then ``call-``; every
phase but ``as-user-atexit`` is *fatal*: a failing hook (an ``exec:`` with a non-zero status, a
``mkdir:`` that fails, a ``callret:`` returning non-zero ...) or a failing ``exec-`` command stops
the instance. In the process that started satrap that is a :class:`ConfigError` (one line, exit
status 2); in a forked worker the master is told to stop (SIGINT) and the worker exits.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from satrap.errors import ConfigError
from satrap.log import log

_MAIN_PID = os.getpid()
_done: set[str] = set()

#: phases run together with the call site named on the left
_ALSO = {"asap": ("pre-jail", "post-jail")}
_NOT_FATAL = frozenset({"as-user-atexit", "as-emperor", "as-on-demand-vassal", "emperor-stop",
                        "emperor-reload", "emperor-lost"})

#: the extra ``call-<phase>N`` options of the Emperor's phases, with the arguments each gets
#: (uWSGI passes C values; satrap passes Python str/int)
CALL_VARIANTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "as-emperor": (("call-as-emperor", ()), ("call-as-emperor1", ("name",)),
                   ("call-as-emperor2", ("name", "pid")), ("call-as-emperor4", ("name", "pid", "uid", "gid"))),
    "as-vassal": (("call-as-vassal", ()), ("call-as-vassal1", ("name",)),
                  ("call-as-vassal3", ("name", "uid", "gid"))),
}

#: uWSGI's signal-table symbols for ``unix_signal:N symbol`` -> the signal satrap's master
#: already understands for that behaviour
_SYMBOLS = {
    "gracefully_kill_them_all": signal.SIGINT,  # graceful shutdown in satrap
    "kill_them_all": signal.SIGQUIT,
    "grace_them_all": signal.SIGHUP,
    "reap_them_all": signal.SIGHUP,
    "uwsgi_reload": signal.SIGHUP,
    "end_me": signal.SIGQUIT,
}


class HookFailed(Exception):
    pass


def _values(cfg: Any, name: str) -> list[str]:
    try:
        value = cfg.get(name)
    except AttributeError:
        return []
    return [v for v in (value or []) if v is not None]


def has_hooks(cfg: Any, phase: str) -> bool:
    names = [f"{kind}-{phase}" for kind in ("hook", "exec", "call")]
    names += [name for name, _ in CALL_VARIANTS.get(phase, ())]
    return any(_values(cfg, name) for name in names)


def run_phase_for(cfg: Any, phase: str, *, about: str = "", env: dict[str, str] | None = None,
                  values: dict[str, Any] | None = None) -> bool:
    """Run an Emperor phase's hooks (``hook-``, ``exec-``, then each ``call-`` form); never raises.

    ``env`` is added to the environment of every command (``exec-`` and ``exec:``/``safeexec:``);
    ``values`` fills the arguments of the ``call-<phase>N`` forms. Each failure is logged as one line
    naming the phase (and ``about``, the vassal); every hook still runs. Returns True when all
    succeeded."""
    _done.add(phase)
    if not has_hooks(cfg, phase):
        return True
    where = f"{phase} for vassal {about}" if about else phase
    ok = True

    def attempt(what: str, action: Callable[[], None]) -> None:
        nonlocal ok
        try:
            action()
        except HookFailed as exc:
            ok = False
            log(f"{where} hook \"{what}\" failed: {exc}")

    for spec in _values(cfg, f"hook-{phase}"):
        attempt(spec, functools.partial(run_hook, spec, where, env=env))
    for command in _values(cfg, f"exec-{phase}"):
        attempt(command, functools.partial(_exec_checked, command, where, env=env))
    variants = CALL_VARIANTS.get(phase) or ((f"call-{phase}", ()),)
    for option, names in variants:
        args = tuple((values or {}).get(n) for n in names)
        for target in _values(cfg, option):
            attempt(target, functools.partial(_call, target, want_zero=False, args=args))
    return ok


def run_phase(cfg: Any, phase: str) -> None:
    """Run every hook configured for ``phase``; a failing fatal hook stops the instance."""
    if phase == "as-user" and "as-root" not in _done:
        _run_one(cfg, "as-root")
    _run_one(cfg, phase)
    for extra in _ALSO.get(phase, ()):
        _run_one(cfg, extra)


def _run_one(cfg: Any, phase: str) -> None:
    _done.add(phase)
    if not has_hooks(cfg, phase):
        return
    fatal = phase not in _NOT_FATAL
    for spec in _values(cfg, f"hook-{phase}"):
        _guard(phase, spec, fatal, functools.partial(run_hook, spec, phase))
    for command in _values(cfg, f"exec-{phase}"):
        _guard(phase, command, fatal, functools.partial(_exec_checked, command, phase))
    for target in _values(cfg, f"call-{phase}"):
        _guard(phase, target, fatal, functools.partial(_call, target, want_zero=False))


def _guard(phase: str, what: str, fatal: bool, action: Callable[[], None]) -> None:
    try:
        action()
    except HookFailed as exc:
        log(f"{phase} hook \"{what}\" failed: {exc}")
        if fatal:
            _die(phase, what, str(exc))


def _die(phase: str, what: str, why: str) -> None:
    message = f"{phase} hook \"{what}\" failed ({why}): destroying instance"
    if os.getpid() != _MAIN_PID:  # a worker (or a lazy app's pre/post-app): stop the whole instance
        log(f"FATAL {message}")
        try:
            os.kill(os.getppid(), signal.SIGINT)
        finally:
            os._exit(1)
    raise ConfigError(message)


def _exec_checked(command: str, phase: str, env: dict[str, str] | None = None) -> None:
    log(f"running \"{command}\" ({phase})...")
    status = _shell(command, env)
    if status != 0:
        raise HookFailed(f"command exited with status {status}")


def _shell(command: str, env: dict[str, str] | None = None) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    full = {**os.environ, **env} if env else None
    import subprocess  # only when a hook runs a command: not in every worker

    try:
        return subprocess.call(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL, env=full)
    except OSError as exc:
        raise HookFailed(str(exc)) from None


def _call(target: str, want_zero: bool, args: tuple[Any, ...] = ()) -> Any:
    """``module.func`` (or ``module:func``) imported and called."""
    target = target.strip()
    modname, _, attr = target.partition(":") if ":" in target else target.rpartition(".")
    if not modname or not attr:
        raise HookFailed(f"{target!r} is not module.function")
    try:
        func = getattr(importlib.import_module(modname), attr)
    except (ImportError, AttributeError) as exc:
        raise HookFailed(f"cannot find {target}: {exc}") from None
    try:
        result = func(*args)
    except Exception as exc:  # noqa: BLE001 -- a hook's own error is the hook failing
        raise HookFailed(f"{target} raised {type(exc).__name__}: {exc}") from None
    if want_zero and result not in (0, None):
        raise HookFailed(f"{target} returned {result!r}")
    return result


def _split2(arg: str, action: str) -> tuple[str, str]:
    first, _, rest = arg.strip().partition(" ")
    if not first:
        raise HookFailed(f"{action}: needs 'path value'")
    return first, rest.lstrip()


def _write(path: str, text: str, mode: str) -> None:
    try:
        with open(path, mode) as fh:
            fh.write(text)
    except OSError as exc:
        raise HookFailed(f"{path}: {exc.strerror}") from None


def _unix_signal(arg: str) -> None:
    num, _, symbol = arg.strip().partition(" ")
    try:
        signum = int(num)
    except ValueError:
        raise HookFailed(f"unix_signal: {num!r} is not a signal number") from None
    symbol = symbol.strip()
    target = _SYMBOLS.get(symbol)
    if target is None:
        raise HookFailed(f"unix_signal: satrap knows {', '.join(sorted(_SYMBOLS))}, not {symbol!r}")
    me = os.getpid()

    def forward(_sig: int, _frame: Any) -> None:
        os.kill(me, target)

    signal.signal(signum, forward)


def run_hook(spec: str, phase: str = "", env: dict[str, str] | None = None) -> None:
    """One ``action:args`` hook; raises HookFailed when it fails."""
    action, colon, arg = spec.partition(":")
    if not colon:
        raise HookFailed("invalid hook syntax, must be action:args")
    action = action.strip()
    private = action.startswith("!")
    if private:
        action = action[1:]
    log(f"running --- PRIVATE HOOK --- ({phase})..." if private else f"running \"{spec}\" ({phase})...")
    if action == "exec":
        status = _shell(arg, env)
        if status != 0:
            raise HookFailed(f"command exited with status {status}")
    elif action == "safeexec":
        _shell(arg, env)
    elif action in ("mkdir",):
        try:
            os.mkdir(arg)
        except OSError as exc:
            raise HookFailed(f"{arg}: {exc.strerror}") from None
    elif action in ("cd", "chdir"):
        try:
            os.chdir(arg)
        except OSError as exc:
            raise HookFailed(f"{arg}: {exc.strerror}") from None
    elif action in ("unlink",):
        try:
            os.unlink(arg)
        except OSError as exc:
            raise HookFailed(f"{arg}: {exc.strerror}") from None
    elif action == "rmdir":
        try:
            os.rmdir(arg)
        except OSError as exc:
            raise HookFailed(f"{arg}: {exc.strerror}") from None
    elif action in ("write", "writen", "append", "appendn"):
        path, text = _split2(arg, action)
        _write(path, text + ("\n" if action.endswith("n") else ""), "a" if action.startswith("append") else "w")
    elif action == "writefifo":
        path, text = _split2(arg, action)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise HookFailed(f"{path}: {exc.strerror}") from None
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    elif action in ("print", "log"):
        log(arg)
    elif action == "exit":
        code = int(arg) if arg.strip().lstrip("-").isdigit() else 0
        log(f"exit hook ({phase}): exiting with status {code}")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    elif action == "chmod":
        path, mode = _split2(arg, action)
        try:
            os.chmod(path, int(mode, 8))
        except (OSError, ValueError) as exc:
            raise HookFailed(f"{path}: {exc}") from None
    elif action == "putenv":
        key, eq, val = arg.partition("=")
        if not eq:
            raise HookFailed("putenv: needs KEY=VALUE")
        os.environ[key] = val
    elif action in ("call", "pycall"):
        _call(arg, want_zero=False)
    elif action in ("callret", "callint", "callintret"):
        _call(arg, want_zero=action != "callint")
    elif action == "pyimport":
        try:
            importlib.import_module(arg.strip())
        except Exception as exc:  # noqa: BLE001
            raise HookFailed(f"import {arg.strip()}: {type(exc).__name__}: {exc}") from None
    elif action == "pyexec":
        try:
            with open(arg.strip(), encoding="utf-8") as fh:
                compiled = compile(fh.read(), arg.strip(), "exec")
            exec(compiled, {"__name__": "__uwsgi_hook__", "__file__": arg.strip()})  # noqa: S102
        except Exception as exc:  # noqa: BLE001
            raise HookFailed(f"{arg.strip()}: {type(exc).__name__}: {exc}") from None
    elif action == "unix_signal":
        _unix_signal(arg)
    else:
        raise HookFailed(f"hook action not found: {action} (satrap has exec, safeexec, mkdir, cd, chdir, "
                         "write, writen, append, appendn, writefifo, unlink, rmdir, print, exit, chmod, putenv, "
                         "call, callret, callint, pycall, pyimport, pyexec, unix_signal)")
