"""The ``uwsgidecorators`` module apps import inside satrap (``sys.modules['uwsgidecorators']``).

The decorators of uWSGI's module of the same name, on top of satrap's ``uwsgi`` module. Unlike
uWSGI's, importing it never raises for a missing master or for lazy-apps: without a master,
``@postfork`` runs once in the single process and timers run there.
"""

from __future__ import annotations

import functools
import pickle
import threading
from collections.abc import Callable
from typing import Any

from satrap.log import log as _log
from satrap.uwsgi_api import signals as _signals
from satrap.uwsgi_api import uwsgi_module as uwsgi

__all__ = [
    "postfork", "spool", "spoolforever", "spoolraw", "timer", "rbtimer", "cron", "filemon", "signal",
    "lock", "thread", "harakiri", "mulefunc", "mule_brain", "mule_brainloop", "mulemsg_dispatcher",
    "rpc", "farm_loop", "erlang", "get_free_signal", "manage_spool_request", "postfork_chain",
    "spooler_functions", "mule_functions",
]

spooler_functions: dict[str, _SpoolFunction] = {}
mule_functions: dict[str, Callable[..., Any]] = {}
postfork_chain: list[Callable[[], Any]] = []
_SPOOLER_KEYS = ("message_dict", "spooler", "priority", "at", "body")


def get_free_signal() -> int:
    return _signals.free_signal()


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def manage_spool_request(env: dict[Any, Any]) -> int:
    """The ``uwsgi.spooler`` callable: runs the ``@spool`` function a task names."""
    args = {_text(k): v for k, v in env.items()}
    name = _text(args.get("ud_spool_func"))
    func = spooler_functions.get(name) if isinstance(name, str) else None
    if func is None:
        _log(f"satrap spooler: task {args.get('spooler_task_name')} names no known @spool function "
             f"({name!r}); is the module defining it imported by the app (or spooler-import)?")
        return uwsgi.SPOOL_RETRY
    if "args" in args and "kwargs" in args:
        pos = pickle.loads(args["args"])
        kw = pickle.loads(args["kwargs"])
        ret = func.func(*pos, **kw)
    else:
        ret = func.func({k: _text(v) for k, v in args.items()})
    fixed = args.get("ud_spool_ret")
    if fixed is not None:
        return int(_text(fixed))
    return ret if isinstance(ret, int) else uwsgi.SPOOL_OK


def _postfork_chain_hook() -> None:
    for func in list(postfork_chain):  # noqa: PERF101 - a copy: a postfork function may register another
        func()


uwsgi.spooler = manage_spool_request
uwsgi.post_fork_hook = _postfork_chain_hook


def postfork(func: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``func()`` in each worker (and spooler) right after it is forked — again in the new
    workers after every reload."""
    postfork_chain.append(func)
    return func


class _SpoolFunction:
    """A ``@spool`` function: calling it runs it here; ``.spool(...)`` queues it for the spooler."""

    ret: int = uwsgi.SPOOL_OK

    def __init__(self, func: Callable[..., Any], pass_arguments: bool = False) -> None:
        self.func = func
        self.pass_arguments = pass_arguments
        self.base_dict = {"ud_spool_func": func.__name__, "ud_spool_ret": str(self.ret)}
        functools.update_wrapper(self, func)  # type: ignore[arg-type]
        spooler_functions[func.__name__] = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def spool(self, *args: Any, **kwargs: Any) -> bytes:
        task: dict[Any, Any] = dict(self.base_dict)
        if self.pass_arguments:
            extra = {k: kwargs.pop(k) for k in _SPOOLER_KEYS if k in kwargs}
            message = extra.pop("message_dict", None)
            if message:
                task.update(message)
            task.update(extra)
            task["args"] = pickle.dumps(args)
            task["kwargs"] = pickle.dumps(kwargs)
        else:
            for arg in args[:1]:
                task.update(arg)
            task.update(kwargs)
        return uwsgi.spool(task)


class _SpoolForeverFunction(_SpoolFunction):
    ret = uwsgi.SPOOL_RETRY


class _SpoolRawFunction(_SpoolFunction):
    """``@spoolraw``: the function's own return value (SPOOL_OK/RETRY/IGNORE) decides."""

    def __init__(self, func: Callable[..., Any], pass_arguments: bool = False) -> None:
        super().__init__(func, pass_arguments)
        self.base_dict.pop("ud_spool_ret", None)


def _spool_decorator(cls: type) -> Callable[..., Any]:
    def decorator(func: Any = None, pass_arguments: bool = False) -> Any:
        if func is None:
            return lambda f: cls(f, pass_arguments)
        return cls(func, pass_arguments)

    return decorator


spool = _spool_decorator(_SpoolFunction)
spoolforever = _spool_decorator(_SpoolForeverFunction)
spoolraw = _spool_decorator(_SpoolRawFunction)


_Handler = Callable[[int], Any]


def _signal_decorator(register: Callable[[_Handler], None]) -> Callable[[_Handler], _Handler]:
    def wrap(func: _Handler) -> _Handler:
        register(func)
        return func

    return wrap


def signal(num: int, **kwargs: Any) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    """Run the function when uWSGI signal ``num`` is raised (``uwsgi.signal(num)``)."""
    return _signal_decorator(lambda f: uwsgi.register_signal(num, kwargs.get("target", ""), f))


def timer(seconds: float, **kwargs: Any) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    """Run the function every ``seconds`` (in worker 1, or ``target='spooler'``/``'workers'``)."""

    def register(func: Callable[[int], Any]) -> None:
        num = kwargs.get("signum", get_free_signal())
        uwsgi.register_signal(num, kwargs.get("target", ""), func)
        uwsgi.add_timer(num, seconds)

    return _signal_decorator(register)


def rbtimer(seconds: float, **kwargs: Any) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    def register(func: Callable[[int], Any]) -> None:
        num = kwargs.get("signum", get_free_signal())
        uwsgi.register_signal(num, kwargs.get("target", ""), func)
        uwsgi.add_rb_timer(num, seconds, kwargs.get("iterations", 0))

    return _signal_decorator(register)


def cron(minute: int, hour: int, day: int, month: int, dayweek: int,
         **kwargs: Any) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    """Run the function when the local time matches (-1 = any, -N = every N)."""

    def register(func: Callable[[int], Any]) -> None:
        num = kwargs.get("signum", get_free_signal())
        uwsgi.register_signal(num, kwargs.get("target", ""), func)
        uwsgi.add_cron(num, minute, hour, day, month, dayweek)

    return _signal_decorator(register)


def filemon(path: str, **kwargs: Any) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    """Run the function when ``path`` (a file or a directory) changes."""

    def register(func: Callable[[int], Any]) -> None:
        num = kwargs.get("signum", get_free_signal())
        uwsgi.register_signal(num, kwargs.get("target", ""), func)
        uwsgi.add_file_monitor(num, path)

    return _signal_decorator(register)


def lock(func: Callable[..., Any]) -> Callable[..., Any]:
    """Only one call at a time across every worker of the instance (uWSGI lock 0)."""

    @functools.wraps(func)
    def locked(*args: Any, **kwargs: Any) -> Any:
        uwsgi.lock()
        try:
            return func(*args, **kwargs)
        finally:
            uwsgi.unlock()

    return locked


def thread(func: Callable[..., Any]) -> Callable[..., threading.Thread]:
    """Each call runs the function in a new daemon thread (returns the thread)."""

    @functools.wraps(func)
    def start(*args: Any, **kwargs: Any) -> threading.Thread:
        t = threading.Thread(target=func, args=args, kwargs=kwargs, daemon=True)
        t.start()
        return t

    return start


class harakiri:
    """``@harakiri(seconds)``: if one call runs longer, the process is killed (and respawned)."""

    def __init__(self, seconds: int) -> None:
        self.seconds = int(seconds)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            uwsgi.set_user_harakiri(self.seconds)
            try:
                return func(*args, **kwargs)
            finally:
                uwsgi.set_user_harakiri(0)

        return guarded


_mule_warned: set[str] = set()


class mulefunc:
    """uWSGI runs a ``@mulefunc`` call in a mule; satrap has no mules, so each call runs in a
    background thread of the calling process (fire and forget, as with a mule)."""

    def __init__(self, target: Any = None) -> None:
        self.target = target
        self.func: Callable[..., Any] | None = None
        if callable(target):  # used bare: @mulefunc
            self._bind(target)

    def _bind(self, func: Callable[..., Any]) -> None:
        self.func = func
        mule_functions[func.__name__] = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.func is None:  # @mulefunc(1): this call is the decoration
            self._bind(args[0])
            return self
        name = self.func.__name__
        if name not in _mule_warned:
            _mule_warned.add(name)
            _log(f"satrap: @mulefunc {name}: satrap has no mules; the call runs in a thread of this process")
        threading.Thread(target=self.func, args=args, kwargs=kwargs, daemon=True,
                         name=f"satrap-mulefunc-{name}").start()
        return None


def _not_provided(name: str, what: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"uwsgidecorators.{name} is not provided by satrap yet ({what})")

    fail.__name__ = name
    return fail


mule_brain = _not_provided("mule_brain", "satrap has no mules")
mule_brainloop = _not_provided("mule_brainloop", "satrap has no mules")
mulemsg_dispatcher = _not_provided("mulemsg_dispatcher", "satrap has no mules")
farm_loop = _not_provided("farm_loop", "satrap has no mule farms")
rpc = _not_provided("rpc", "RPC is not implemented")
erlang = _not_provided("erlang", "the Erlang bridge is not implemented")


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise uwsgi.NotProvided(f"uwsgidecorators.{name} is not provided by satrap yet")
