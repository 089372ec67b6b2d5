"""The master's table of workers: who runs, since when, and what to do when one dies.

Each worker id (1..processes) is a slot with a state machine:

    RUNNING --(SIGHUP sent: reload, shutdown, scale down)--> STOPPING --(reaped)--> gone
    RUNNING --(died unexpectedly)--> WAITING --(back-off elapsed)--> RUNNING (respawned)

A worker that dies within ``FAST_DEATH`` seconds of its birth counts as a fast death; each
consecutive fast death doubles the wait before its respawn (1, 2, 4 ... 30 s), so an app that
crashes at import cannot fork-bomb the machine. A worker that lived longer resets its count.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

FAST_DEATH = 2.0
MAX_BACKOFF = 30.0


class State(enum.Enum):
    RUNNING = "running"
    STOPPING = "stopping"
    WAITING = "waiting"  # dead, respawn scheduled


@dataclass
class WorkerSlot:
    wid: int  # worker id (1-based), or the gateway's index for a router
    role: str = "worker"  # "worker" or "http" (the --http router, a gateway)
    pid: int = 0
    state: State = State.WAITING
    born: float = 0.0  # monotonic
    born_epoch: float = 0.0
    stop_deadline: float = 0.0  # monotonic; SIGKILL after it (the mercy)
    respawn_at: float = 0.0
    fast_deaths: int = 0
    respawns: int = 0
    harakiri_count: int = 0

    def died(self, now: float) -> float:
        """Record an unexpected death; return the back-off before the respawn (0 = now)."""
        if now - self.born < FAST_DEATH:
            self.fast_deaths += 1
        else:
            self.fast_deaths = 0
        delay = 0.0 if self.fast_deaths <= 1 else min(MAX_BACKOFF, 2.0 ** (self.fast_deaths - 2))
        self.pid = 0
        self.state = State.WAITING
        self.respawn_at = now + delay
        return delay
