"""Signals for the master: handlers only enqueue; the loop wakes on one fd and dispatches.

Never log, fork or exec inside a handler (it can run between any two bytecodes of the master's
own bookkeeping). ``SignalQueue.install`` points ``signal.set_wakeup_fd`` at a pipe the master's
loop waits on, so a signal interrupts the wait at once.
"""

from __future__ import annotations

import os
import signal
from collections import deque

MASTER_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1,
                  signal.SIGUSR2, signal.SIGTTIN, signal.SIGTTOU, signal.SIGCHLD)


class SignalQueue:
    def __init__(self) -> None:
        self.pending: deque[int] = deque()
        self.read_fd, self.write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def install(self) -> None:
        signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        for sig in MASTER_SIGNALS:
            signal.signal(sig, self._handler)

    def _handler(self, signum: int, frame: object) -> None:
        self.pending.append(signum)

    def drain(self) -> list[int]:
        try:
            while os.read(self.read_fd, 4096):
                pass
        except OSError:
            pass
        out = []
        while self.pending:
            out.append(self.pending.popleft())
        return out

    @staticmethod
    def reset_in_child() -> None:
        """A forked worker must not share the master's wake-up pipe or handlers."""
        signal.set_wakeup_fd(-1)
        for sig in MASTER_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
