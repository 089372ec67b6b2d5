"""Server log lines, written the way uWSGI writes them: plain text, one ``write(2)`` per line.

Why not :mod:`logging`: the request log is on the hot path and a ``logging`` call costs several
microseconds of handler and formatter work; an ``os.write`` on fd 2 is one syscall, is atomic for
lines under PIPE_BUF (so lines from many workers never interleave) and follows ``--logto`` because
that option re-points fd 1 and 2 at the log file, exactly like uWSGI.
"""

from __future__ import annotations

import os

_STDERR = 2


def log(message: str) -> None:
    """Write one line to the server log (stderr, or the ``--logto`` file)."""
    try:
        os.write(_STDERR, (message + "\n").encode("utf-8", "replace"))
    except OSError:
        pass  # a closed or full log must never take a worker down


def log_bytes(line: bytes) -> None:
    """Hot-path variant for lines already encoded (the request log)."""
    try:
        os.write(_STDERR, line)
    except OSError:
        pass


def redirect_to_file(path: str) -> None:
    """``--logto``: point stdout and stderr at ``path`` (append), as uWSGI does."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    if fd > 2:
        os.close(fd)
