"""The Emperor: one process that watches a directory of vassal configs and keeps one satrap master
running per file.

Theory of operation:
- One loop, one ``select`` (epoll) over: the directory watcher (inotify), each vassal's link (the
  parent end of a socketpair; the vassal sends one-byte :class:`~satrap.emperor.wire.ToEmperor`
  messages), each on-demand vassal's pre-bound listening socket, the stats socket, and a
  self-pipe that signal handlers write to. Handlers only enqueue (principle 5).
- Detection is separate from action (principle 8): the :class:`~satrap.emperor.scanner.Scanner`
  returns a Diff; each vassal is a :class:`~satrap.emperor.vassal.Vassal` state machine that turns
  events into actions; this module only carries actions out (fork/exec, send a byte, SIGKILL,
  log, arm a socket).
- A vassal is a separate ``python -m satrap --ini FILE`` process (principle 7): the Emperor never
  imports the master. It learns everything from the link and from ``waitpid``.

Invariants: every child pid is in ``self.by_pid`` until reaped; a vassal in STOPPING is SIGKILLed
after the mercy, with every process it left behind; the Emperor exits only when no vassal process
is left.
"""

from __future__ import annotations

import ctypes
import grp
import json
import os
import pwd
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from satrap import __version__
from satrap.emperor import scanner as scan_mod
from satrap.emperor.vassal import (
    Action,
    Forget,
    Kill,
    Listen,
    Log,
    Policy,
    Send,
    Spawn,
    State,
    Vassal,
)
from satrap.emperor.wire import EMPEROR_FD_ENV, ON_DEMAND_FD_ENV, ToEmperor
from satrap.errors import SatrapError
from satrap.hooks import has_hooks, run_phase_for
from satrap.log import log

DEFAULT_MERCY = 30.0
#: seconds of quiet after an inotify event before rescanning (a file being written fires several)
_DEBOUNCE = 0.05
_DEBOUNCE_MAX = 0.2
_MAX_WAIT = 1.0

_HANDLED_SIGNALS = ("SIGINT", "SIGTERM", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGURG", "SIGWINCH",
                    "SIGCHLD")

#: environment a vassal must not inherit from the Emperor (it would make every vassal an Emperor,
#: or hand it sockets and reload counters that belong to someone else)
_DROP_ENV_PREFIXES = ("SATRAP__", "UWSGI_EMPEROR", "SATRAP_EMPEROR")
_DROP_ENV = ("NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "UWSGI_RELOADS",
             "UWSGI_INI", "SATRAP_INI")

Command = Sequence[str]
DEFAULT_COMMAND: tuple[str, ...] = (sys.executable, "-m", "satrap")


def run_emperor(cfg: Any) -> int:
    """Entry point the CLI calls when ``cfg.emperor`` is non-empty; returns the exit status."""
    return Emperor(cfg).run()


# -- pieces that need no Emperor state -------------------------------------------------------------
def vassal_env(environ: Mapping[str, str], link_fd: int, on_demand_fd: int | None) -> dict[str, str]:
    """The vassal's environment: the Emperor's, minus what must not leak, plus the link fd.

    ``UWSGI_VASSAL_FOO`` becomes ``UWSGI_FOO`` (and ``SATRAP_VASSAL_FOO`` ``SATRAP_FOO``), as in
    uWSGI, so an option can be set for every vassal from the Emperor's environment."""
    env: dict[str, str] = {}
    for key, value in environ.items():
        if key in _DROP_ENV or key.startswith(_DROP_ENV_PREFIXES):
            continue
        env[key] = value
    for prefix, plain in (("UWSGI_VASSAL_", "UWSGI_"), ("SATRAP_VASSAL_", "SATRAP_")):
        for key in [k for k in env if k.startswith(prefix)]:
            env[plain + key[len(prefix):]] = env.pop(key)
    env[EMPEROR_FD_ENV] = str(link_fd)
    if on_demand_fd is not None:
        env[ON_DEMAND_FD_ENV] = str(on_demand_fd)
    return env


def vassal_argv(command: Command, path: str, vassal_set: Sequence[str],
                before: Sequence[str] = (), after: Sequence[str] = ()) -> list[str]:
    """``satrap [--inherit T] [--include T] --set k=v ... --ini /abs/app.ini [--inherit T] [--include T]``:
    the Emperor's values first, so the vassal's win; ``before``/``after`` are the
    ``vassals-include(-before)`` / ``vassals-inherit(-before)`` switches (:func:`vassal_templates`),
    placed as uWSGI places them (reference 4.2).

    The path is absolute (uWSGI passes the bare name, relative to the vassal directory it chdirs
    to): a vassal with ``chdir = /srv/app`` re-reads its argv on a graceful reload, and a relative
    name would then be looked up in the wrong directory ("config file not found")."""
    argv = list(command)
    argv += before
    for item in vassal_set:
        argv += ["--set", item]
    argv += [scan_mod.config_switch(path), os.path.abspath(path)]
    argv += after
    return argv


def _template_path(cfg: Any, value: str) -> str:
    """A template named in the Emperor's config, as an absolute path: relative to the Emperor's
    working directory (where uWSGI's vassals would look), else to the config file that named it."""
    if os.path.isabs(value):
        return value
    here = os.path.abspath(value)
    if os.path.exists(here):
        return here
    for config in getattr(cfg, "config_files", None) or []:
        candidate = os.path.join(os.path.dirname(config), value)
        if os.path.exists(candidate):
            return candidate
    return here


def vassal_templates(cfg: Any) -> tuple[list[str], list[str]]:
    """The argv switches of ``vassals-inherit-before``, ``vassals-include-before`` (before the
    vassal's own config) and ``vassals-inherit``, ``vassals-include`` (after it)."""
    before: list[str] = []
    after: list[str] = []
    for attr, switch, out in (("vassals_inherit_before", "--inherit", before),
                              ("vassals_include_before", "--include", before),
                              ("vassals_inherit", "--inherit", after),
                              ("vassals_include", "--include", after)):
        for value in getattr(cfg, attr, None) or []:
            out += [switch, _template_path(cfg, value)]
    return before, after


def on_demand_socket_path(cfg: Any, path: str) -> str | None:
    """Where an on-demand vassal's socket lives, or None (not an on-demand vassal)."""
    ext = cfg.emperor_on_demand_extension
    if ext:
        try:
            with open(path + ext) as f:
                name = f.read().strip()
        except OSError:
            name = ""
        if name:
            return os.path.join(os.path.dirname(path), name)
    directory = cfg.emperor_on_demand_directory
    if directory:
        stem = os.path.splitext(os.path.basename(path))[0]
        return os.path.join(os.path.abspath(directory), stem + ".socket")
    return None


def bind_unix(path: str, backlog: int, mode: int | None = None, owner: str = "") -> socket.socket:
    """Bind a unix listening socket, replacing a stale file (a socket left by a previous run).

    ``mode``/``owner`` are the Emperor's ``chmod-socket``/``chown-socket``, as uWSGI applies them
    to on-demand sockets: nginx's workers (``www-data``) must be able to connect."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        if mode is not None:
            os.chmod(path, mode)
        if owner:
            from satrap.net.listeners import _chown

            _chown(path, owner)
        sock.listen(backlog)
    except (OSError, SatrapError):
        sock.close()
        raise
    return sock


def _process_table() -> Iterator[tuple[int, int, bytes]]:
    """(pid, parent pid, state letter) of every process, from /proc (nothing where none)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        yield int(entry), int(fields[1]), fields[0]


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc; empty where there is no /proc)."""
    parents: dict[int, list[int]] = {}
    for child, parent, _state in _process_table():
        parents.setdefault(parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        for kid in parents.get(todo.pop(), []):
            out.append(kid)
            todo.append(kid)
    return out


def sd_notify(text: str, environ: Mapping[str, str] | None = None) -> bool:
    """systemd's notify protocol (one datagram to ``$NOTIFY_SOCKET``; ``@`` = abstract name)."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(text.encode())
        return True
    except OSError:
        return False


def _set_parent_death_signal() -> None:
    """Runs in the child before exec: die with the Emperor, so a SIGKILLed Emperor leaves no
    vassal behind (uWSGI does the same with ``PR_SET_PDEATHSIG``)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _as_vassal(cfg: Any, name: str, uid: int, gid: int, env: Mapping[str, str]) -> Callable[[], None]:
    """The child's work before exec when the Emperor has ``as-vassal`` hooks: as uWSGI, they run in
    the vassal's process (its directory, its environment, after a tyrant's privilege drop) and are
    fatal for that vassal only: it exits 1 and the Emperor sees an ordinary death (respawned with
    the back-off)."""
    def preexec() -> None:
        _set_parent_death_signal()
        try:
            os.environ.clear()
            os.environ.update(env)
            ok = run_phase_for(cfg, "as-vassal", about=name, values={"name": name, "uid": uid, "gid": gid})
        except BaseException as exc:  # noqa: BLE001 -- never unwind into the Emperor's code in a child
            log(f"as-vassal for vassal {name}: {type(exc).__name__}: {exc}")
            ok = False
        if not ok:
            log(f"FATAL as-vassal hook failed for vassal {name}: the vassal exits")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)

    return preexec


def _become_subreaper() -> bool:
    """Orphans of a vassal master become our children instead of init's (Linux 3.4+), so we can
    reap them and make sure nothing is left behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _children(pid: int) -> list[int]:
    """Live direct children of ``pid`` (from /proc)."""
    return [child for child, parent, state in _process_table() if parent == pid and state != b"Z"]


def _parse_addr(addr: str) -> tuple[int, Any]:
    if ":" in addr and not addr.startswith(("/", ".", "@")):
        host, _, port = addr.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"
        return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, int(port))
    return socket.AF_UNIX, ("\0" + addr[1:] if addr.startswith("@") else addr)


def _numeric_id(value: str, db: Callable[[str], Any], attr: str) -> int:
    text = str(value)
    return int(text) if text.isdigit() else int(getattr(db(text), attr))


# -- the Emperor --------------------------------------------------------------------------------------
class Emperor:
    """Holds the vassal table and the loop; see the module docstring."""

    def __init__(self, cfg: Any, command: Command = DEFAULT_COMMAND,
                 environ: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.command = tuple(command)
        self.environ = dict(os.environ if environ is None else environ)
        mercy = float(cfg.reload_mercy or 0) or DEFAULT_MERCY
        self.policy = Policy(throttle=max(0, int(cfg.emperor_throttle or 0)) / 1000.0, mercy=mercy,
                             reload_timeout=max(60.0, mercy))
        self.vassal_set = list(cfg.vassal_set or [])
        self.vassal_before, self.vassal_after = vassal_templates(cfg)
        self.tyrant = bool(cfg.emperor_tyrant) and os.geteuid() == 0
        from satrap.net.listeners import _chmod_mode

        #: chmod-socket of the Emperor's own config: the mode of every on-demand socket
        self.socket_mode = _chmod_mode(cfg.chmod_socket)
        self.scanner = scan_mod.Scanner(cfg.emperor)
        self.watcher = scan_mod.Watcher()
        self.vassals: dict[str, Vassal] = {}
        self.by_pid: dict[int, Vassal] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.links: dict[str, socket.socket] = {}
        self.demand_socks: dict[str, socket.socket] = {}
        self.demand_paths: dict[str, str] = {}
        self.stats_addresses: dict[str, str] = {}  # vassal path -> its own stats address
        self.fastrouter: subprocess.Popen[bytes] | None = None
        self.demand_subscribers: dict[str, Any] = {}  # on-demand vassal path -> its Subscriber
        self.readd: set[str] = set()
        self.selector = selectors.DefaultSelector()
        self.signals: list[int] = []
        self.stats_sock: socket.socket | None = None
        self.stopping = False
        self.leftover_deadline = 0.0
        self.next_scan = 0.0
        self.scan_requested_at = 0.0
        self.notified_count = -1
        self.pid = os.getpid()
        self.pidfile = ""
        self.start_wall = time.time()
        self._wake_r, self._wake_w = socket.socketpair()

    # -- clock --------------------------------------------------------------------------------
    @staticmethod
    def now() -> float:
        return time.monotonic()

    @staticmethod
    def to_epoch(mono: float) -> int:
        return int(time.time() - time.monotonic() + mono)

    # -- setup --------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        for sock in (self._wake_r, self._wake_w):
            sock.setblocking(False)
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)

        def enqueue(signum: int, frame: object) -> None:  # only enqueue (principle 5)
            self.signals.append(signum)

        for name in _HANDLED_SIGNALS:
            signal.signal(getattr(signal, name), enqueue)
        self.selector.register(self._wake_r, selectors.EVENT_READ, ("wake", None))

    def _open_stats(self) -> None:
        addr = self.cfg.emperor_stats
        if not addr:
            return
        family, where = _parse_addr(str(addr))
        sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX and isinstance(where, str) and not where.startswith("\0"):
            try:
                os.unlink(where)
            except FileNotFoundError:
                pass
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
        sock.listen(16)
        sock.setblocking(False)
        self.stats_sock = sock
        self.selector.register(sock, selectors.EVENT_READ, ("stats", None))
        log(f"*** Emperor stats server enabled on {addr} ***")

    def _drop_privileges(self) -> None:
        """The Emperor's own uid/gid (emperor.ini ``uid``/``gid``), unless tyrant needs root."""
        if os.geteuid() != 0 or self.tyrant or not (self.cfg.uid or self.cfg.gid):
            return
        if self.cfg.gid:
            gid = _numeric_id(self.cfg.gid, grp.getgrnam, "gr_gid")
            os.setgroups([])
            os.setgid(gid)
            log(f"setgid() to {gid}")
        if self.cfg.uid:
            uid = _numeric_id(self.cfg.uid, pwd.getpwnam, "pw_uid")
            os.setuid(uid)
            log(f"setuid() to {uid}")

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> int:
        self._install_signals()
        _become_subreaper()
        self.pidfile = os.path.abspath(self.cfg.pidfile) if self.cfg.pidfile else ""
        if self.pidfile:
            with open(self.pidfile, "w") as f:
                f.write(f"{self.pid}\n")
        self._open_stats()
        if self.cfg.emperor_tyrant and not self.tyrant:
            log("[emperor] emperor-tyrant needs the Emperor to run as root: ignored")
        watched = self.watcher.watch(self.scanner.directories())
        fd = self.watcher.fileno()
        if fd is not None:
            self.selector.register(fd, selectors.EVENT_READ, ("watch", None))
        how = "inotify" if fd is not None and watched else f"a {scan_mod.POLL_INTERVAL:g} s poll"
        log(f"*** starting satrap {__version__} Emperor (pid: {self.pid}) watching "
            f"{', '.join(self.scanner.monitors)} with {how} ***")
        if not run_phase_for(self.cfg, "emperor-start"):  # fatal, as in uWSGI: no vassal is started
            log("FATAL emperor-start hook failed: the Emperor exits")
            self._cleanup()
            return 1
        self._scan(self.now())
        self._start_fastrouter()
        self._drop_privileges()
        sd_notify("READY=1\nSTATUS=" + self._status_line())
        while True:
            self._wait()
            now = self.now()
            self._handle_signals(now)
            self._reap(now)
            if self._scan_due(now):
                self._scan(now)
            for vassal in list(self.vassals.values()):
                self._run_actions(vassal, vassal.tick(now))
            if not self.stopping:
                for subscriber in self.demand_subscribers.values():
                    subscriber.tick(time.time())
            self._notify_status()
            if self.stopping and not self.vassals and self._leftovers_gone(now):
                break
        self._cleanup()
        log("The Emperor is buried.")
        sd_notify("STOPPING=1\nSTATUS=The Emperor is buried.")
        return 0

    def _start_fastrouter(self) -> None:
        """An Emperor config with ``fastrouter`` (uWSGI runs it as the Emperor's gateway): its
        vassals ``subscribe-to`` it, and it routes each request by host to a subscribed vassal."""
        if not (getattr(self.cfg, "fastrouter", None) or getattr(self.cfg, "fastrouter_subscription_server", None)):
            return
        self.fastrouter = subprocess.Popen([sys.executable, "-m", "satrap.fastrouter", *self.cfg.argv],
                                           stdin=subprocess.DEVNULL,
                                           preexec_fn=_set_parent_death_signal)  # noqa: PLW1509
        log(f"[emperor] fastrouter started (pid {self.fastrouter.pid})")

    def _leftovers_gone(self, now: float) -> bool:
        """After the last vassal: wait (bounded) for processes they left behind, then kill them."""
        left = _children(self.pid)
        if not left:
            return True
        if not self.leftover_deadline:
            self.leftover_deadline = now + min(self.policy.mercy, 5.0)
        elif now >= self.leftover_deadline:
            self._kill_orphans()
            return True
        return False

    def _timeout(self, now: float) -> float:
        deadlines = [d for v in self.vassals.values() if (d := v.next_deadline()) is not None]
        if not self.stopping:
            deadlines.append(self.next_scan)
        else:
            deadlines.append(now + 0.1)  # waiting for the last processes to go
        if self.scan_requested_at:
            deadlines.append(min(self.scan_requested_at + _DEBOUNCE_MAX, now + _DEBOUNCE))
        if not deadlines:
            return _MAX_WAIT
        return max(0.0, min(_MAX_WAIT, min(deadlines) - now))

    def _wait(self) -> None:
        timeout = self._timeout(self.now())
        try:
            events = self.selector.select(timeout)
        except InterruptedError:
            return
        for key, _ in events:
            kind, path = key.data
            if kind == "wake":
                try:
                    while self._wake_r.recv(4096):
                        pass
                except (BlockingIOError, InterruptedError):
                    pass
            elif kind == "watch":
                self.watcher.drain()
                if not self.scan_requested_at:
                    self.scan_requested_at = self.now()
            elif kind == "link":
                self._read_link(path)
            elif kind == "demand":
                self._on_connection(path)
            elif kind == "stats":
                self._serve_stats()

    def _scan_due(self, now: float) -> bool:
        if self.stopping:
            return False
        if self.scan_requested_at:
            quiet = now - self.scan_requested_at >= _DEBOUNCE
            return quiet or now - self.scan_requested_at >= _DEBOUNCE_MAX
        return now >= self.next_scan

    # -- scanning ------------------------------------------------------------------------------
    def _scan(self, now: float) -> None:
        self.scan_requested_at = 0.0
        if self.watcher.active:
            self.watcher.watch(self.scanner.directories())
            self.next_scan = now + scan_mod.SAFETY_INTERVAL
        else:
            self.next_scan = now + scan_mod.POLL_INTERVAL
        self.apply(self.scanner.scan(), now)

    def apply(self, diff: scan_mod.Diff, now: float) -> None:
        """Carry a scan's Diff out: new files spawn, touched files reload, removed files stop."""
        for path in diff.added:
            if path in self.vassals:  # the old one is still stopping: start again once it is gone
                self.readd.add(path)
                continue
            self._add(path, now)
        for path in diff.changed:
            vassal = self.vassals.get(path)
            if vassal is None:
                continue
            vassal.last_mod = self._mtime(path)
            if vassal.state is State.STOPPING:
                self.readd.add(path)
                continue
            self._run_actions(vassal, vassal.file_changed(now))
        for path in diff.removed:
            self.readd.discard(path)
            vassal = self.vassals.get(path)
            if vassal is not None:
                self._run_actions(vassal, vassal.file_removed(now))

    def _mtime(self, path: str) -> int:
        stamp = self.scanner.stamp(path)
        return stamp.mtime_ns // 1_000_000_000 if stamp else 0

    def _name(self, path: str) -> str:
        directory = os.path.dirname(path)
        for monitor in self.scanner.monitors:
            if not scan_mod.is_glob(monitor) and monitor == directory:
                return os.path.basename(path)
        return path

    def _add(self, path: str, now: float) -> None:
        policy = self.policy
        demand_path = on_demand_socket_path(self.cfg, path)
        name = self._name(path)
        if demand_path:
            policy = replace(policy, on_demand=True)
        vassal = Vassal(path=path, name=name, policy=policy)
        vassal.last_mod = self._mtime(path)
        self.vassals[path] = vassal
        if demand_path:
            try:
                sock = bind_unix(demand_path, int(self.cfg.listen or 100), self.socket_mode,
                                 str(self.cfg.chown_socket or ""))
            except (OSError, SatrapError) as exc:
                why = exc.strerror if isinstance(exc, OSError) else str(exc)
                log(f"[emperor] cannot bind the on-demand socket {demand_path} of vassal {name}: "
                    f"{why}; starting it now instead")
                vassal.policy = self.policy
            else:
                self.demand_socks[path] = sock
                self.demand_paths[path] = demand_path
                log(f"[emperor] vassal {name} is on demand: waiting on {demand_path}")
                self._learn_vassal(path)
        self._run_actions(vassal, vassal.start(now))

    # -- carrying actions out ---------------------------------------------------------------------
    def _run_actions(self, vassal: Vassal, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Log):
                log(action.line)
            elif isinstance(action, Spawn):
                self._spawn(vassal)
            elif isinstance(action, Send):
                self._send(vassal, action.message)
            elif isinstance(action, Kill):
                self._kill(vassal)
            elif isinstance(action, Listen):
                self._listen(vassal)
            elif isinstance(action, Forget):
                self._forget(vassal)

    def _tyrant_ids(self, vassal: Vassal) -> tuple[int, int] | str:
        try:
            st = os.stat(vassal.path)
        except OSError as exc:
            return f"cannot stat its file ({exc.strerror})"
        if st.st_uid == 0 or st.st_gid == 0:
            return f"invalid permissions for vassal {vassal.name}: owned by uid {st.st_uid} gid " \
                   f"{st.st_gid}, and a tyrant never runs a vassal as root"
        return st.st_uid, st.st_gid

    def _learn_vassal(self, path: str) -> None:
        """What the Emperor needs from a vassal's own file, read as the vassal will read it (a
        file that does not load has none of it): its ``stats`` address, for the Emperor's stats
        document (``satrap top`` and ``/metrics`` follow it to every vassal's workers), and, for
        an on-demand vassal, its ``subscribe-to``: while it sleeps the Emperor keeps announcing
        its on-demand socket to the fastrouter, so a request for its key still wakes it."""
        from satrap.config import load_config
        from satrap.errors import SatrapError

        env = vassal_env(self.environ, -1, None)
        env.pop("SATRAP__EMPEROR_FD", None)
        self.demand_subscribers.pop(path, None)
        try:
            vcfg = load_config(vassal_argv((), path, self.vassal_set, self.vassal_before, self.vassal_after), env)
        except (SatrapError, OSError):
            self.stats_addresses.pop(path, None)
            return
        demand_path = self.demand_paths.get(path)
        if demand_path and (getattr(vcfg, "subscribe_to", None) or getattr(vcfg, "subscribe2", None)):
            from satrap.fastrouter.subscriber import Subscriber

            try:
                self.demand_subscribers[path] = Subscriber(vcfg, address=demand_path)
            except SatrapError as err:
                log(f"[emperor] {path}: {err}")
        address = getattr(vcfg, "stats", None)
        if not address:
            self.stats_addresses.pop(path, None)
            return
        if not address.startswith(("http://", "@")) and ("/" in address or ":" not in address):
            # a unix socket: relative to where the vassal binds it (its chdir, else its directory)
            base = getattr(vcfg, "chdir", None) or os.path.dirname(path)
            address = os.path.normpath(os.path.join(os.path.dirname(path), base, address))
        self.stats_addresses[path] = address

    def _spawn(self, vassal: Vassal) -> None:
        now = self.now()
        self._close_link(vassal.path)
        ids: tuple[int, int] | None = None
        if self.tyrant:
            got = self._tyrant_ids(vassal)
            if isinstance(got, str):
                self._run_actions(vassal, vassal.spawn_failed(got, now))
                return
            ids = got
        parent, child = socket.socketpair()
        demand = self.demand_socks.get(vassal.path)
        demand_fd = demand.fileno() if demand is not None else None
        if demand is not None:
            self._unlisten(vassal.path)
        pass_fds = [child.fileno()] + ([demand_fd] if demand_fd is not None else [])
        env = vassal_env(self.environ, child.fileno(), demand_fd)
        argv = vassal_argv(self.command, vassal.path, self.vassal_set, self.vassal_before, self.vassal_after)
        self._learn_vassal(vassal.path)
        extra: dict[str, Any] = {}
        if ids is not None:
            extra = {"user": ids[0], "group": ids[1], "extra_groups": []}
        stamp = self.scanner.stamp(vassal.path)
        uid, gid = (stamp.uid, stamp.gid) if stamp is not None else (0, 0)
        preexec: Callable[[], None] = _set_parent_death_signal
        if has_hooks(self.cfg, "as-vassal"):
            preexec = _as_vassal(self.cfg, vassal.name, uid, gid, env)
        try:
            proc = subprocess.Popen(argv, cwd=os.path.dirname(vassal.path), env=env,
                                    pass_fds=pass_fds, stdin=subprocess.DEVNULL,
                                    preexec_fn=preexec,  # noqa: PLW1509 (single-threaded)
                                    **extra)
        except (OSError, subprocess.SubprocessError) as exc:
            parent.close()
            child.close()
            self._run_actions(vassal, vassal.spawn_failed(str(exc), now))
            return
        child.close()
        parent.setblocking(False)
        self.links[vassal.path] = parent
        self.selector.register(parent, selectors.EVENT_READ, ("link", vassal.path))
        self.procs[vassal.path] = proc
        self.by_pid[proc.pid] = vassal
        vassal.spawned(proc.pid, now)
        log(f"[emperor] vassal {vassal.name} started (pid: {proc.pid})" if vassal.respawns == 0
            else f"[emperor] vassal {vassal.name} respawned (new pid: {proc.pid}, "
                 f"respawns: {vassal.respawns})")
        if has_hooks(self.cfg, "as-emperor"):  # non-fatal: the vassal runs whatever its hooks do
            run_phase_for(self.cfg, "as-emperor", about=vassal.name,
                          env={"UWSGI_VASSAL_CONFIG": vassal.name, "UWSGI_VASSAL_PID": str(proc.pid),
                               "UWSGI_VASSAL_UID": str(uid), "UWSGI_VASSAL_GID": str(gid)},
                          values={"name": vassal.name, "pid": proc.pid, "uid": uid, "gid": gid})

    def _send(self, vassal: Vassal, message: Any) -> None:
        link = self.links.get(vassal.path)
        if link is None:
            return
        try:
            link.send(bytes((int(message),)))
        except OSError:
            pass  # the vassal is dying; waitpid will tell us

    def _kill(self, vassal: Vassal) -> None:
        if not vassal.pid:
            return
        for pid in [vassal.pid, *descendants(vassal.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _listen(self, vassal: Vassal) -> None:
        sock = self.demand_socks.get(vassal.path)
        if sock is None:
            return
        try:
            self.selector.register(sock, selectors.EVENT_READ, ("demand", vassal.path))
        except KeyError:
            return  # already armed
        if not has_hooks(self.cfg, "as-on-demand-vassal"):
            return
        if not run_phase_for(self.cfg, "as-on-demand-vassal", about=vassal.name,
                             env={"UWSGI_HOOK_CONTEXT": vassal.name}, values={"name": vassal.name}):
            # as uWSGI: the vassal is dropped; the scanner forgets its file, so the next scan
            # (at most SAFETY_INTERVAL/POLL_INTERVAL later) finds it again and retries
            log(f"[emperor] as-on-demand-vassal hook failed for vassal {vassal.name}: dropping it "
                "(retried at the next scan)")
            self.scanner.current.pop(vassal.path, None)
            self._run_actions(vassal, vassal.stop(self.now(), why="its as-on-demand-vassal hook failed"))

    def _unlisten(self, path: str) -> None:
        sock = self.demand_socks.get(path)
        if sock is not None:
            try:
                self.selector.unregister(sock)
            except (KeyError, ValueError):
                pass

    def _on_connection(self, path: str) -> None:
        """A client connected to a sleeping vassal's socket. We do not accept: the connection
        waits in the backlog until the vassal's workers accept it from the same socket."""
        self._unlisten(path)
        vassal = self.vassals.get(path)
        if vassal is not None:
            self._run_actions(vassal, vassal.connection(self.now()))

    def _forget(self, vassal: Vassal) -> None:
        path = vassal.path
        self.vassals.pop(path, None)
        subscriber = self.demand_subscribers.pop(path, None)
        if subscriber is not None:
            subscriber.goodbye()
        self._close_link(path)
        self.procs.pop(path, None)
        self._unlisten(path)
        sock = self.demand_socks.pop(path, None)
        if sock is not None:
            sock.close()
            demand_path = self.demand_paths.pop(path, "")
            try:
                os.unlink(demand_path)
            except OSError:
                pass
        if path in self.readd and not self.stopping:
            self.readd.discard(path)
            if self.scanner.stamp(path) is not None:
                self._add(path, self.now())

    def _close_link(self, path: str) -> None:
        link = self.links.pop(path, None)
        if link is not None:
            try:
                self.selector.unregister(link)
            except (KeyError, ValueError):
                pass
            link.close()

    # -- events from vassals ------------------------------------------------------------------------
    def _read_link(self, path: str) -> None:
        link = self.links.get(path)
        vassal = self.vassals.get(path)
        if link is None or vassal is None:
            return
        try:
            data = link.recv(256)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the vassal closed its end (exiting): waitpid does the rest
            try:
                self.selector.unregister(link)
            except (KeyError, ValueError):
                pass
            return
        now = self.now()
        for byte in data:
            try:
                msg = ToEmperor(byte)
            except ValueError:
                continue
            self._run_actions(vassal, vassal.message(msg, now))

    def _reap(self, now: float) -> None:
        """Collect every exited child: vassal masters, and (as a subreaper) the workers a dead
        master left behind, which the kernel re-parents to us."""
        deaths: list[tuple[Vassal, int]] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if self.fastrouter is not None and pid == self.fastrouter.pid:
                self.fastrouter.returncode = os.waitstatus_to_exitcode(status)
                if not self.stopping:
                    log(f"[emperor] the fastrouter (pid {pid}) died: starting it again")
                    self._start_fastrouter()
                continue
            vassal = self.by_pid.pop(pid, None)
            if vassal is None:
                continue  # an orphaned worker of a dead vassal master
            code = os.waitstatus_to_exitcode(status)
            proc = self.procs.pop(vassal.path, None)
            if proc is not None and proc.pid == pid:
                proc.returncode = code  # so subprocess never waits for it again
            if vassal.pid == pid:
                deaths.append((vassal, code))
        if not deaths:
            return
        self._kill_orphans()  # before any respawn: the new vassal needs the old one's port
        for vassal, code in deaths:
            self._read_link(vassal.path)  # messages sent just before exiting (GOODBYE)
            self._close_link(vassal.path)
            self._run_actions(vassal, vassal.died(code, now))

    def _kill_orphans(self) -> None:
        """Workers whose vassal master died are our children now (we are a subreaper). They
        would hold the vassal's port until they notice; the respawned vassal needs it now."""
        router = self.fastrouter.pid if self.fastrouter is not None and not self.stopping else -1
        orphans = [pid for pid in _children(self.pid) if pid not in self.by_pid and pid != router]
        if orphans:
            log(f"[emperor] killing {len(orphans)} orphaned process(es) of dead vassal masters: "
                + " ".join(map(str, orphans)))
        for pid in orphans:
            for victim in [pid, *descendants(pid)]:
                try:
                    os.kill(victim, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    # -- signals ----------------------------------------------------------------------------------------
    def _handle_signals(self, now: float) -> None:
        pending, self.signals = self.signals, []
        for signum in pending:
            if signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
                self.shutdown(now, signum)
            elif signum == signal.SIGHUP:
                log("[emperor] SIGHUP: reloading every vassal")
                for vassal in list(self.vassals.values()):
                    self._run_actions(vassal, vassal.reload(now))
            elif signum == signal.SIGUSR1:
                self._log_status()
            elif signum == signal.SIGURG:
                log("[emperor] SIGURG: clearing every vassal's throttle")
                for vassal in self.vassals.values():
                    vassal.fast_deaths = 0
                    if vassal.state is State.THROTTLED:
                        vassal.respawn_at = now
            elif signum == signal.SIGWINCH:
                self.next_scan = now

    def shutdown(self, now: float, signum: int = signal.SIGINT) -> None:
        """Ragnarok: stop every vassal gracefully (quickly on a second signal), then exit."""
        quick = self.stopping
        if quick:
            log("[emperor] stop requested again: asking every vassal to stop NOW")
        else:
            log(f"[emperor] {signal.Signals(signum).name} received: stopping {len(self.vassals)} "
                f"vassals (at most {self.policy.mercy:g} s)...")
            sd_notify("STOPPING=1\nSTATUS=The Emperor is stopping its vassals")
        self.stopping = True
        self.readd.clear()
        if self.fastrouter is not None and self.fastrouter.returncode is None:
            os.kill(self.fastrouter.pid, signal.SIGQUIT if quick else signal.SIGHUP)
        for vassal in list(self.vassals.values()):
            self._run_actions(vassal, vassal.stop(now, quick=quick))

    # -- status and stats --------------------------------------------------------------------------------
    def _status_line(self) -> str:
        return f"The Emperor is governing {len(self.vassals)} vassals"

    def _notify_status(self) -> None:
        if len(self.vassals) != self.notified_count:
            self.notified_count = len(self.vassals)
            sd_notify("STATUS=" + self._status_line())

    def _log_status(self) -> None:
        log(f"[emperor] {self._status_line()}")
        for vassal in self.vassals.values():
            log(f"[emperor] vassal {vassal.name} pid: {vassal.pid} state: {vassal.state.value} "
                f"respawns: {vassal.respawns} throttle: {vassal.throttle_delay():g} s")

    def stats(self) -> dict[str, Any]:
        """uWSGI's emperor-stats document (reference 4.5), with satrap's extra vassal fields."""
        vassals = []
        for vassal in self.vassals.values():
            extra: dict[str, Any] = {"on_demand": self.demand_paths.get(vassal.path, "")}
            if vassal.path in self.stats_addresses:
                extra["stats"] = self.stats_addresses[vassal.path]
            if self.tyrant:
                stamp = self.scanner.stamp(vassal.path)
                if stamp:
                    extra.update(uid=stamp.uid, gid=stamp.gid)
            vassals.append(vassal.stats(self.to_epoch, extra))
        blacklist = [{"id": v.name, "throttle_level": int(v.throttle_delay() * 1000),
                      "attempt": v.fast_deaths, "first_attempt": self.to_epoch(v.first_run),
                      "last_attempt": self.to_epoch(v.last_run)}
                     for v in self.vassals.values() if v.fast_deaths]
        return {
            "version": __version__,
            "pid": self.pid,
            "uid": os.getuid(),
            "gid": os.getgid(),
            "cwd": os.getcwd(),
            "emperor": list(self.cfg.emperor),
            "emperor_tyrant": int(self.tyrant),
            "throttle_level": 0,
            "vassals": vassals,
            "blacklist": blacklist,
        }

    def _serve_stats(self) -> None:
        assert self.stats_sock is not None
        try:
            conn, _ = self.stats_sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        with conn:
            conn.settimeout(1.0)
            try:
                conn.sendall(json.dumps(self.stats(), indent="\t").encode())
            except OSError:
                pass

    # -- the end ------------------------------------------------------------------------------------------
    def _cleanup(self) -> None:
        for path in list(self.demand_socks):
            sock = self.demand_socks.pop(path)
            sock.close()
            try:
                os.unlink(self.demand_paths.pop(path, ""))
            except OSError:
                pass
        if self.stats_sock is not None:
            addr = self.stats_sock.getsockname()
            self.stats_sock.close()
            if isinstance(addr, str) and addr:
                try:
                    os.unlink(addr)
                except OSError:
                    pass
        self.watcher.close()
        if self.pidfile and self.cfg.vacuum:
            try:
                os.unlink(self.pidfile)
            except OSError:
                pass
        signal.set_wakeup_fd(-1)
