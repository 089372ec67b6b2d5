"""What every request handler of one worker needs, computed once when the worker starts.

Keeping this in one small frozen-ish object is what keeps the per-request path lean: base
environs are built per listener at start-up and only copied per request; limits are objects,
not config lookups.
"""

from __future__ import annotations

import _socket
import signal
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from satrap import UWSGI_COMPAT_VERSION, __version__
from satrap.app.invoke import FileWrapper
from satrap.net.listeners import Listener
from satrap.protocol.http11 import Limits
from satrap.scoreboard import SlotWriter
from satrap.worker.reqlog import RequestLog

_TIMEVAL = struct.Struct("ll")

#: signals the master sends its children; it blocks them across fork, and a child unblocks them
#: once its own handlers are in place, so none meets a default action in between
CHILD_SIGNALS = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR2}


@dataclass
class WorkerContext:
    app: Callable[..., Any] | None
    wid: int
    pid: int
    limits: Limits
    reqlog: RequestLog
    slot: SlotWriter | None
    socket_timeout: float
    keepalive_timeout: float
    buffer_size: int
    dynamic_apps: bool
    uwsgi_allow: tuple[Any, ...]  # ipaddress networks; empty = everyone
    max_requests: int
    harakiri_alarm: int  # seconds; only without a master (the master watches otherwise)
    #: uwsgi modifier1 -> app (0 and 30: WSGI; 9: CGI when configured); others are refused
    by_modifier: dict[int, Callable[..., Any] | None] = field(default_factory=dict)
    base_environ: dict[int, dict[str, Any]] = field(default_factory=dict)  # by listener fd
    requests: int = 0
    stopping: bool = False


def base_environ(lst: Listener, threads: int, processes: int) -> dict[str, Any]:
    """The parts of the WSGI environ that are the same for every request on one listener."""
    if lst.sock.family == socket.AF_UNIX:
        server_name, server_port = socket.gethostname(), ""
    else:
        server_name, server_port = lst.host, str(lst.port)
    return {
        "SCRIPT_NAME": "",
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": threads > 1,
        "wsgi.multiprocess": processes > 1,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
        "uwsgi.version": UWSGI_COMPAT_VERSION.encode(),
        "uwsgi.node": socket.gethostname().encode(),
        "satrap.version": __version__,
    }


def set_socket_timeouts(sock: _socket.socket, seconds: float) -> None:
    """Kernel-side timeouts (SO_RCVTIMEO/SO_SNDTIMEO) keep the socket in plain blocking mode, so
    each recv/send is one syscall (Python's own timeouts add a poll() before every call)."""
    sec = int(seconds)
    tv = _TIMEVAL.pack(sec, int((seconds - sec) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)

