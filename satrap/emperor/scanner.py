"""Which vassal files exist, and which were added, changed or removed since the last look.

Theory of operation (principle 8, detection separate from action): :func:`listing` turns the
Emperor's monitors (directories or globs) into ``{path: Stamp}``; :func:`diff` compares two
listings into a :class:`Diff`; :class:`Scanner` remembers the previous listing. Nothing here
spawns, signals or logs: the Emperor applies the Diff.

Reaction time: uWSGI polls every 3 s. A :class:`Watcher` gives the Emperor a file descriptor that
becomes readable when a watched directory changes (inotify through ctypes, no dependency), so a
new, touched or removed file is seen within milliseconds. Where inotify is missing (not Linux, no
libc symbol, too many watches) the Watcher has no fd and the Emperor rescans every
``POLL_INTERVAL`` seconds instead; a slow safety rescan runs even with inotify, because inotify
does not see a symlink's target change or a watched directory being replaced.

Invariants: a vassal's key is its absolute path; only regular files (or symlinks to them) with a
valid extension count; a change is any difference in mtime, size, inode or owner (owner matters
to ``emperor-tyrant``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: config file extensions a vassal may have, and the satrap switch that reads each
EXTENSIONS: Mapping[str, str] = {
    ".ini": "--ini",
    ".yml": "--yaml",
    ".yaml": "--yaml",
    ".json": "--json",
    ".js": "--json",
    ".xml": "--xml",
}

#: seconds between rescans when inotify is unavailable (the reaction-time budget is 0.5 s)
POLL_INTERVAL = 0.25
#: seconds between safety rescans when inotify is available
SAFETY_INTERVAL = 3.0

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Stamp:
    """What we compare to decide that a file changed (touch changes mtime_ns)."""

    mtime_ns: int
    size: int
    ino: int
    uid: int
    gid: int


@dataclass(frozen=True)
class Diff:
    """The result of one scan: absolute paths, sorted, so the Emperor acts deterministically."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def is_glob(monitor: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in monitor)


def is_vassal_name(name: str) -> bool:
    """uWSGI's rule: a known extension and a name shorter than 255 bytes."""
    return len(name) < 255 and os.path.splitext(name)[1].lower() in EXTENSIONS


def config_switch(path: str) -> str:
    """The satrap option that loads this vassal file (``--ini`` for ``app.ini``)."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower(), "--ini")


def _stamp(path: str) -> Stamp | None:
    try:
        st = os.stat(path)  # follows symlinks: the target must be a regular file
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return Stamp(st.st_mtime_ns, st.st_size, st.st_ino, st.st_uid, st.st_gid)


def candidates(monitor: str) -> list[str]:
    """Absolute paths a monitor (a directory, or a glob) currently names."""
    if is_glob(monitor):
        paths = glob.glob(monitor)
    else:
        try:
            paths = [os.path.join(monitor, name) for name in os.listdir(monitor)]
        except OSError:
            return []
    return [os.path.abspath(p) for p in paths if is_vassal_name(os.path.basename(p))]


def listing(monitors: Iterable[str]) -> dict[str, Stamp]:
    """``{absolute path: Stamp}`` of every valid vassal file under the monitors."""
    out: dict[str, Stamp] = {}
    for monitor in monitors:
        for path in candidates(monitor):
            st = _stamp(path)
            if st is not None:
                out[path] = st
    return out


def diff(old: Mapping[str, Stamp], new: Mapping[str, Stamp]) -> Diff:
    """Pure comparison of two listings."""
    return Diff(
        added=tuple(sorted(p for p in new if p not in old)),
        changed=tuple(sorted(p for p in new if p in old and new[p] != old[p])),
        removed=tuple(sorted(p for p in old if p not in new)),
    )


class Scanner:
    """Remembers the last listing; ``scan()`` returns what changed since."""

    def __init__(self, monitors: Iterable[str]) -> None:
        self.monitors = [os.path.abspath(m) for m in monitors]
        self.current: dict[str, Stamp] = {}

    def scan(self) -> Diff:
        new = listing(self.monitors)
        result = diff(self.current, new)
        self.current = new
        return result

    def stamp(self, path: str) -> Stamp | None:
        return self.current.get(path)

    def directories(self) -> list[str]:
        """The directories whose entries decide the listing (what a Watcher watches)."""
        dirs = []
        for monitor in self.monitors:
            if not is_glob(monitor):
                dirs.append(monitor)
                continue
            head = os.path.dirname(monitor)
            if is_glob(head):  # /srv/*/vassals/*.ini: expand the directory part now
                dirs.extend(d for d in glob.glob(head) if os.path.isdir(d))
            else:
                dirs.append(head)
        return dirs


# -- inotify ---------------------------------------------------------------------------------------
_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_WATCH_MASK = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO
               | _IN_CREATE | _IN_DELETE | _IN_DELETE_SELF | _IN_MOVE_SELF)


class Watcher:
    """An fd that wakes the Emperor's loop when a watched directory changes, or nothing.

    ``fileno()`` is None when inotify is unavailable: the caller then polls. ``drain()`` empties
    the fd (the events' contents do not matter: any event means "rescan now")."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._libc: ctypes.CDLL | None = None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            init = libc.inotify_init1
            fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return
        if fd < 0:
            return
        self._libc = libc
        self._fd = fd

    def fileno(self) -> int | None:
        return self._fd

    @property
    def active(self) -> bool:
        return self._fd is not None

    def watch(self, directories: Iterable[str]) -> bool:
        """(Re-)watch each directory; False if any could not be watched.

        Called on every safety rescan: the kernel treats a repeated watch of the same inode as a
        no-op, and a directory that was deleted and created again gets a fresh watch."""
        if self._fd is None or self._libc is None:
            return False
        ok = True
        for directory in directories:
            if self._libc.inotify_add_watch(self._fd, os.fsencode(directory), _WATCH_MASK) < 0:
                ok = False
        return ok

    def drain(self) -> None:
        if self._fd is None:
            return
        while True:
            try:
                if not os.read(self._fd, 65536):
                    return
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
