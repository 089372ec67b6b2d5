"""The master: forks the workers, keeps them alive, and turns signals into reloads and stops.

Lifecycle (uWSGI 2.0's, with the weak spots fixed):
- SIGHUP (and ``--reload``, ``touch-reload``, ``py-autoreload``, SIGTERM without ``die-on-term``):
  graceful reload. The new config is checked first (a broken edit keeps the old instance
  running). Workers are told to finish their in-flight requests; the master re-executes itself at
  once with the same pid, handing down the listening sockets (never closed, so no client is
  refused) and the pids of the old workers, which the new image reaps (SIGKILL after the mercy)
  while its new workers already accept.
- SIGINT (``--stop``), SIGTERM with ``die-on-term``: graceful shutdown. Unlike uWSGI, in-flight
  requests finish (bounded by ``worker-reload-mercy``), new connections are not accepted.
- SIGQUIT, or a second SIGINT: quick shutdown (workers get SIGQUIT and end at once).
- SIGTTIN/SIGTTOU: one worker more/less. SIGUSR1: worker stats to the log.
"""

from __future__ import annotations

import enum
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from satrap.config.model import CRON_OPTIONS
from satrap.emperor.wire import ToEmperor, ToVassal, VassalLink
from satrap.errors import ConfigError, ExitCode
from satrap.log import log
from satrap.master.signals import SignalQueue
from satrap.master.workers import State, WorkerSlot
from satrap.net.listeners import INHERIT_ENV, Listener, export_listeners
from satrap.net.listenq import ListenQueueMonitor
from satrap.proctitle import set_title
from satrap.scoreboard import Scoreboard
from satrap.worker.context import CHILD_SIGNALS

if TYPE_CHECKING:
    from satrap.cron import CronTable
    from satrap.fastrouter.subscriber import NotifyListener, Subscriber

OLD_WORKERS_ENV = "SATRAP__OLD_WORKERS"
RELOADS_ENV = "SATRAP__RELOADS"
_QUICK_MERCY = 3.0
_TICK = 0.25


class Mode(enum.Enum):
    RUNNING = "running"
    CHEAP = "cheap"  # idle: no workers; the first connection brings them back
    SHUTDOWN = "shutdown"


class Master:
    def __init__(self, cfg: Any, listeners: list[Listener], app: Any,
                 run_worker: Callable[..., int], start_cwd: str,
                 on_exit: Callable[[], None]) -> None:
        self.cfg = cfg
        self.listeners = listeners
        self.worker_listeners = [lst for lst in listeners if lst.role == "worker"]
        self.router_listeners = [lst for lst in listeners if lst.role == "router"]
        self.fastrouter_listeners = [lst for lst in listeners if lst.role == "fastrouter"]
        # processes supervised like workers that are not workers: the --http router ("http 1"),
        # spoolers ("spooler 1"), attached daemons ("daemon 1")
        self.gateways: dict[str, WorkerSlot] = {}
        self.app = app
        self.run_worker = run_worker
        self.start_cwd = start_cwd
        self.on_exit = on_exit
        self.lazy = bool(cfg.lazy_apps or cfg.lazy)
        self.processes = max(1, int(cfg.processes or 1))
        self.mercy = float(cfg.worker_reload_mercy or 60)
        self.harakiri = int(cfg.harakiri or 0)
        self.scoreboard = Scoreboard(max(64, self.processes * 4))
        self.slots: dict[int, WorkerSlot] = {}
        self.by_pid: dict[int, WorkerSlot] = {}
        self.old_workers: dict[int, float] = {}  # pid -> SIGKILL deadline (monotonic)
        self.mode = Mode.RUNNING
        self.quick_stop = False
        self.exit_code = 0
        self.signals = SignalQueue()
        self.pid = os.getpid()
        self.started = time.time()
        self.touched: dict[str, tuple[float, str]] = {}  # path -> (mtime, action)
        for action, paths in (("reload", cfg.touch_reload), ("workers", cfg.touch_workers_reload),
                              ("chain", cfg.touch_chain_reload),
                              ("logreopen", getattr(cfg, "touch_logreopen", None))):
            for path in paths or []:
                self.touched[path] = (_mtime(path), action)
        self.chain: list[int] = []  # chain reload: worker ids still to replace
        self.chain_current: tuple[int, int] | None = None  # (wid, pid being replaced)
        self.fifos: dict[int, str] = {}  # read fd -> path (master-fifo)
        self._fifo_keep: list[int] = []
        self.reloads = int(os.environ.get(RELOADS_ENV, "0") or 0)
        self.link = VassalLink.from_environ(os.environ)
        self.loyal = False
        self.idle = int(getattr(cfg, "idle", 0) or 0)
        self.die_on_idle = bool(getattr(cfg, "die_on_idle", False))
        self.last_activity = time.monotonic()
        self.last_requests = 0
        self.cheaper = int(getattr(cfg, "cheaper", 0) or 0)
        if self.cheaper >= self.processes:
            log(f"cheaper = {self.cheaper} must be lower than processes = {self.processes}: cheaper mode off")
            self.cheaper = 0
        self.cheap: set[int] = set()  # worker ids stopped by the cheaper algorithm
        self.overload_since: float | None = None
        self.spare_since: float | None = None
        self.next_cheaper_check = 0.0
        self.cron: CronTable | None = None
        if any(cfg.get(n) for n in CRON_OPTIONS):
            from satrap.cron import CronTable

            self.cron = CronTable(cfg)
        self.subscriber: Subscriber | None = None
        self.notify: NotifyListener | None = None
        # imported only when asked for: the master's heap is shared by every worker it forks
        subscribe = getattr(cfg, "subscribe_to", None) or getattr(cfg, "subscribe2", None)
        if subscribe or getattr(cfg, "notify_socket", None):
            from satrap.fastrouter.subscriber import NotifyListener, Subscriber, notify_path

            # subscribe-to: announce this instance to a fastrouter's subscription server
            self.subscriber = Subscriber(cfg, self.worker_listeners) if subscribe else None
            # notify-socket (and subscription-notify-socket): datagrams logged as "[notify-socket] ..."
            if getattr(cfg, "notify_socket", None):
                path = str(cfg.notify_socket)
                self.notify = NotifyListener.open(path if path.startswith("@") else os.path.abspath(path),
                                                  only_if_free=False)
            elif self.subscriber is not None and getattr(cfg, "subscription_notify_socket", None):
                self.notify = NotifyListener.open(notify_path(cfg), only_if_free=True)
        # the accept queue of every listener, looked at once a second (uWSGI's listen_queue)
        self.listenq = ListenQueueMonitor((_socket_name(lst), lst.sock) for lst in listeners)
        self._adopt_old_workers()

    # -- start --------------------------------------------------------------------------------
    def _adopt_old_workers(self) -> None:
        """Workers of the image before a reload are still our children: reap them, bounded."""
        text = os.environ.pop(OLD_WORKERS_ENV, "")
        now = time.monotonic()
        for item in filter(None, text.split(",")):
            pid, _, left = item.partition(":")
            if pid.isdigit():
                self.old_workers[int(pid)] = now + float(left or self.mercy)

    def run(self) -> int:
        from satrap.hooks import run_phase

        set_title(self.cfg, "master")
        self.signals.install()
        run_phase(self.cfg, "master-start")
        log(f"spawned satrap master process (pid: {self.pid})")
        if self.mercy != 60:
            log(f"your mercy for graceful operations on workers is {int(self.mercy)} seconds")
        import gc

        gc.freeze()  # keep the preloaded app's objects on shared copy-on-write pages
        if self.link is not None:
            log(f"*** has_emperor mode detected (fd: {self.link.fileno()}) ***")
            self.link.send(ToEmperor.SPAWNED)
        initial = self.processes
        if self.cheaper:
            initial = max(1, min(self.processes, int(self.cfg.cheaper_initial or self.cheaper)))
            log(f"cheaper mode: {initial} of {self.processes} workers at start, never fewer than "
                f"{self.cheaper} (algorithm: spare)")
        for wid in range(1, self.processes + 1):
            self.slots[wid] = WorkerSlot(wid)
            if wid <= initial:
                self._spawn(self.slots[wid])
            else:
                self.cheap.add(wid)
                self.slots[wid].respawn_at = float("inf")
        if self.router_listeners:
            self.gateways["http 1"] = WorkerSlot(1, role="http")
        if self.fastrouter_listeners or getattr(self.cfg, "fastrouter_subscription_server", None):
            self.gateways["fastrouter 1"] = WorkerSlot(1, role="fastrouter")
        self.spooler_dirs: dict[int, str] = {}  # spooler index -> its directory
        per_dir = max(1, int(getattr(self.cfg, "spooler_processes", 1) or 1))
        index = 0
        for directory in getattr(self.cfg, "spooler", None) or []:
            for _ in range(per_dir):
                index += 1
                self.spooler_dirs[index] = directory
                self.gateways[f"spooler {index}"] = WorkerSlot(index, role="spooler")
        for i, _command in enumerate(getattr(self.cfg, "attach_daemon", None) or [], 1):
            self.gateways[f"daemon {i}"] = WorkerSlot(i, role="daemon")
        for slot in self.gateways.values():
            self._spawn(slot)
        if self.link is not None:
            self.link.send(ToEmperor.ACCEPTING)
        stats = self._start_stats()
        self._open_fifos()
        while True:
            ready = self._wait()
            for signum in self.signals.drain():
                self._on_signal(signum)
            if self.link is not None and self.link.fileno() in ready:
                self._on_emperor()
            for fd in ready & self.fifos.keys():
                self._on_fifo(fd)
            if self.notify is not None and self.notify.fileno() in ready:
                for message in self.notify.drain():
                    log(f"[notify-socket] {message}")
            if self.mode is Mode.CHEAP and any(lst.sock.fileno() in ready for lst in self.worker_listeners):
                self._wake_from_cheap()
            self._reap()
            now = time.monotonic()
            self._tick(now)
            self._watch_activity(now)
            if self.mode is not Mode.SHUTDOWN:
                for line in self.listenq.check(now):
                    log(line)
            if self.subscriber is not None and self.mode is not Mode.SHUTDOWN:
                self.subscriber.tick(time.time())
            if self.mode is Mode.SHUTDOWN and not self.by_pid and not self.old_workers:
                break
        if stats is not None:
            stats.close()
        if self.notify is not None:
            self.notify.close()
        log("goodbye to satrap.")
        self.on_exit()
        return self.exit_code

    def _start_stats(self) -> Any:
        """``--stats ADDR``: a thread of the master answers with :meth:`stats_view` data."""
        if not getattr(self.cfg, "stats", None):
            return None
        from satrap.stats.server import StatsServer

        server = StatsServer(self.cfg.stats, self.stats_view, http=bool(self.cfg.stats_http),
                             minified=bool(getattr(self.cfg, "stats_minified", False)),
                             cores=not getattr(self.cfg, "stats_no_cores", False))
        server.start()
        log(f"stats server enabled on {self.cfg.stats} fd: {server.fileno()}")
        return server

    def _wait(self) -> set[int]:
        fds = [self.signals.read_fd, *self.fifos]
        if self.link is not None and not self.link.lost:
            fds.append(self.link.fileno())
        if self.notify is not None:
            fds.append(self.notify.fileno())
        if self.mode is Mode.CHEAP:
            fds.extend(lst.sock.fileno() for lst in self.worker_listeners)
        try:
            ready, _, _ = select.select(fds, [], [], _TICK)
        except InterruptedError:
            return set()
        return set(ready)

    # -- the Emperor and idleness -----------------------------------------------------------
    def _on_emperor(self) -> None:
        assert self.link is not None
        # uWSGI runs emperor-stop/-reload/-lost here, in the vassal's master, non-fatal
        from satrap.hooks import run_phase_for

        for command in self.link.read():
            if command is ToVassal.RELOAD:
                log("[emperor] reload requested")
                run_phase_for(self.cfg, "emperor-reload")
                self._reload()
            elif command is ToVassal.GRACEFUL_STOP:
                log("[emperor] graceful stop requested")
                run_phase_for(self.cfg, "emperor-stop")
                self._shutdown(quick=False)
            elif command is ToVassal.STOP:
                log("[emperor] stop requested")
                run_phase_for(self.cfg, "emperor-stop")
                self._shutdown(quick=True)
        if self.link.lost and self.mode is not Mode.SHUTDOWN:
            log("lost connection with my emperor !!!")
            run_phase_for(self.cfg, "emperor-lost")
            self._shutdown(quick=False)

    def _total_requests(self) -> tuple[int, bool]:
        total, busy = 0, False
        for wid in self.slots:
            st = self.scoreboard.read(wid)
            total += st.requests
            busy = busy or bool(st.request_start)
        return total, busy

    def _watch_activity(self, now: float) -> None:
        """LOYAL for the Emperor after the first request; ``idle``/``die-on-idle``."""
        if self.mode is not Mode.RUNNING or (self.loyal and not self.idle):
            return
        total, busy = self._total_requests()
        if total != self.last_requests or busy:
            self.last_requests = total
            self.last_activity = now
            if total and not self.loyal:
                self.loyal = True
                if self.link is not None:
                    self.link.send(ToEmperor.LOYAL)
            return
        if self.idle and now - self.last_activity >= self.idle:
            if self.die_on_idle:
                log(f"workers have been inactive for more than {self.idle} seconds: die-on-idle, exiting")
                if self.link is not None:
                    self.link.send(ToEmperor.GOODBYE)
                self._shutdown(quick=False)
            else:
                log(f"workers have been inactive for more than {self.idle} seconds: cheap mode")
                self.mode = Mode.CHEAP
                for slot in self.slots.values():
                    self._stop_worker(slot, signal.SIGHUP, self.mercy)

    def _wake_from_cheap(self) -> None:
        log("a connection arrived: leaving cheap mode, spawning workers")
        self.mode = Mode.RUNNING
        self.last_activity = time.monotonic()
        self.last_requests = 0
        for slot in self.slots.values():
            if slot.state is State.WAITING:
                slot.respawn_at = 0.0

    # -- workers --------------------------------------------------------------------------------
    def _spawn(self, slot: WorkerSlot) -> None:
        if slot.role == "worker":
            self.scoreboard.reset(slot.wid)
        # a stop signal sent right after the fork must wait until the child has its own
        # handlers (the child unblocks once they are in place), never hit a default action
        saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, CHILD_SIGNALS)
        pid = os.fork()
        if pid != 0:
            signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)
        if pid == 0:  # the worker (or the router)
            code = 1
            try:
                SignalQueue.reset_in_child()
                os.close(self.signals.read_fd)
                os.close(self.signals.write_fd)
                if self.link is not None:
                    self.link.sock.close()
                code = self._child_body(slot)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - a forked child must never unwind into the master's code
                import traceback

                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        now = time.monotonic()
        slot.pid = pid
        slot.state = State.RUNNING
        slot.born = now
        slot.born_epoch = time.time()
        self.by_pid[pid] = slot
        if slot.role == "worker":
            log(f"spawned satrap worker {slot.wid} (pid: {pid}, cores: {int(self.cfg.threads or 1)})")
        else:
            log(f"spawned satrap {slot.role} {slot.wid} (pid: {pid})")

    def _child_body(self, slot: WorkerSlot) -> int:
        """Runs in the forked child: each process keeps only the listening sockets it serves."""
        keep = {"worker": self.worker_listeners, "http": self.router_listeners,
                "fastrouter": self.fastrouter_listeners}.get(slot.role, [])
        for lst in self.listeners:
            if lst not in keep:
                lst.sock.close()
        if slot.role == "worker":
            return self.run_worker(self.cfg, keep, slot.wid, self.app, self.lazy,
                                   self.scoreboard, self.pid)
        if slot.role != "worker":
            signal.pthread_sigmask(signal.SIG_UNBLOCK, CHILD_SIGNALS)  # they set their own handlers
        if slot.role == "spooler":
            from satrap.uwsgi_api.spooler import run_spooler

            return int(run_spooler(self.cfg, self.spooler_dirs[slot.wid], slot.wid, self.pid))
        if slot.role == "fastrouter":
            from satrap.fastrouter.process import run_fastrouter

            return int(run_fastrouter(self.cfg, keep, slot.wid))
        if slot.role == "daemon":
            set_title(self.cfg, f"daemon {slot.wid}")
            command = self.cfg.attach_daemon[slot.wid - 1]
            os.execv("/bin/sh", ["/bin/sh", "-c", command])
        from satrap.net.listeners import router_upstream
        from satrap.router.process import run_router

        upstream = router_upstream(self.worker_listeners)
        assert upstream is not None
        return int(run_router(self.cfg, keep, upstream, slot.wid))

    @staticmethod
    def _on_demand() -> bool:
        from satrap.emperor.wire import ON_DEMAND_FD_ENV

        return ON_DEMAND_FD_ENV in os.environ

    def _front(self) -> list[WorkerSlot]:
        """Gateways that feed the workers (the router): they drain before the workers stop."""
        return [g for g in self.gateways.values() if g.role == "http"]

    def _all_slots(self) -> list[WorkerSlot]:
        return [*self.slots.values(), *self.gateways.values()]

    def _stop_worker(self, slot: WorkerSlot, sig: int, mercy: float) -> None:
        if slot.state is not State.RUNNING:
            return
        if slot.role == "daemon" and sig == signal.SIGHUP:
            sig = signal.SIGTERM  # an attached daemon is any program: SIGTERM is its polite stop
        slot.state = State.STOPPING
        slot.stop_deadline = time.monotonic() + mercy
        _kill(slot.pid, sig)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.old_workers:
                del self.old_workers[pid]
                continue
            if self.cron:
                self.cron.finished(pid)
            slot = self.by_pid.pop(pid, None)
            if slot is None:
                continue
            self._on_death(slot, status)

    def _on_death(self, slot: WorkerSlot, status: int) -> None:
        now = time.monotonic()
        if slot.role == "worker":
            self.scoreboard.not_accepting(slot.wid)  # its siblings stop leaving connections to it
        how = _describe_status(status)
        what = {"worker": "worker", "http": "http router"}.get(slot.role, slot.role)
        if slot.state is State.STOPPING:
            log(f"{what} {slot.wid} buried after {int(now - slot.born)} seconds ({how})")
            slot.pid = 0
            if self.mode is Mode.CHEAP:
                slot.state = State.WAITING
                slot.respawn_at = float("inf")
                return
            if self.mode is Mode.SHUTDOWN or (slot.role == "worker" and slot.wid > self.processes):
                if slot.role == "worker" and slot.wid > self.processes:
                    self.slots.pop(slot.wid, None)
                slot.state = State.WAITING
                slot.respawn_at = float("inf")
                return
            slot.fast_deaths = 0
            slot.state = State.WAITING
            slot.respawn_at = now
            return
        code = os.waitstatus_to_exitcode(status)
        if code == ExitCode.APP_LOAD and self.cfg.need_app and slot.role == "worker":
            log(f"worker {slot.wid} could not load the app and need-app is set: shutting down (status 22)")
            self.exit_code = int(ExitCode.APP_LOAD)
            slot.state = State.WAITING
            slot.respawn_at = float("inf")
            self._shutdown(quick=True)
            return
        if self.mode is Mode.SHUTDOWN:
            slot.state = State.WAITING
            slot.respawn_at = float("inf")
            return
        if code == 0:
            log(f"{what} {slot.wid} (pid: {slot.pid}) finished its work (recycled), respawning")
            slot.fast_deaths = 0
            slot.pid = 0
            slot.state = State.WAITING
            slot.respawn_at = now
            slot.respawns += 1
            return
        pid = slot.pid
        delay = slot.died(now)
        slot.respawns += 1
        log(f"DAMN ! {what} {slot.wid} (pid: {pid}) died, {how} :( trying respawn ...")
        if delay:
            log(f"{what} {slot.wid} respawning too fast !!! backing off {delay:g} seconds "
                f"(fast deaths in a row: {slot.fast_deaths})")

    # -- periodic duties ----------------------------------------------------------------------------
    def _tick(self, now: float) -> None:
        for slot in self._all_slots():
            respawnable = self.mode is Mode.RUNNING or (self.mode is Mode.CHEAP and slot.role != "worker")
            if slot.role == "worker" and slot.wid in self.cheap:
                respawnable = False
            if slot.state is State.WAITING and slot.respawn_at <= now and respawnable:
                if slot.role != "worker" or slot.wid <= self.processes:
                    self._spawn(slot)
                    if slot.respawns:
                        log(f"Respawned satrap {slot.role} {slot.wid} (new pid: {slot.pid})")
                else:
                    self.slots.pop(slot.wid, None)
            elif slot.state is State.STOPPING and now >= slot.stop_deadline:
                log(f"worker {slot.wid} (pid: {slot.pid}) is taking too much time to die...NO MERCY !!!")
                _kill(slot.pid, signal.SIGKILL)
                slot.stop_deadline = float("inf")
            elif slot.state is State.RUNNING and self.harakiri and slot.role == "worker":
                self._check_harakiri(slot)
        # graceful stop, second step: the router has drained, now the workers may go
        if (self.mode is Mode.SHUTDOWN and self._front() and not self.quick_stop
                and all(g.state is State.WAITING for g in self._front())):
            for slot in self.slots.values():
                self._stop_worker(slot, signal.SIGHUP, self.mercy)
        for pid, deadline in list(self.old_workers.items()):
            if now >= deadline:
                log(f"worker of the previous generation (pid: {pid}) is taking too much time to die...NO MERCY !!!")
                _kill(pid, signal.SIGKILL)
                self.old_workers[pid] = float("inf")
        if self.touched and self.mode is Mode.RUNNING:
            for path, (old, action) in list(self.touched.items()):
                new = _mtime(path)
                if new != old:
                    self.touched[path] = (new, action)
                    if action == "reload":
                        log(f"*** {path} has been touched... graceful reload !!! ***")
                        self._reload()
                    elif action == "workers":
                        log(f"*** {path} has been touched... workers reload !!! ***")
                        self._reload_workers()
                    elif action == "logreopen":
                        self._reopen_logs()
                    else:
                        log(f"*** {path} has been touched... chain reload !!! ***")
                        self._chain_reload()
                    break
        if self.chain or self.chain_current:
            self._advance_chain()
        if self.cheaper and self.mode is Mode.RUNNING and now >= self.next_cheaper_check:
            self.next_cheaper_check = now + 1.0
            self._cheaper_tick(now)
        if self.cron and self.mode is not Mode.SHUTDOWN:
            for command in self.cron.due(time.time()):
                self._run_command(self.cron, command)

    def _cheaper_tick(self, now: float) -> None:
        """uWSGI's ``spare`` algorithm: every worker busy for ``cheaper-overload`` seconds → start
        ``cheaper-step`` more (up to ``processes``); a worker idle that long while more than
        ``cheaper`` run → stop one (the highest id), at most one per overload period."""
        running = [s for s in self.slots.values() if s.state is State.RUNNING and s.wid not in self.cheap]
        busy = sum(1 for s in running if self.scoreboard.read(s.wid).request_start)
        overload = float(self.cfg.cheaper_overload or 3)
        if running and busy == len(running):
            self.spare_since = None
            if self.overload_since is None:
                self.overload_since = now
            elif now - self.overload_since >= overload and self.cheap:
                for wid in sorted(self.cheap)[:max(1, int(self.cfg.cheaper_step or 1))]:
                    self.cheap.discard(wid)
                    self.slots[wid].respawn_at = now
                    log(f"cheaper: all {len(running)} workers busy for {overload:g} s, spawning worker {wid}")
                self.overload_since = None
            return
        self.overload_since = None
        if len(running) <= self.cheaper or busy == len(running):
            self.spare_since = None
            return
        if self.spare_since is None:
            self.spare_since = now
        elif now - self.spare_since >= overload:
            idle = [s for s in running if not self.scoreboard.read(s.wid).request_start]
            victim = max(idle, key=lambda s: s.wid)
            self.cheap.add(victim.wid)
            log(f"cheaper: worker {victim.wid} idle, stopping it ({len(running) - 1} left)")
            self._stop_worker(victim, signal.SIGHUP, self.mercy)
            self.spare_since = now

    def _run_command(self, cron: CronTable, command: str) -> None:
        """A cron job: a shell command in the background, reaped by the master's loop."""
        pid = os.fork()
        if pid == 0:
            try:
                os.execv("/bin/sh", ["/bin/sh", "-c", command])
            finally:
                os._exit(127)
        log(f"[satrap-cron] running \"{command}\" (pid {pid})")
        cron.started(command, pid)

    def _reopen_logs(self) -> None:
        """After logrotate renamed the log: every process re-opens ``logto`` by name. Each
        process swaps its fd 1/2 with one ``dup2``, so a line lands whole in the old file or the
        new one, and none is lost."""
        path = self.cfg.logto or self.cfg.logto2 or self.cfg.daemonize
        if not path:
            log("log reopen requested, but satrap is not logging to a file (logto/daemonize)")
            return
        from satrap.log import redirect_to_file

        redirect_to_file(os.path.join(self.start_cwd, path))
        log(f"log file {path} reopened")
        for slot in self._all_slots():
            if slot.state is State.RUNNING and slot.role in ("worker", "http"):
                _kill(slot.pid, signal.SIGUSR2)

    # -- reloading workers only (lazy-apps: new code without a new master) ---------------------
    def _reload_workers(self) -> None:
        """Every worker finishes its requests and is replaced (``touch-workers-reload``, ``w``)."""
        for slot in self.slots.values():
            self._stop_worker(slot, signal.SIGHUP, self.mercy)

    def _chain_reload(self) -> None:
        """One worker at a time; the next goes only when its predecessor's successor accepts, so
        capacity never drops by more than one worker (``touch-chain-reload``, ``c``)."""
        if not self.lazy:
            log("chain reload without lazy-apps: workers are forked from the master's old copy of "
                "the app, so they would not see new code; use a graceful reload (SIGHUP) instead")
        self.chain = sorted(self.slots)
        self.chain_current = None
        log(f"chain reload starting ({len(self.chain)} workers)")

    def _advance_chain(self) -> None:
        if self.mode is not Mode.RUNNING:
            self.chain, self.chain_current = [], None
            return
        if self.chain_current is not None:
            wid, old_pid = self.chain_current
            slot = self.slots.get(wid)
            if slot is not None and not (slot.state is State.RUNNING and slot.pid != old_pid
                                         and self.scoreboard.read(wid).accepting):
                return  # its successor is not accepting yet
            if slot is not None:
                log(f"chain reload: worker {wid} (pid: {old_pid}) replaced by pid {slot.pid}")
            self.chain_current = None
        while self.chain:
            wid = self.chain.pop(0)
            slot = self.slots.get(wid)
            if slot is not None and slot.state is State.RUNNING:
                self.chain_current = (wid, slot.pid)
                self._stop_worker(slot, signal.SIGHUP, self.mercy)
                return
        log("chain reload complete")

    # -- master-fifo ----------------------------------------------------------------------------
    def _open_fifos(self) -> None:
        import stat as stat_mod

        for path in self.cfg.master_fifo or []:
            try:
                if not stat_mod.S_ISFIFO(os.stat(path).st_mode):
                    log(f"master-fifo {path} exists and is not a fifo: ignored")
                    continue
            except FileNotFoundError:
                os.mkfifo(path, 0o600)
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            # our own writer keeps the fifo from reading EOF (and waking us) once a writer leaves
            self._fifo_keep.append(os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC))
            self.fifos[fd] = path
            log(f"master fifo {path} ready")

    def _on_fifo(self, fd: int) -> None:
        try:
            data = os.read(fd, 512)
        except (BlockingIOError, InterruptedError):
            return
        actions: dict[str, Callable[[], None]] = {
            "r": self._reload, "R": self._reload,
            "q": lambda: self._shutdown(quick=False), "Q": lambda: self._shutdown(quick=True),
            "w": self._reload_workers, "W": self._reload_workers,
            "c": self._chain_reload, "s": self._log_stats, "l": self._reopen_logs,
            "+": lambda: self._on_signal(signal.SIGTTIN), "-": lambda: self._on_signal(signal.SIGTTOU),
        }
        for char in data.decode("ascii", "replace"):
            action = actions.get(char)
            if action is not None:
                action()
            elif not char.isspace():
                log(f"master-fifo: unknown command {char!r}")

    def _check_harakiri(self, slot: WorkerSlot) -> None:
        st = self.scoreboard.read(slot.wid)
        if st.request_start and time.time() - st.request_start > self.harakiri:
            log(f"*** HARAKIRI ON WORKER {slot.wid} (pid: {slot.pid}, try: 1) ***")
            log(f"HARAKIRI: --- satrap worker {slot.wid} (pid: {slot.pid}) WAS managing request "
                f"{st.uri} since {time.ctime(st.request_start)} ---")
            slot.harakiri_count += 1
            _kill(slot.pid, signal.SIGKILL)
            self.scoreboard.reset(slot.wid)

    # -- signals --------------------------------------------------------------------------------------
    def _on_signal(self, signum: int) -> None:
        if signum == signal.SIGCHLD:
            return
        if signum == signal.SIGHUP:
            self._reload()
        elif signum == signal.SIGTERM:
            if self.cfg.die_on_term:
                log("SIGTERM received: graceful shutdown (die-on-term)")
                self._shutdown(quick=False)
            else:
                log("SIGTERM received: graceful reload (uWSGI 2.0 semantics; set die-on-term to stop)")
                self._reload()
        elif signum == signal.SIGINT:
            self._shutdown(quick=self.mode is Mode.SHUTDOWN)
        elif signum == signal.SIGQUIT:
            self._shutdown(quick=True)
        elif signum == signal.SIGUSR1:
            self._log_stats()
        elif signum == signal.SIGUSR2:
            self._reopen_logs()
        elif signum == signal.SIGTTIN:
            self.processes += 1
            slot = self.slots.setdefault(self.processes, WorkerSlot(self.processes))
            slot.state = State.WAITING
            slot.respawn_at = 0.0
            log(f"SIGTTIN: one worker more ({self.processes} now)")
        elif signum == signal.SIGTTOU and self.processes > 1:
            gone = self.slots.get(self.processes)
            self.processes -= 1
            log(f"SIGTTOU: one worker less ({self.processes} now)")
            if gone is not None and gone.state is State.RUNNING:
                self._stop_worker(gone, signal.SIGHUP, self.mercy)
            elif gone is not None:
                self.slots.pop(gone.wid, None)

    def stats_view(self) -> dict[str, Any]:
        """A snapshot of the instance in plain data, for the stats server (any thread may call
        it: it only copies)."""
        workers = []
        for wid, slot in sorted(dict(self.slots).items()):
            st = self.scoreboard.read(wid)
            state = "cheap" if self.mode is Mode.CHEAP or wid in self.cheap else slot.state.value
            workers.append({
                "id": wid, "pid": slot.pid, "state": state, "status": st.status if slot.pid else "cheap",
                "requests": st.requests, "exceptions": st.exceptions, "tx": st.tx,
                "avg_rt": st.avg_rt, "running_time": st.running_time,
                "request_start": st.request_start, "uri": st.uri,
                "respawn_count": slot.respawns, "harakiri_count": slot.harakiri_count,
                "last_spawn": int(slot.born_epoch), "status_classes": list(st.status_classes),
                "latency_buckets": list(st.latency_buckets), "offloaded_requests": st.offloaded,
            })
        queues = self.listenq.read()  # fresh: a stats reader sees the queue as it is now
        return {
            "pid": self.pid,
            "started": self.started,
            "mode": self.mode.value,
            "threads": int(self.cfg.threads or 1),
            "processes": self.processes,
            "sockets": [{"name": _socket_name(lst), "proto": lst.proto,
                         "fd": lst.sock.fileno() if lst.sock.fileno() >= 0 else -1,
                         "queue": q.queue, "max_queue": q.max_queue}
                        for lst, q in zip(self.listeners, queues)],
            "listen_queue_errors": self.listenq.errors,
            "workers": workers,
        }

    def _log_stats(self) -> None:
        log(f"*** satrap master {self.pid}: {len(self.by_pid)} workers ***")
        for wid, slot in sorted(self.slots.items()):
            st = self.scoreboard.read(wid)
            log(f"worker {wid} pid: {slot.pid} state: {slot.state.value} requests: {st.requests} "
                f"exceptions: {st.exceptions} tx: {st.tx} avg_rt: {st.avg_rt}us "
                f"respawns: {slot.respawns} harakiri: {slot.harakiri_count}")

    def _shutdown(self, quick: bool) -> None:
        if quick:
            log("quick shutdown: killing workers...")
        elif self.mode is not Mode.SHUTDOWN:
            log(f"graceful shutdown: workers finish their requests (at most {int(self.mercy)} s)...")
        if self.subscriber is not None and self.mode is not Mode.SHUTDOWN and not self._on_demand():
            self.subscriber.goodbye()  # an on-demand vassal stays subscribed: the socket wakes it
        self.mode = Mode.SHUTDOWN
        self.quick_stop = self.quick_stop or quick
        front = self._front()
        for listener in self.router_listeners if front and not quick else self.listeners:
            try:
                listener.sock.close()  # the kernel refuses new connections from now on
            except OSError:
                pass
        # graceful: the router drains first (its in-flight requests still need the workers);
        # the workers get their SIGHUP from _tick once it is gone
        first = (self._all_slots() if quick or not front
                 else [g for g in self.gateways.values()])  # workers follow once the router is gone
        for slot in first:
            if quick:
                if slot.state is State.RUNNING or slot.state is State.STOPPING:
                    slot.state = State.STOPPING
                    slot.stop_deadline = min(slot.stop_deadline or float("inf"),
                                             time.monotonic() + _QUICK_MERCY)
                    _kill(slot.pid, signal.SIGQUIT)
            else:
                self._stop_worker(slot, signal.SIGHUP, self.mercy)
        if quick:
            for pid in self.old_workers:
                _kill(pid, signal.SIGQUIT)

    def _reload(self) -> None:
        if self.mode is Mode.SHUTDOWN:
            return
        from satrap.config import load_config

        here = os.getcwd()
        try:
            os.chdir(self.start_cwd)  # relative config paths mean what they meant at start
            load_config(self.cfg.argv, dict(os.environ))
        except ConfigError as err:
            log(f"reload refused, the running instance stays as it is: {err}")
            os.chdir(here)
            return
        except OSError as err:
            log(f"reload refused, the start directory {self.start_cwd} is gone: {err}")
            return
        log("...gracefully killing workers: they finish in-flight requests; new workers start now...")
        now = time.monotonic()
        old = []
        for slot in self._all_slots():
            if slot.state in (State.RUNNING, State.STOPPING) and slot.pid:
                if slot.state is State.RUNNING:
                    _kill(slot.pid, signal.SIGTERM if slot.role == "daemon" else signal.SIGHUP)
                    deadline = self.mercy
                else:
                    deadline = max(0.0, slot.stop_deadline - now)
                old.append(f"{slot.pid}:{deadline:.3f}")
        for pid, deadline in self.old_workers.items():
            old.append(f"{pid}:{max(0.0, deadline - now):.3f}")
        env = dict(os.environ)
        if self.link is not None:
            os.set_inheritable(self.link.fileno(), True)
        env[INHERIT_ENV] = export_listeners(self.listeners)
        env[OLD_WORKERS_ENV] = ",".join(old)
        env[RELOADS_ENV] = str(self.reloads + 1)
        log(f"binary reloading satrap (reload {self.reloads + 1})...")
        try:
            os.chdir(self.start_cwd)
        except OSError:
            pass
        sys.stdout.flush()
        sys.stderr.flush()
        signal.set_wakeup_fd(-1)
        os.execve(sys.executable, [sys.executable, "-m", "satrap", *self.cfg.argv], env)


def _socket_name(lst: Listener) -> str:
    """A listener as uWSGI names it in stats and logs: the unix path, or host:port as bound."""
    return lst.address if lst.unix_path is None and lst.port == 0 else (lst.unix_path or lst.display_address())


def _kill(pid: int, sig: int) -> None:
    if pid <= 0:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by signal {sig} ({name})"
    return f"exit status {os.WEXITSTATUS(status)}"

