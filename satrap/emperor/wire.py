"""The one-byte messages between the Emperor and a vassal master, with names (uWSGI's numbers).

The Emperor hands each vassal one end of a socketpair, named by ``SATRAP__EMPEROR_FD`` in the
vassal's environment. Both sides send single bytes. This module is the only place that knows the
numbers, and the only code the vassal's master imports from the Emperor package.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from enum import IntEnum

EMPEROR_FD_ENV = "SATRAP__EMPEROR_FD"
#: an on-demand vassal finds its pre-bound listening socket here (the fd number)
ON_DEMAND_FD_ENV = "SATRAP__ON_DEMAND_FD"


class ToVassal(IntEnum):
    STOP = 0  # quick stop
    RELOAD = 1  # graceful reload (config file touched)
    GRACEFUL_STOP = 2  # config file removed / emperor shutting down


class ToEmperor(IntEnum):
    SPAWNED = 1  # the master is up
    ACCEPTING = 5  # the first worker accepts requests
    LOYAL = 17  # the first request completed: a vassal that works
    GOODBYE = 22  # voluntary exit (die-on-idle): back to on-demand, do not respawn
    HEARTBEAT = 26


class VassalLink:
    """The vassal master's end of the link."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(False)
        self.lost = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> VassalLink | None:
        text = environ.get(EMPEROR_FD_ENV, "")
        if not text.isdigit():
            return None
        fd = int(text)
        try:
            os.fstat(fd)
        except OSError:
            return None
        return cls(fd)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, message: ToEmperor) -> None:
        try:
            self.sock.send(bytes((int(message),)))
        except OSError:
            self.lost = True

    def read(self) -> list[ToVassal]:
        """Commands waiting from the Emperor (non-blocking). Sets ``lost`` on EOF."""
        out: list[ToVassal] = []
        while True:
            try:
                data = self.sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return out
            except OSError:
                self.lost = True
                return out
            if not data:
                self.lost = True
                return out
            for byte in data:
                try:
                    out.append(ToVassal(byte))
                except ValueError:
                    pass
