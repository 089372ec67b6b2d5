"""One vassal's life, as a state machine that does no I/O (principle 4).

The Emperor feeds events in (``start``, ``spawned``, ``message``, ``connection``,
``file_changed``, ``file_removed``, ``reload``, ``stop``, ``died``, ``tick``) and gets back a list
of :data:`Action` values to carry out (spawn a process, send a byte, SIGKILL, log a line, arm the
on-demand socket, forget the vassal). Time is always passed in (monotonic seconds), so tests drive
it without processes or sleeps.

States and edges (every move goes through :meth:`Vassal._go`, which checks :data:`TRANSITIONS`)::

    ON_DEMAND  --connection-->  SPAWNING           (socket activation)
    SPAWNING   --ACCEPTING-->   READY   --LOYAL--> LOYAL
    SPAWNING/READY/LOYAL --file touched / SIGHUP--> RELOADING --ACCEPTING--> READY
    any running --file removed / shutdown--> STOPPING --died--> GONE   (SIGKILL after mercy)
    any running --died--> THROTTLED --respawn_at--> SPAWNING (or ON_DEMAND)
                --died with exit 2 before accepting--> BROKEN --file changed--> SPAWNING
                --died after GOODBYE--> ON_DEMAND (on-demand) or SPAWNING

Throttle (uWSGI's blacklist, simplified): each death of a vassal that has not been loyal since its
last loyalty adds ``throttle`` seconds to the wait before the next spawn, up to ``max_throttle``;
a LOYAL message (the vassal completed a request) resets it. A loyal vassal that dies is respawned
at once. A file change resets it too: the operator just fixed something.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from satrap.emperor.wire import ToEmperor, ToVassal

#: a vassal that exits with this status before accepting could not load its config
BROKEN_STATUS = 2


class State(Enum):
    ON_DEMAND = "on_demand"  # no process; waiting for a first connection on its socket
    SPAWNING = "spawning"  # process started, not accepting yet
    READY = "ready"  # its workers accept requests
    LOYAL = "loyal"  # it completed a request
    RELOADING = "reloading"  # RELOAD sent, waiting for it to accept again
    STOPPING = "stopping"  # GRACEFUL_STOP (or STOP) sent; SIGKILL after the mercy
    THROTTLED = "throttled"  # died; waiting out the respawn back-off
    BROKEN = "broken"  # its config does not load; retried when the file changes
    GONE = "gone"  # final: the Emperor forgets it


RUNNING = frozenset({State.SPAWNING, State.READY, State.LOYAL, State.RELOADING})

#: every allowed edge; a move not listed here is a bug and raises
TRANSITIONS: dict[State, frozenset[State]] = {
    State.ON_DEMAND: frozenset({State.SPAWNING, State.GONE}),
    State.SPAWNING: frozenset({State.READY, State.LOYAL, State.RELOADING, State.STOPPING,
                               State.THROTTLED, State.BROKEN, State.ON_DEMAND, State.SPAWNING,
                               State.GONE}),
    State.READY: frozenset({State.LOYAL, State.RELOADING, State.STOPPING, State.THROTTLED,
                            State.ON_DEMAND, State.SPAWNING}),
    State.LOYAL: frozenset({State.RELOADING, State.STOPPING, State.THROTTLED, State.ON_DEMAND,
                            State.SPAWNING}),
    State.RELOADING: frozenset({State.READY, State.LOYAL, State.RELOADING, State.STOPPING,
                                State.THROTTLED,
                                State.BROKEN, State.ON_DEMAND, State.SPAWNING}),
    State.STOPPING: frozenset({State.GONE}),
    State.THROTTLED: frozenset({State.SPAWNING, State.ON_DEMAND, State.GONE}),
    State.BROKEN: frozenset({State.SPAWNING, State.ON_DEMAND, State.GONE}),
    State.GONE: frozenset(),
}


# -- actions the Emperor carries out ---------------------------------------------------------------
@dataclass(frozen=True)
class Spawn:
    """Start the vassal process (then call :meth:`Vassal.spawned`)."""


@dataclass(frozen=True)
class Send:
    message: ToVassal


@dataclass(frozen=True)
class Kill:
    """SIGKILL the vassal master (and whatever it left behind)."""


@dataclass(frozen=True)
class Log:
    line: str


@dataclass(frozen=True)
class Listen:
    """Arm the on-demand socket: the next connection calls :meth:`Vassal.connection`."""


@dataclass(frozen=True)
class Forget:
    """Drop the vassal from the Emperor's table (and close its on-demand socket)."""


Action = Spawn | Send | Kill | Log | Listen | Forget


@dataclass(frozen=True)
class Policy:
    """The Emperor-wide knobs a vassal's machine needs (seconds)."""

    throttle: float = 1.0  # emperor-throttle
    max_throttle: float = 180.0  # uWSGI's emperor-max-throttle default
    mercy: float = 30.0  # GRACEFUL_STOP -> SIGKILL (uWSGI's curse tolerance / reload-mercy)
    reload_timeout: float = 60.0  # RELOADING without an ACCEPTING -> assume it stayed as it was
    on_demand: bool = False


def describe_exit(code: int) -> str:
    """``returncode`` in words (negative = killed by that signal, as subprocess reports it)."""
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"killed by signal {-code} ({name})"
    return f"exit status {code}"


@dataclass
class Vassal:
    """The Emperor's record of one vassal file; mutated only through its event methods."""

    path: str
    name: str
    policy: Policy = field(default_factory=Policy)
    state: State = State.SPAWNING
    pid: int = 0
    spawns: int = 0
    respawns: int = 0
    fast_deaths: int = 0  # deaths since the last loyalty (the throttle level)
    respawn_at: float = 0.0
    deadline: float = 0.0  # STOPPING: SIGKILL time; RELOADING: give-up time
    killed: bool = False
    removed: bool = False  # file gone or Emperor shutting down: never respawn
    goodbye: bool = False
    ready: bool = False  # SPAWNED received this life
    accepting: bool = False
    loyal: bool = False
    born: float = 0.0
    first_run: float = 0.0
    last_run: float = 0.0
    last_ready: float = 0.0
    last_accepting: float = 0.0
    last_loyal: float = 0.0
    last_heartbeat: float = 0.0
    last_change: float = 0.0
    last_mod: int = 0  # file mtime (epoch seconds), set by the Emperor
    last_exit: str = ""
    proven: bool = False  # accepted at least once since its file last changed: the config loads
    _loyal_before_reload: bool = False

    # -- plumbing ------------------------------------------------------------------------------
    def _go(self, new: State, now: float) -> None:
        if new not in TRANSITIONS[self.state]:
            raise RuntimeError(f"vassal {self.name}: no edge {self.state.name} -> {new.name}")
        self.state = new
        self.last_change = now

    def _respawn_or_listen(self, now: float) -> list[Action]:
        if self.policy.on_demand:
            self._go(State.ON_DEMAND, now)  # X -> ON_DEMAND
            return [Listen()]
        self._go(State.SPAWNING, now)  # X -> SPAWNING
        return [Spawn()]

    def throttle_delay(self) -> float:
        """Seconds to wait before the next spawn at the current throttle level."""
        return min(self.policy.throttle * self.fast_deaths, self.policy.max_throttle)

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has something to do (for the Emperor's select timeout)."""
        if self.state is State.THROTTLED:
            return self.respawn_at
        if self.state is State.STOPPING and not self.killed:
            return self.deadline
        if self.state is State.RELOADING:
            return self.deadline
        return None

    # -- events --------------------------------------------------------------------------------
    def start(self, now: float) -> list[Action]:
        """The file was found: spawn it, or wait for a connection (on-demand)."""
        self.last_change = now
        if self.policy.on_demand:
            self.state = State.ON_DEMAND
            return [Listen()]
        self.state = State.SPAWNING
        return [Spawn()]

    def connection(self, now: float) -> list[Action]:
        if self.state is not State.ON_DEMAND:
            return []
        self._go(State.SPAWNING, now)  # ON_DEMAND -> SPAWNING
        return [Log(f"[emperor] {self.name}: first connection on its socket, spawning it"), Spawn()]

    def spawned(self, pid: int, now: float) -> None:
        """The process exists (called by the Emperor after carrying out :class:`Spawn`)."""
        self.spawns += 1
        if self.spawns == 1:
            self.first_run = now
        else:
            self.respawns += 1
        self.pid = pid
        self.born = self.last_run = now
        self.ready = self.accepting = self.loyal = self.goodbye = self.killed = False

    def spawn_failed(self, reason: str, now: float) -> list[Action]:
        """The process could not even be started (exec failed, tyrant refused the owner)."""
        self.pid = 0
        self._go(State.BROKEN, now)  # SPAWNING -> BROKEN
        return [Log(f"[emperor] cannot spawn vassal {self.name}: {reason} "
                    "(retried when its file changes)")]

    def message(self, msg: ToEmperor, now: float) -> list[Action]:
        if msg is ToEmperor.SPAWNED:
            self.ready, self.last_ready = True, now
        elif msg is ToEmperor.ACCEPTING:
            self.accepting, self.last_accepting = True, now
            self.proven = True
            if self.state in (State.SPAWNING, State.RELOADING):
                if self.state is State.RELOADING and self._loyal_before_reload:
                    self._go(State.LOYAL, now)  # RELOADING -> LOYAL (it was loyal; still is)
                else:
                    self._go(State.READY, now)  # SPAWNING/RELOADING -> READY
                return [Log(f"[emperor] vassal {self.name} is ready to accept requests")]
        elif msg is ToEmperor.LOYAL:
            self.loyal, self.last_loyal = True, now
            self.fast_deaths = 0
            if self.state in (State.SPAWNING, State.READY, State.RELOADING):
                self._go(State.LOYAL, now)  # -> LOYAL
                return [Log(f"[emperor] vassal {self.name} is now loyal")]
        elif msg is ToEmperor.GOODBYE:
            self.goodbye = True
        elif msg is ToEmperor.HEARTBEAT:
            self.last_heartbeat = now
        return []

    def file_changed(self, now: float) -> list[Action]:
        self.proven = False
        if self.state in RUNNING:
            self._loyal_before_reload = self.state is State.LOYAL or (
                self.state is State.RELOADING and self._loyal_before_reload)
            self._go(State.RELOADING, now)  # running -> RELOADING
            self.deadline = now + self.policy.reload_timeout
            return [Log(f"[emperor] reload the satrap instance {self.name}"), Send(ToVassal.RELOAD)]
        if self.state in (State.BROKEN, State.THROTTLED):
            self.fast_deaths = 0
            was = self.state.value
            actions = self._respawn_or_listen(now)  # BROKEN/THROTTLED -> SPAWNING/ON_DEMAND
            return [Log(f"[emperor] vassal {self.name} changed while {was}: retrying now"), *actions]
        return []  # ON_DEMAND reads the file at its next spawn; STOPPING/GONE do not care

    def reload(self, now: float) -> list[Action]:
        """SIGHUP to the Emperor: reload every running vassal (its file did not change)."""
        if self.state in RUNNING:
            proven = self.proven
            actions = self.file_changed(now)
            self.proven = proven
            return actions
        return []

    def file_removed(self, now: float) -> list[Action]:
        return self.stop(now, why="its file was removed")

    def stop(self, now: float, quick: bool = False, why: str = "the Emperor is stopping") -> list[Action]:
        """Never respawn again; stop the process if there is one."""
        self.removed = True
        if self.state is State.STOPPING:
            if quick:
                return [Send(ToVassal.STOP)]
            return []
        if self.state in RUNNING and self.pid:
            self._go(State.STOPPING, now)  # running -> STOPPING
            self.deadline = now + self.policy.mercy
            message = ToVassal.STOP if quick else ToVassal.GRACEFUL_STOP
            return [Log(f"[emperor] stop the satrap instance {self.name} ({why})"), Send(message)]
        if self.state is State.GONE:
            return []
        self._go(State.GONE, now)  # idle states -> GONE
        return [Forget()]

    def died(self, code: int, now: float) -> list[Action]:
        """The vassal master exited with ``code`` (subprocess convention, negative = signal)."""
        pid, how = self.pid, describe_exit(code)
        self.pid = 0
        self.last_exit = how
        if self.removed or self.state is State.STOPPING:
            self._go(State.GONE, now)  # STOPPING -> GONE
            return [Log(f"[emperor] vassal {self.name} (pid {pid}) stopped ({how})"), Forget()]
        if self.goodbye:
            self.fast_deaths = 0
            if self.policy.on_demand:
                self._go(State.ON_DEMAND, now)  # running -> ON_DEMAND
                return [Log(f"[emperor] vassal {self.name} (pid {pid}) went idle: "
                            "back to waiting for a connection"), Listen()]
            self._go(State.SPAWNING, now)  # running -> SPAWNING
            return [Log(f"[emperor] vassal {self.name} (pid {pid}) said goodbye, respawning it"), Spawn()]
        if code == BROKEN_STATUS and not self.accepting and not self.proven:
            # a file that worked before (proven) failing now is transient, e.g. its port is still
            # held by a dying predecessor: throttle it instead
            self._go(State.BROKEN, now)  # SPAWNING/RELOADING -> BROKEN
            return [Log(f"[emperor] vassal {self.name} (pid {pid}) is broken: its config does not "
                        f"load ({how}); it will be retried when its file changes")]
        if not self.loyal:
            self.fast_deaths += 1
        delay = self.throttle_delay() if not self.loyal else 0.0
        self.respawn_at = now + delay
        self._go(State.THROTTLED, now)  # running -> THROTTLED
        actions: list[Action] = [Log(f"[emperor] vassal {self.name} (pid {pid}) died ({how}), "
                                     f"respawning in {delay:g} s")]
        if delay <= 0:
            actions += self._respawn_or_listen(now)  # THROTTLED -> SPAWNING/ON_DEMAND at once
        elif self.fast_deaths > 1:
            actions.append(Log(f"[emperor] unloyal bad behaving vassal found: {self.name} "
                               f"throttling it ({self.fast_deaths} deaths before loyalty)"))
        return actions

    def tick(self, now: float) -> list[Action]:
        """Timers: throttle expiry, the mercy of a stop, a reload nobody confirmed."""
        if self.state is State.THROTTLED and now >= self.respawn_at:
            return self._respawn_or_listen(now)  # THROTTLED -> SPAWNING/ON_DEMAND
        if self.state is State.STOPPING and not self.killed and now >= self.deadline:
            self.killed = True
            return [Log(f"[emperor] vassal {self.name} (pid {self.pid}) did not stop within "
                        f"{self.policy.mercy:g} s... NO MERCY !!!"), Kill()]
        if self.state is State.RELOADING and now >= self.deadline:
            back = State.LOYAL if self._loyal_before_reload else State.READY
            self._go(back, now)  # RELOADING -> READY/LOYAL (the vassal kept its old config)
            return [Log(f"[emperor] vassal {self.name} did not confirm its reload within "
                        f"{self.policy.reload_timeout:g} s; assuming it kept running as it was")]
        return []

    # -- stats ---------------------------------------------------------------------------------
    def stats(self, to_epoch: Callable[[float], int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """uWSGI's emperor-stats vassal object, plus satrap's ``state``/``throttle``/``last_change``."""
        def t(value: float) -> int:
            return to_epoch(value) if value else 0

        doc: dict[str, Any] = {
            "id": self.name,
            "pid": self.pid,
            "born": t(self.born),
            "last_mod": self.last_mod,
            "last_heartbeat": t(self.last_heartbeat),
            "loyal": t(self.last_loyal) if self.loyal else 0,
            "ready": int(self.ready),
            "accepting": int(self.accepting),
            "last_loyal": t(self.last_loyal),
            "last_ready": t(self.last_ready),
            "last_accepting": t(self.last_accepting),
            "first_run": t(self.first_run),
            "last_run": t(self.last_run),
            "cursed": t(self.deadline - self.policy.mercy) if self.state is State.STOPPING else 0,
            "zerg": 0,
            "on_demand": "",
            "uid": 0,
            "gid": 0,
            "monitor": os.path.dirname(self.path),
            "respawns": self.respawns,
            # satrap additions
            "state": self.state.value,
            "throttle": self.throttle_delay(),
            "last_change": t(self.last_change),
            "last_exit": self.last_exit,
            "path": self.path,
        }
        if extra:
            doc.update(extra)
        return doc
