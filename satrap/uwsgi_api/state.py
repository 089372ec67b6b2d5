"""What the ``uwsgi`` module knows about the process it runs in, and the instance's shared directory.

One instance (one master and its children) shares one private directory, created by
:func:`setup` in the master before it forks (so every worker and spooler inherits its path) and
handed down through a graceful reload (the master re-executes itself; the path rides in the
environment, so the cache and the locks outlive the reload). It holds the cache database, the
lock files and the spooler pid files. It lives in ``/dev/shm`` when there is one (memory-backed:
the cache never touches a disk), else in the temp directory; the master removes it at exit, and
any later instance removes directories left behind by instances that died.
"""

from __future__ import annotations

import atexit
import os
import stat
import time
from typing import Any

DIR_ENV = "SATRAP__UWSGI_API_DIR"
_PREFIX = "satrap-uwsgi-"


class State:
    cfg: Any = None
    api_dir: str = ""
    token: str = ""  # names the instance's abstract unix sockets
    role: str = "master"  # master | worker | spooler
    wid: int = 0  # worker id (1-based) in a worker, else 0
    spooler_index: int = 0  # 1-based in a spooler process
    master_pid: int = 0
    has_master: bool = False
    numproc: int = 1
    started_on: int = 0
    spoolers: list[str] = []  # noqa: RUF012 - replaced by setup(), never mutated; absolute spooler directories, in config order
    phase: str = "import"  # "import" until the process has started (worker_started / spooler)
    owner_pid: int = 0  # the process that created api_dir (removes it at exit)


state = State()


def _base_dir() -> str:
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    import tempfile

    return tempfile.gettempdir()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale(base: str) -> None:
    """Remove directories of instances whose master is gone (crashed, SIGKILLed)."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(_PREFIX):
            continue
        pid_text = name[len(_PREFIX):].split("-", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            path = os.path.join(base, name)
            try:
                if os.stat(path).st_uid == os.getuid():
                    _rmtree(path)
            except OSError:
                pass


def setup(cfg: Any) -> None:
    """Runs in the master (or the single process) before the app is imported."""
    state.cfg = cfg
    state.role = "master"
    state.wid = 0
    state.phase = "import"
    state.numproc = max(1, int(getattr(cfg, "processes", 1) or 1))
    state.started_on = int(time.time())
    state.has_master = bool(getattr(cfg, "master", False)) or state.numproc > 1 or \
        "SATRAP__EMPEROR_FD" in os.environ or bool(getattr(cfg, "http", None))
    state.master_pid = os.getpid() if state.has_master else 0
    state.spoolers = [os.path.abspath(d) for d in (getattr(cfg, "spooler", None) or [])]
    inherited = os.environ.get(DIR_ENV, "")
    if inherited and os.path.basename(inherited).startswith(f"{_PREFIX}{os.getpid()}-"):
        state.api_dir = inherited  # a graceful reload: same master pid, same cache and locks
    else:
        base = _base_dir()
        _sweep_stale(base)
        # only the name is chosen now; the directory is made by the first process that needs
        # it (apps that never touch the cache, locks or spooler leave nothing behind)
        state.api_dir = os.path.join(base, f"{_PREFIX}{os.getpid()}-{os.urandom(8).hex()}")
        os.environ[DIR_ENV] = state.api_dir
    state.token = os.path.basename(state.api_dir)[len(_PREFIX):] or os.urandom(6).hex()
    for directory in state.spoolers:
        os.makedirs(directory, exist_ok=True)  # uWSGI 2.0.2x creates it too
    if state.owner_pid != os.getpid():
        state.owner_pid = os.getpid()
        atexit.register(_cleanup, os.getpid(), state.api_dir)


def ensure_dir() -> str:
    """The instance directory, created on first use (private to this user)."""
    path = state.api_dir
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise RuntimeError(f"satrap: {path} exists and is not this user's directory") from None
    return path


def _cleanup(pid: int, path: str) -> None:
    # forked children leave with os._exit, so only the master gets here; the pid check guards
    # against a child that exits through sys.exit all the same
    if os.getpid() == pid:
        _rmtree(path)


def _rmtree(path: str) -> None:
    # shutil (and the compression modules it pulls in) only on the way out, not in every worker
    import shutil

    shutil.rmtree(path, ignore_errors=True)
