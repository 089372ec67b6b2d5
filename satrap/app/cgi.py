"""uWSGI's ``cgi`` plugin, built in: run CGI scripts (RFC 3875) behind nginx or an http-socket.

uWSGI routes requests whose modifier1 is 9 to its cgi plugin (nginx ``uwsgi_modifier1 9;``).
satrap does the same with a plain WSGI callable, :class:`CGIGateway`, so every layer satrap puts
around an app (internal routing, static files, the request log, harakiri) works for CGI too. The
worker decides once at start-up which requests reach it (``satrap.worker.process.make_context``):
every request when no WSGI app is configured, else only those with modifier1 9 (an http-socket
with ``http-socket-modifier1 = 9``, or the ``--http`` router with ``http-modifier1 = 9``).

How a request finds its script (``plugins/cgi/cgi_plugin.c`` in uWSGI, followed closely):

1. ``cgi = /mount=/path`` entries: the longest mountpoint that ``PATH_INFO`` starts with; else
   the (last) entry without ``=``. ``cgi-from-docroot`` uses the request's ``DOCUMENT_ROOT``.
2. A script *file* as the target runs for every URL under its mountpoint; the rest of the URL is
   its ``PATH_INFO``.
3. A *directory*: ``PATH_INFO`` is walked segment by segment; the first segment that is not a
   directory is the script, what follows is its ``PATH_INFO``. A directory itself gets a redirect
   to the slashed URL, then the first readable ``cgi-index`` name in it.
4. The script's real path must lie under the docroot (or under a ``cgi-safe`` prefix), and end in
   a ``cgi-allowed-ext`` suffix when any is given; without a ``cgi-helper`` for its extension it
   must be executable. ``..`` segments are refused outright (uWSGI resolves them; refusing is
   simpler and loses nothing a real client sends).

Where satrap differs from uWSGI, on purpose: a refused request gets a 403/404 answer instead of a
closed connection; a script that dies or writes garbage before its header block gets 502 (uWSGI
closes the connection), one that stays silent past ``cgi-timeout`` gets 504 and its whole process
group is killed; the script's stdin is always closed after the body (a script reading to EOF never
hangs); the request header ``Proxy:`` is never passed on as ``HTTP_PROXY`` (httpoxy); indexed
query strings (``?a+b``) become argv words only when none starts with ``-``.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import selectors
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from satrap import UWSGI_COMPAT_VERSION, __version__
from satrap.errors import ConfigError

__all__ = ["CGI_MODIFIER1", "CGIGateway", "build_cgi_gateway"]

log = logging.getLogger("satrap.app")

#: uWSGI's modifier1 for the cgi plugin (``uwsgi_modifier1 9;`` in nginx)
CGI_MODIFIER1 = 9

_READ = 65536
_MAX_PENDING = 8 << 20  # output buffered while the body is still going in; past it, wait
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: headers a gateway must not pass from the script: satrap frames the response itself
_HOP_BY_HOP = frozenset(("connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                         "proxy-connection"))
#: request environ keys never handed to a script: httpoxy (a client's "Proxy:" header would become
#: the proxy every HTTP library in the script uses) and satrap's own plumbing
_NEVER_PASS = frozenset(("HTTP_PROXY",))
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
            303: "See Other", 304: "Not Modified", 307: "Temporary Redirect", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class _Mount:
    prefix: str  # "" for the default entry
    path: str  # as configured, or resolved once with cgi-optimize
    is_file: bool | None  # known with cgi-optimize, else looked up per request


@dataclass(frozen=True)
class _Script:
    """A request resolved to something to run."""

    command: str  # what is executed (the unresolved path with cgi-dontresolve)
    helper: str | None
    docroot: str
    script_name: str
    script_filename: str
    path_info: str | None
    chdir: str
    is_file_mount: bool


class _Answer(Exception):
    """A request the gateway answers itself (404, 403, redirect) instead of running a script."""

    def __init__(self, status: int, headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers or []
        self.body = body or f"{_REASONS.get(status, 'Error')}\n".encode()


def _helpers(specs: Iterable[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for spec in specs:
        ext, sep, command = spec.partition("=")
        if not sep or not ext or not command.strip():
            raise ConfigError(f"cgi-helper = {spec!r}: invalid CGI helper syntax, must be ext=command")
        out.append((ext, command.strip()))
    return tuple(out)


def build_cgi_gateway(cfg: Any) -> CGIGateway:
    """The gateway for this config, checked once at start-up (raises :class:`ConfigError`)."""
    if getattr(cfg, "cgi_loadlib", None):
        raise ConfigError("cgi-loadlib: satrap cannot load uWSGI's C CGI optimizers; remove the option")
    optimize = bool(getattr(cfg, "cgi_optimize", False))
    mounts: list[_Mount] = []
    default: _Mount | None = None
    for spec in getattr(cfg, "cgi", None) or []:
        prefix, sep, path = spec.partition("=")
        if not sep:
            prefix, path = "", spec
        elif not prefix:
            prefix = "/"
        path = path.strip()
        if not path:
            raise ConfigError(f"cgi = {spec!r}: expected [mountpoint=]directory-or-script")
        is_file: bool | None = None
        if optimize:
            real = os.path.realpath(path)
            if not os.path.exists(real):
                raise ConfigError(f"cgi = {spec}: unable to find CGI path {path} (cgi-optimize resolves it at start-up)")
            path, is_file = real, not os.path.isdir(real)
        mount = _Mount(prefix.strip(), path, is_file)
        if sep:
            mounts.append(mount)
            log.info("initialized CGI mountpoint: %s = %s", mount.prefix, path)
        else:
            default = mount  # the last one wins, as in uWSGI
            log.info("initialized CGI path: %s", path)
    return CGIGateway(
        mounts=tuple(sorted(mounts, key=lambda m: -len(m.prefix))),
        default=default,
        from_docroot=bool(getattr(cfg, "cgi_from_docroot", False)),
        index=tuple(getattr(cfg, "cgi_index", None) or ()),
        allowed_ext=tuple(getattr(cfg, "cgi_allowed_ext", None) or ()),
        helpers=_helpers(getattr(cfg, "cgi_map_helper", None) or ()),
        unset=tuple(getattr(cfg, "cgi_unset", None) or ()),
        safe=tuple(getattr(cfg, "cgi_safe", None) or ()),
        dontresolve=bool(getattr(cfg, "cgi_dontresolve", False)),
        timeout=float(getattr(cfg, "cgi_timeout", 0) or 60),
        buffer_size=int(getattr(cfg, "cgi_buffer_size", 0) or 65536),
        kill_on_error=not bool(getattr(cfg, "cgi_do_not_kill_on_error", False)),
    )


class CGIGateway:
    """A WSGI app that runs the CGI script a request maps to and relays its answer (module doc)."""

    def __init__(self, *, mounts: tuple[_Mount, ...], default: _Mount | None, from_docroot: bool,
                 index: tuple[str, ...], allowed_ext: tuple[str, ...], helpers: tuple[tuple[str, str], ...],
                 unset: tuple[str, ...], safe: tuple[str, ...], dontresolve: bool, timeout: float,
                 buffer_size: int, kill_on_error: bool) -> None:
        self.mounts = mounts
        self.default = default
        self.from_docroot = from_docroot
        self.index = index
        self.allowed_ext = allowed_ext
        self.helpers = helpers
        self.unset = unset
        self.safe = safe
        self.dontresolve = dontresolve
        self.timeout = timeout
        self.buffer_size = buffer_size
        self.kill_on_error = kill_on_error
        self.software = f"satrap/{__version__} (uWSGI/{UWSGI_COMPAT_VERSION} compatible)"

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            script = self.resolve(environ)
        except _Answer as ans:
            return _answer(start_response, ans)
        try:
            proc = subprocess.Popen(self._argv(script, environ.get("QUERY_STRING", "")),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=script.chdir,
                                    env=self._env(script, environ), close_fds=True, start_new_session=True)
        except (OSError, ValueError) as exc:
            log.error("CGI %s: cannot run it: %s", script.script_filename, exc)
            return _answer(start_response, _Answer(500))
        run = _Run(proc, self.timeout, self.kill_on_error, script.script_filename)
        try:
            status, headers, rest = run.start(environ, self.buffer_size)
        except _Answer as ans:
            run.close()
            return _answer(start_response, ans)
        except BaseException:
            run.close()
            raise
        start_response(status, headers)
        return run.body(rest)

    # -- mapping a request to a script ------------------------------------------------------------
    def resolve(self, environ: dict[str, Any]) -> _Script:
        """The script this request runs, or raises :class:`_Answer` (404, 403, 301)."""
        path_info = environ.get("PATH_INFO", "") or ""
        if "\x00" in path_info:
            raise _Answer(404)
        discard = 0
        mount_prefix = ""
        is_file: bool | None
        if self.from_docroot:
            docroot, is_file = environ.get("DOCUMENT_ROOT", "") or "", None
        else:
            chosen = None
            for mount in self.mounts:
                if path_info.startswith(mount.prefix):
                    chosen = mount
                    mount_prefix = mount.prefix
                    discard = len(mount.prefix) - (1 if mount.prefix.endswith("/") else 0)
                    break
            if chosen is None:
                chosen = self.default
            if chosen is None:
                raise _Answer(404)
            docroot, is_file = chosen.path, chosen.is_file
        if not docroot:
            raise _Answer(404)
        if is_file is None:
            real = os.path.realpath(docroot)
            if not os.path.exists(real):
                log.error("CGI path %s does not exist", docroot)
                raise _Answer(404)
            docroot, is_file = real, not os.path.isdir(real)
        rest = path_info[discard:]
        if is_file:
            if not os.access(docroot, os.X_OK):
                log.error("CGI %s is not executable", docroot)
                raise _Answer(403)
            name = mount_prefix[:discard] if discard > 1 else environ.get("SCRIPT_NAME", "")
            return _Script(docroot, None, os.getcwd(), name, docroot, rest,
                           os.path.dirname(docroot) or "/", True)
        full, extra = self._walk(docroot, rest)
        real = os.path.realpath(full)
        if not os.path.exists(real):
            raise _Answer(404)
        self._check_inside(real, docroot)
        if os.path.isdir(real):
            if not path_info.endswith("/"):
                location = environ.get("SCRIPT_NAME", "") + path_info + "/"
                qs = environ.get("QUERY_STRING", "")
                raise _Answer(301, [("Location", location + ("?" + qs if qs else ""))], b"")
            for name in self.index:
                candidate = os.path.join(full, name)
                if os.access(candidate, os.R_OK):
                    full = candidate
                    real = os.path.realpath(candidate)
                    self._check_inside(real, docroot)
                    break
            else:
                raise _Answer(404)
        if not os.path.isfile(real):
            raise _Answer(403)
        if self.allowed_ext and not real.endswith(self.allowed_ext):
            raise _Answer(403)
        helper = next((cmd for ext, cmd in self.helpers if real.endswith(ext)), None)
        if helper is None and not os.access(real, os.X_OK):
            log.error("CGI %s is not executable (and no cgi-helper matches it)", real)
            raise _Answer(403)
        command = full if self.dontresolve else real
        script_name = path_info[:discard] + full[len(docroot):]  # the URL path, even through a symlink
        return _Script(command, helper, docroot, script_name, command, extra,
                       os.path.dirname(command) or docroot, False)

    @staticmethod
    def _walk(docroot: str, rest: str) -> tuple[str, str | None]:
        """docroot + the leading segments of ``rest`` up to the first one that is not a directory
        (the script), and what follows it (the script's PATH_INFO, None when nothing does)."""
        parts = rest.split("/")
        full = docroot
        last = len(parts) - 1
        for i, seg in enumerate(parts):
            if seg == "..":
                log.error("CGI security error: '..' in %r", rest)
                raise _Answer(403)
            if seg in ("", "."):
                continue
            full = full + "/" + seg
            if i < last:
                try:
                    st = os.stat(full)
                except OSError:
                    raise _Answer(404) from None
                if not stat.S_ISDIR(st.st_mode):
                    tail = "/" + "/".join(parts[i + 1:])
                    return full, (tail if tail != "/" else None)
        return full, None

    def _check_inside(self, real: str, docroot: str) -> None:
        if real == docroot or real.startswith(docroot.rstrip("/") + "/"):
            return
        if any(real.startswith(prefix) for prefix in self.safe):
            return
        log.error("CGI security error: %s is not under %s", real, docroot)
        raise _Answer(403)

    # -- running it ----------------------------------------------------------------------------------
    def _argv(self, script: _Script, query: str) -> list[str]:
        argv = [script.helper, script.command] if script.helper else [script.command]
        if query and "=" not in query:
            words = [unquote_to_bytes(w).decode("latin-1") for w in query.split("+") if w]
            if words and not any(w.startswith("-") or "\x00" in w for w in words):
                argv.extend(words)
        return argv

    def _env(self, script: _Script, environ: dict[str, Any]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SATRAP__")}
        for key, value in environ.items():
            if type(value) is str and key.isupper() and "." not in key and key not in _NEVER_PASS \
                    and "\x00" not in value:
                env[key] = value
        env.setdefault("GATEWAY_INTERFACE", "CGI/1.1")
        env.setdefault("SERVER_SOFTWARE", self.software)
        env.setdefault("REDIRECT_STATUS", "200")  # php-cgi refuses to run without it
        env.setdefault("SERVER_PROTOCOL", "HTTP/1.0")
        if script.path_info is not None:
            env["PATH_INFO"] = script.path_info
            env["PATH_TRANSLATED"] = (environ.get("DOCUMENT_ROOT") or script.docroot) + script.path_info
        else:
            env.pop("PATH_INFO", None)
            env.pop("PATH_TRANSLATED", None)
        env.setdefault("DOCUMENT_ROOT", script.docroot)
        env.setdefault("SCRIPT_FILENAME", script.script_filename)
        if not script.is_file_mount or script.script_name:
            env["SCRIPT_NAME"] = script.script_name
        for name in self.unset:
            env.pop(name, None)
        return env


def _answer(start_response: StartResponse, ans: _Answer) -> list[bytes]:
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(ans.body))), *ans.headers]
    start_response(f"{ans.status} {_REASONS.get(ans.status, 'Error')}", headers)
    return [ans.body]


def parse_head(block: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The status and headers of a CGI header block (without its blank line), as uWSGI reads
    them: ``Status:`` sets the status, else ``Location:`` makes it 302, else 200. Raises
    ValueError for a line without a colon or a malformed Status."""
    status = None
    location = False
    headers: list[tuple[str, str]] = []
    for raw in block.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line:
            continue
        name_b, sep, value_b = line.partition(b":")
        if not sep:
            raise ValueError(f"CGI header line without a colon: {line[:80]!r}")
        name = name_b.decode("latin-1").strip()
        value = value_b.decode("latin-1").strip()
        lname = name.lower()
        if lname == "status":
            code, _, reason = value.partition(" ")
            if len(code) != 3 or not code.isdigit():
                raise ValueError(f"invalid CGI Status: {value[:80]!r}")
            status = f"{code} {reason.strip() or _REASONS.get(int(code), 'Unknown')}"
            continue
        if not _TOKEN.fullmatch(name) or lname in _HOP_BY_HOP:
            continue  # never let a script's header break satrap's framing
        if lname == "content-length" and not value.isdigit():
            continue
        if lname == "location":
            location = True
        headers.append((name, value))
    if status is None:
        status = "302 Found" if location else "200 OK"
    return status, headers


class _Run:
    """One running script: feed it the body, read its header block, stream the rest, reap it."""

    def __init__(self, proc: subprocess.Popen[bytes], timeout: float, kill_on_error: bool, name: str) -> None:
        self.proc = proc
        self.timeout = timeout
        self.kill_on_error = kill_on_error
        self.name = name
        self.eof = False
        self.failed = False
        self.sel = selectors.DefaultSelector()
        assert proc.stdout is not None and proc.stdin is not None
        self.out = proc.stdout.fileno()
        os.set_blocking(self.out, False)
        os.set_blocking(proc.stdin.fileno(), False)  # a full stdin must not block: see _feed
        self.sel.register(self.out, selectors.EVENT_READ)
        #: output read while the body was still being fed (a script that answers as it reads)
        self.pending = bytearray()

    def start(self, environ: dict[str, Any], limit: int) -> tuple[str, list[tuple[str, str]], bytes]:
        """Send the request body, then read up to the end of the header block."""
        self._feed(environ)
        buf = b""
        while True:
            end = _head_end(buf)
            if end is not None:
                block, rest = buf[:end[0]], buf[end[1]:]
                try:
                    status, headers = parse_head(block)
                except ValueError as exc:
                    log.error("CGI %s: invalid CGI response: %s", self.name, exc)
                    self.failed = True
                    raise _Answer(502) from None
                return status, headers, rest
            if len(buf) >= limit:
                log.error("CGI %s: invalid CGI response: no end of headers in %d bytes", self.name, limit)
                self.failed = True
                raise _Answer(502)
            chunk = self._read()
            if chunk is None:
                log.error("CGI %s: CGI timeout !!! (nothing within %g s)", self.name, self.timeout)
                self.failed = True
                raise _Answer(504)
            if not chunk:
                code = self.proc.poll()
                log.error("CGI %s: invalid CGI response: output ended before the header block ended%s",
                          self.name, f" (exit status {code})" if code is not None else "")
                self.failed = True
                raise _Answer(502)
            buf += chunk

    def _feed(self, environ: dict[str, Any]) -> None:
        """The request body to the script's stdin, then EOF (always: a script that reads to EOF
        must not hang). Whenever stdin is full, the script's output is read meanwhile (up to
        ``_MAX_PENDING``), so a script that answers while it reads (``cat``, a filter) streams
        on; uWSGI writes the whole body first, and such a script stalls both sides until
        cgi-timeout once its output fills the pipe."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        stream = environ.get("wsgi.input")
        chunked = bool(environ.get("wsgi.input_terminated"))
        try:
            if stream is not None and (length > 0 or chunked):
                remaining = length if not chunked else -1
                while remaining != 0:
                    data = stream.read(_READ if remaining < 0 else min(_READ, remaining))
                    if not data:
                        break
                    if remaining > 0:
                        remaining -= len(data)
                    self._write(stdin.fileno(), data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the script does not read its body: its answer still counts
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                n = 0
            view = view[n:]
            if view:
                self._wait_writable(fd)

    def _wait_writable(self, fd: int) -> None:
        """stdin is full: wait (bounded by cgi-timeout) until the script reads on, draining its
        output meanwhile, since it may be blocked writing it."""
        deadline = time.monotonic() + self.timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_WRITE)
            watching_out = False
            while True:
                want_out = not self.eof and len(self.pending) < _MAX_PENDING
                if want_out != watching_out:
                    if want_out:
                        sel.register(self.out, selectors.EVENT_READ)
                    else:
                        sel.unregister(self.out)
                    watching_out = want_out
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Answer(504)
                ready = sel.select(left)
                if any(key.fd == fd for key, _ in ready):
                    return
                if ready:
                    try:
                        data = os.read(self.out, _READ)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if data:
                        self.pending += data
                    else:
                        self.eof = True

    def _read(self) -> bytes | None:
        """Next output bytes; b"" at EOF; None when the script was silent for cgi-timeout."""
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            return data
        if self.eof:
            return b""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                data = os.read(self.out, _READ)
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sel.select(left)
                continue
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise
            if not data:
                self.eof = True
            return data

    def body(self, rest: bytes) -> _Body:
        return _Body(self, rest)

    def close(self) -> None:
        """Reap the script (no zombie), killing its process group first when it failed, timed
        out, or its client went away mid-answer."""
        proc = self.proc
        if (self.failed or not self.eof) and self.kill_on_error:
            self._kill()
        try:
            proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            log.error("CGI %s: still running %g s after its output ended: killed", self.name, self.timeout)
            self._kill()
            proc.wait()
        self.sel.close()
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stdin is not None and not proc.stdin.closed:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def _kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _Body:
    """The rest of the script's output, streamed; ``close`` (called by the server) reaps it."""

    def __init__(self, run: _Run, first: bytes) -> None:
        self.run = run
        self.first = first

    def __iter__(self) -> Iterator[bytes]:
        if self.first:
            yield self.first
        run = self.run
        while not run.eof or run.pending:
            chunk = run._read()
            if chunk is None:
                log.error("CGI %s: CGI timeout !!! (silent for %g s mid-answer)", run.name, run.timeout)
                run.failed = True
                return
            if chunk:
                yield chunk

    def close(self) -> None:
        self.run.close()


def _head_end(buf: bytes) -> tuple[int, int] | None:
    """(end of the header block, start of the body) in ``buf``, or None when incomplete. The
    block ends at the first empty line, whether lines end in LF or CRLF."""
    if buf.startswith(b"\n"):
        return 0, 1
    if buf.startswith(b"\r\n"):
        return 0, 2
    best: tuple[int, int] | None = None
    for sep in (b"\n\n", b"\n\r\n"):
        i = buf.find(sep)
        if i >= 0 and (best is None or i < best[0]):
            best = (i, i + len(sep))
    return best
