"""Errors that end a start-up, and the exit codes operators and the Emperor see.

Peer (client) errors are not here: they live in :mod:`satrap.protocol.errors` as values with a
status, because a bad request is an answer, not a crash.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses. The numbers that uWSGI gives a meaning to keep uWSGI's number."""

    OK = 0
    FAILURE = 1
    USAGE = 2  # bad command line or config: one line on stderr names what and how to fix it
    WORKER_RELOAD = 17  # uWSGI: a worker that exits after a graceful stop
    APP_LOAD = 22  # uWSGI's UWSGI_FAILED_APP_CODE: need-app and the app did not load
    WORKER_KILLED = 30  # uWSGI: a worker ended by SIGINT/SIGTERM ("end_me")


class SatrapError(Exception):
    """Base of the errors that stop satrap with a one-line message instead of a traceback."""

    exit_code: ExitCode = ExitCode.FAILURE


class ConfigError(SatrapError):
    """A config or command line satrap cannot run. ``str(err)`` is the whole message a user sees:
    it names the file (and line) or flag, the option, and the fix."""

    exit_code = ExitCode.USAGE


class AppLoadError(SatrapError):
    """The WSGI app could not be imported or found. ``detail`` keeps the app's own traceback,
    which is worth showing (it is the user's code failing, not satrap's)."""

    exit_code = ExitCode.APP_LOAD

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail
