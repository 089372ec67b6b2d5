"""The request log line: uWSGI's default format, or ``--log-format`` with uWSGI's variables.

Default line (byte-identical to uWSGI's, so existing log parsers keep working)::

    [pid: 4242|app: 0|req: 1/1] 127.0.0.1 () {34 vars in 402 bytes} [Mon Jan  6 10:00:00 2025]
    GET /hello?x=1 => generated 12 bytes in 1 msecs (HTTP/1.1 200) 2 headers in 79 bytes
    (1 switches on core 0)

``--log-format`` is compiled ONCE per worker into a list of fixed text parts and getter
functions (no parsing or regex per request); a request costs one call per variable and a join.
Supported variables: method uri user addr host proto uagent referer status micros msecs secs
time ctime ltime epoch tmsecs tmicros size rsize hsize cl headers pid wid core vars pktsize
switches modifier1 modifier2 rerr werr ioerr rss vsz rssM vszM and ``var.NAME`` (any request
variable). Unknown names expand to "" (uWSGI treats them as unset user logvars).

Conditional logging (uWSGI semantics): ``log-4xx``, ``log-5xx``, ``log-slow MS``, ``log-zero``
(empty body) and ``log-big BYTES`` log the matching requests even with ``disable-logging``; when
logging is on they change nothing. ``log-micros`` reports the default line's time in µs;
``log-x-forwarded-for`` logs the X-Forwarded-For header instead of REMOTE_ADDR as the address.

Cost matters (once per request): date texts are cached per second, the fixed prefix is built
once per worker, and the line is written with one ``write(2)``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

from satrap.log import log_bytes
from satrap.uwsgi_api.uwsgi_module import take_logvars

# getter(env, resp, started, ended, core, nvars, packet, log) -> str
Getter = Callable[[dict, Any, float, float, int, int, int, "RequestLog"], str]

_VAR = re.compile(r"%\(([^)]+)\)")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _env(key: str, default: str = "") -> Getter:
    def get(env: dict, resp: Any, s: float, e: float, core: int, nv: int, pk: int, lg: RequestLog) -> str:
        return str(env.get(key, default))
    return get


def _addr(env: dict, resp: Any, s: float, e: float, core: int, nv: int, pk: int, lg: RequestLog) -> str:
    if lg.xff:
        xff = env.get("HTTP_X_FORWARDED_FOR")
        if xff:
            return str(xff)
    return str(env.get("REMOTE_ADDR", ""))


def _statm(field: int, scale: int) -> Getter:
    def get(env: dict, resp: Any, s: float, e: float, core: int, nv: int, pk: int, lg: RequestLog) -> str:
        try:
            with open("/proc/self/statm", "rb") as f:
                return str(int(f.read().split()[field]) * _PAGE // scale)
        except (OSError, ValueError, IndexError):
            return "0"
    return get


def _const(text: str) -> Getter:
    def get(env: dict, resp: Any, s: float, e: float, core: int, nv: int, pk: int, lg: RequestLog) -> str:
        return text
    return get


def _ctime(env: dict, resp: Any, s: float, e: float, core: int, nv: int, pk: int, lg: RequestLog) -> str:
    lg._dates(s)
    return lg._ctime


def _ltime(env: dict, resp: Any, s: float, e: float, core: int, nv: int, pk: int, lg: RequestLog) -> str:
    lg._dates(s)
    return lg._ltime


_GETTERS: dict[str, Getter] = {
    "method": _env("REQUEST_METHOD"),
    "uri": _env("REQUEST_URI"),
    "user": _env("REMOTE_USER"),
    "addr": _addr,
    "host": _env("HTTP_HOST"),
    "proto": _env("SERVER_PROTOCOL"),
    "uagent": _env("HTTP_USER_AGENT"),
    "referer": _env("HTTP_REFERER"),
    "cl": _env("CONTENT_LENGTH", "0"),
    "status": lambda env, r, s, e, c, nv, pk, lg: str(r.code),
    "micros": lambda env, r, s, e, c, nv, pk, lg: str(int((e - s) * 1_000_000)),
    "msecs": lambda env, r, s, e, c, nv, pk, lg: str(int((e - s) * 1000)),
    "secs": lambda env, r, s, e, c, nv, pk, lg: f"{e - s:.6f}",
    "time": lambda env, r, s, e, c, nv, pk, lg: str(int(s)),
    "tmsecs": lambda env, r, s, e, c, nv, pk, lg: str(int(s * 1000)),
    "tmicros": lambda env, r, s, e, c, nv, pk, lg: str(int(s * 1_000_000)),
    "epoch": lambda env, r, s, e, c, nv, pk, lg: str(int(time.time())),
    "ctime": _ctime,
    "ltime": _ltime,
    "size": lambda env, r, s, e, c, nv, pk, lg: str(r.sent + r.header_bytes),
    "rsize": lambda env, r, s, e, c, nv, pk, lg: str(r.sent),
    "hsize": lambda env, r, s, e, c, nv, pk, lg: str(r.header_bytes),
    "headers": lambda env, r, s, e, c, nv, pk, lg: str(len(r.headers)),
    "pid": lambda env, r, s, e, c, nv, pk, lg: lg._pid,
    "wid": lambda env, r, s, e, c, nv, pk, lg: lg._wid,
    "core": lambda env, r, s, e, c, nv, pk, lg: str(c),
    "vars": lambda env, r, s, e, c, nv, pk, lg: str(nv),
    "pktsize": lambda env, r, s, e, c, nv, pk, lg: str(pk),
    "switches": _const("1"),
    "modifier1": _const("0"),
    "modifier2": _const("0"),
    "rerr": _const("0"),
    "werr": _const("0"),
    "ioerr": _const("0"),
    "rss": _statm(1, 1),
    "vsz": _statm(0, 1),
    "rssM": _statm(1, 1 << 20),
    "vszM": _statm(0, 1 << 20),
}

#: the variables ``--log-format`` understands (besides ``var.NAME``)
SUPPORTED = tuple(_GETTERS)


_LOGVARS_KEY = "satrap.logvars"


def _logvar(name: str) -> Getter:
    """A user logvar (``uwsgi.set_logvar``), as uWSGI reads any name it does not know; "" when
    the request did not set it."""
    def get(env: dict, resp: Any, s: float, e: float, core: int, nv: int, pk: int, lg: RequestLog) -> str:
        return env.get(_LOGVARS_KEY, _NONE).get(name, "")
    get.logvar = True  # type: ignore[attr-defined]
    return get


_NONE: dict[str, str] = {}


def compile_format(fmt: str) -> tuple[list[str], list[Getter]]:
    """``fmt`` → (fixed parts, getters), len(parts) == len(getters) + 1; parts interleave."""
    parts: list[str] = []
    getters: list[Getter] = []
    pos = 0
    for m in _VAR.finditer(fmt):
        parts.append(fmt[pos:m.start()])
        name = m.group(1)
        if name.startswith("var."):
            getters.append(_env(name[4:]))
        else:
            getters.append(_GETTERS.get(name) or _logvar(name))
        pos = m.end()
    parts.append(fmt[pos:])
    return parts, getters


def _cfg(cfg: Any, name: str, default: Any = None) -> Any:
    return getattr(cfg, name, default) if cfg is not None else default


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


class RequestLog:
    """Formats and writes request lines for one worker process."""

    __slots__ = (
        "_4xx",
        "_5xx",
        "_always",
        "_big",
        "_conditional",
        "_ctime",
        "_getters",
        "_ltime",
        "_micros",
        "_parts",
        "_pid",
        "_prefix",
        "_second",
        "_slow",
        "_wid",
        "_zero",
        "_logvars",
        "enabled",
        "xff",
    )

    def __init__(self, enabled: bool, cfg: Any = None, wid: int = 0) -> None:
        self._always = enabled
        self._pid: str = str(os.getpid())
        self._wid: str = str(wid)
        self._prefix = f"[pid: {os.getpid()}|app: 0|req: "
        self._second = -1
        self._ctime = ""
        self._ltime = ""
        self.xff = bool(_cfg(cfg, "log_x_forwarded_for", False))
        self._micros = bool(_cfg(cfg, "log_micros", False))
        self._slow = _int(_cfg(cfg, "log_slow", 0))
        self._4xx = bool(_cfg(cfg, "log_4xx", False))
        self._5xx = bool(_cfg(cfg, "log_5xx", False))
        self._zero = bool(_cfg(cfg, "log_zero", False))
        self._big = _int(_cfg(cfg, "log_big", 0))
        self._conditional = bool(self._slow or self._4xx or self._5xx or self._zero or self._big)
        # conn.py calls write() only when enabled: conditions must get their chance even when
        # disable-logging turned the plain log off
        self.enabled = enabled or self._conditional
        fmt = _cfg(cfg, "log_format", None)
        if fmt:
            self._parts, self._getters = compile_format(str(fmt))
        else:
            self._parts, self._getters = [], []
        self._logvars = any(getattr(g, "logvar", False) for g in self._getters)

    def _dates(self, started: float) -> None:
        sec = int(started)
        if sec != self._second:
            self._second = sec
            self._ctime = time.ctime(sec)
            self._ltime = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(sec))

    def _wanted(self, resp: Any, started: float, ended: float) -> bool:
        """uWSGI's conditional logging: any matching condition logs the request."""
        code = resp.code
        if self._4xx and 400 <= code <= 499:
            return True
        if self._5xx and 500 <= code <= 599:
            return True
        if self._slow and (ended - started) * 1000 >= self._slow:
            return True
        if self._zero and resp.sent == 0:
            return True
        return bool(self._big and resp.sent >= self._big)

    def write(self, env: dict[str, Any], resp: Any, started: float, ended: float, core: int,
              nvars: int, packet: int, requests: int) -> None:
        """``resp`` is the :class:`satrap.app.invoke.Response` (``code``, ``sent``,
        ``headers``, ``header_bytes``)."""
        if self._logvars:  # this request's uwsgi.set_logvar values, taken (and so reset)
            env[_LOGVARS_KEY] = take_logvars()
        if not self._always and not self._wanted(resp, started, ended):
            return
        if self._getters:
            parts = self._parts
            out = [parts[0]]
            i = 1
            for get in self._getters:
                out.append(get(env, resp, started, ended, core, nvars, packet, self))
                out.append(parts[i])
                i += 1
            out.append("\n")
            log_bytes("".join(out).encode("latin-1", "replace"))
            return
        sec = int(started)
        if sec != self._second:
            self._dates(started)
        if self._micros:
            took = f"{int((ended - started) * 1_000_000)} micros"
        else:
            took = f"{int((ended - started) * 1000)} msecs"
        addr = env.get("HTTP_X_FORWARDED_FOR") or env.get("REMOTE_ADDR", "") if self.xff else env.get("REMOTE_ADDR", "")
        line = (f"{self._prefix}{requests}/{requests}] {addr} "
                f"({env.get('REMOTE_USER', '')}) {{{nvars} vars in {packet} bytes}} [{self._ctime}] "
                f"{env.get('REQUEST_METHOD', '')} {env.get('REQUEST_URI', '')} => generated "
                f"{resp.sent} bytes in {took} "
                f"({env.get('SERVER_PROTOCOL', '')} {resp.code}) {len(resp.headers)} headers in "
                f"{resp.header_bytes} bytes (1 switches on core {core})\n")
        log_bytes(line.encode("latin-1", "replace"))
