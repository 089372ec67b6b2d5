"""``uwsgi.lock(n)`` / ``uwsgi.unlock(n)``: locks shared by every process (and thread) of the instance.

Each lock number is a file in the instance directory, locked with ``flock``. ``flock`` locks
belong to an open file description, so each process opens its own descriptor after fork (an
inherited one would be shared with the parent); threads of one process are serialised by a
``threading.Lock`` taken first, because one process's descriptor is one owner for the kernel.
A process that dies holding a lock releases it (the kernel drops the flock), so a crashed
worker never wedges the others — better than uWSGI's shared-memory spinlocks.
"""

from __future__ import annotations

import fcntl
import os
import threading

from satrap.uwsgi_api.state import ensure_dir


class LockSet:
    def __init__(self, api_dir: str) -> None:
        self.api_dir = api_dir
        self._pid = 0
        self._fds: dict[int, int] = {}
        self._threads: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _check(self, num: int) -> int:
        if not isinstance(num, int) or isinstance(num, bool) or num < 0:
            raise ValueError(f"invalid lock number: {num!r}")
        return num

    def _path(self, num: int) -> str:
        return os.path.join(self.api_dir, f"lock.{num}")

    def _get(self, num: int) -> tuple[int, threading.Lock]:
        with self._guard:
            if self._pid != os.getpid():  # after fork: fresh descriptors and thread locks
                self._pid = os.getpid()
                self._fds = {}
                self._threads = {}
            fd = self._fds.get(num)
            if fd is None:
                ensure_dir()
                fd = os.open(self._path(num), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._fds[num] = fd
                self._threads[num] = threading.Lock()
            return fd, self._threads[num]

    def lock(self, num: int = 0) -> None:
        fd, tlock = self._get(self._check(num))
        tlock.acquire()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            tlock.release()
            raise

    def unlock(self, num: int = 0) -> None:
        fd, tlock = self._get(self._check(num))
        fcntl.flock(fd, fcntl.LOCK_UN)
        try:
            tlock.release()
        except RuntimeError:
            pass  # unlocking a lock nobody holds is a no-op, as in uWSGI

    def is_locked(self, num: int = 0) -> bool:
        _fd, tlock = self._get(self._check(num))
        if tlock.locked():
            return True
        probe = os.open(self._path(num), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(probe)  # closing drops the probe's lock if it got it
        return False
