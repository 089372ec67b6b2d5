"""The request log line, in uWSGI's default format (so existing log parsers keep working).

``[pid: 4242|app: 0|req: 1/1] 127.0.0.1 () {34 vars in 402 bytes} [Mon Jan  6 10:00:00 2025]
GET /hello?x=1 => generated 12 bytes in 1 msecs (HTTP/1.1 200) 2 headers in 79 bytes
(1 switches on core 0)``

Cost matters (it runs once per request): the date text is cached per second, the fixed prefix
is built once per worker, and the line is written with one ``write(2)``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from satrap.log import log_bytes


class RequestLog:
    """Formats and writes request lines for one worker process."""

    __slots__ = ("_prefix", "_second", "_ctime", "enabled")

    def __init__(self, enabled: bool, cfg: Any = None) -> None:
        self.enabled = enabled
        self._prefix = "[pid: %d|app: 0|req: " % os.getpid()
        self._second = -1
        self._ctime = ""

    def write(self, env: dict[str, Any], resp: Any, started: float, ended: float, core: int,
              nvars: int, packet: int, requests: int) -> None:
        """``resp`` is the :class:`satrap.app.invoke.Response` (``code``, ``sent``,
        ``headers``, ``header_bytes``)."""
        sec = int(started)
        if sec != self._second:
            self._second = sec
            self._ctime = time.ctime(sec)
        line = (f"{self._prefix}{requests}/{requests}] {env.get('REMOTE_ADDR', '')} "
                f"({env.get('REMOTE_USER', '')}) {{{nvars} vars in {packet} bytes}} [{self._ctime}] "
                f"{env.get('REQUEST_METHOD', '')} {env.get('REQUEST_URI', '')} => generated "
                f"{resp.sent} bytes in {int((ended - started) * 1000)} msecs "
                f"({env.get('SERVER_PROTOCOL', '')} {resp.code}) {len(resp.headers)} headers in "
                f"{resp.header_bytes} bytes (1 switches on core {core})\n")
        log_bytes(line.encode("latin-1", "replace"))
