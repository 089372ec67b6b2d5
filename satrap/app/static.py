"""``static-map``: files served by satrap itself, before the app, the way uWSGI's static layer does.

Why a WSGI layer: the worker already knows how to ``sendfile`` a ``wsgi.file_wrapper`` over a real
file (:mod:`satrap.app.invoke`), so a static file costs one ``stat``, one ``open`` and one
``sendfile`` and never copies the file through Python. Everything that can be decided once
(prefixes sorted longest first, document roots resolved with ``realpath``, regexps compiled) is
decided when the layer is built; a config without any static option gets the app back unchanged.

Behaviour kept from uWSGI: a path that maps to no file *falls through to the app* (so
``static-map = /=public`` in front of a Flask app works); ``static-index`` names are tried for a
directory; ``static-expires*`` add ``Expires`` (and ``Cache-Control: max-age``). Added on purpose:
``If-Modified-Since``/``If-None-Match`` (304), single ``Range`` requests (206/416), and a strict
refusal (403) of anything that looks like a way out of the document root, checked on both the
decoded ``PATH_INFO`` and the raw ``REQUEST_URI``: ``..`` segments, encoded ``%2e%2e``/``%2f``/
``%5c``, NUL bytes, backslashes; a symlink whose target leaves the root (and every
``static-safe`` directory) is refused too.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from satrap.log import log

WSGIApp = Callable[..., Iterable[bytes]]

#: the options that switch the layer on; any one of them set means "build the layer"
STATIC_OPTIONS = ("static_map", "static_map2", "static_check", "check_static")

_FORBIDDEN = "403 Forbidden"
_FORBIDDEN_BODY = b"Forbidden\n"
_ENCODED_BAD = ("%2f", "%5c", "%00", "%2e%2e", "%2e.", ".%2e")
_ENCODINGS = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz",
              "compress": "application/x-compress", "br": "application/x-brotli"}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _opt(cfg: Any, name: str) -> list[str]:
    """A list option that a test double may not carry at all."""
    try:
        value = getattr(cfg, name)
    except AttributeError:
        return []
    if value is None or value is False:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _flag(cfg: Any, name: str) -> bool:
    try:
        return bool(getattr(cfg, name))
    except AttributeError:
        return False


def _rule(spec: str, option: str) -> tuple[str, int]:
    """``regexp seconds`` -> (regexp, seconds): uWSGI splits at the last blank."""
    pattern, _, seconds = spec.strip().rpartition(" ")
    if not pattern or not seconds.strip().isdigit():
        from satrap.errors import ConfigError

        raise ConfigError(f"{option} = {spec}: expected 'REGEXP SECONDS' (e.g. {option} = /static/.* 3600)")
    return pattern.strip(), int(seconds)


class _Mapping:
    """One ``static-map``: a URL prefix and the real path of its document root (or single file)."""

    __slots__ = ("prefix", "root", "is_file", "keep_prefix")

    def __init__(self, prefix: str, root: str, keep_prefix: bool = False) -> None:
        self.prefix = prefix
        self.root = root
        self.is_file = os.path.isfile(root)
        self.keep_prefix = keep_prefix  # static-map2: the whole path is looked up under root


class _Slice:
    """A byte range of an open file, shaped like a file, so the worker's ``sendfile`` path sends
    exactly ``length`` bytes from ``start`` and its read-loop fallback never reads past the end."""

    __slots__ = ("_f", "_start", "_left", "mode")

    def __init__(self, f: Any, start: int, length: int) -> None:
        self._f = f
        self._start = start
        self._left = length
        self.mode = "rb"
        f.seek(start)

    def fileno(self) -> int:
        return self._f.fileno()

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._f.read(n)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._f.close()


def _iter_file(f: Any, blksize: int = 65536) -> Iterator[bytes]:
    """Fallback when the server offers no ``wsgi.file_wrapper`` (a foreign server, a test)."""
    try:
        while True:
            data = f.read(blksize)
            if not data:
                return
            yield data
    finally:
        f.close()


class StaticFiles:
    """The static layer: serve mapped files, pass everything else to ``app``."""

    def __init__(self, app: WSGIApp, mappings: list[_Mapping], index: list[str],
                 expires: list[tuple[re.Pattern[str], int, bool]],
                 expires_uri: list[tuple[re.Pattern[str], int, bool]],
                 expires_path: list[tuple[re.Pattern[str], int, bool]],
                 expires_type: list[tuple[str, int, bool]], safe: list[str], skip_ext: list[str],
                 gzip_all: bool, gzip_dirs: list[str]) -> None:
        self.app = app
        self.mappings = sorted(mappings, key=lambda m: len(m.prefix), reverse=True)
        self.index = index
        self.expires = expires
        self.expires_uri = expires_uri
        self.expires_path = expires_path
        self.expires_type = expires_type
        self.safe = safe
        self.skip_ext = tuple(skip_ext)
        self.gzip_all = gzip_all
        self.gzip_dirs = gzip_dirs

    # -- the request -------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "GET" and method != "HEAD":
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO", "") or "/"
        found = self._match(path)
        if found is None:
            return self.app(environ, start_response)
        mapping, rest = found
        if self._hostile(rest, environ.get("REQUEST_URI", "")):
            return _refuse(start_response)
        target = self._locate(mapping, rest)
        if target is None:
            return self.app(environ, start_response)  # a miss: uWSGI hands it to the app
        if target == "":
            return _refuse(start_response)
        return self._serve(environ, start_response, target, method == "HEAD")

    def _match(self, path: str) -> tuple[_Mapping, str] | None:
        for m in self.mappings:
            p = m.prefix
            if m.is_file:
                if path == p:
                    return m, ""
                continue
            if not p:
                return m, path
            if path.startswith(p) and (len(path) == len(p) or path[len(p)] == "/"):
                return m, (path if m.keep_prefix else path[len(p):])
        return None

    @staticmethod
    def _hostile(rest: str, raw_uri: str) -> bool:
        """Anything that could name a file outside the root, in decoded or raw form."""
        if "\x00" in rest or "\\" in rest:
            return True
        for seg in rest.split("/"):
            if seg == ".." or seg == ".":
                return True
        raw = raw_uri.partition("?")[0].lower()
        if "\\" in raw or "\x00" in raw:
            return True
        if "%" in raw and any(bad in raw for bad in _ENCODED_BAD):
            return True
        return any(seg in ("..", ".") for seg in raw.split("/"))

    def _inside(self, real: str, root: str) -> bool:
        for base in (root, *self.safe):
            if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
                return True
        return False

    def _locate(self, m: _Mapping, rest: str) -> str | None:
        """The real path to serve; None for a miss (fall through), "" for a refusal."""
        if m.is_file:
            candidate = m.root
            root = os.path.dirname(m.root)
        else:
            candidate = os.path.join(m.root, rest.lstrip("/")) if rest.strip("/") else m.root
            root = m.root
        try:
            real = os.path.realpath(candidate)
        except (ValueError, OSError):
            return ""
        if not self._inside(real, root):
            log(f"[satrap-static] security error: {candidate} resolves outside {root}")
            return ""
        try:
            st = os.stat(real)
        except (OSError, ValueError):
            return None
        if stat.S_ISDIR(st.st_mode):
            for name in self.index:
                found = self._locate_in(real, name, root)
                if found:
                    return found
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        if self.skip_ext and real.endswith(self.skip_ext):
            return None
        return real

    def _locate_in(self, directory: str, name: str, root: str) -> str | None:
        real = os.path.realpath(os.path.join(directory, name))
        if not self._inside(real, root) or not os.path.isfile(real):
            return None
        if self.skip_ext and real.endswith(self.skip_ext):
            return None
        return real

    # -- the response ------------------------------------------------------------------------
    def _serve(self, environ: dict[str, Any], start_response: Callable[..., Any], real: str,
               is_head: bool) -> Iterable[bytes]:
        ctype, enc = mimetypes.guess_type(real, strict=False)
        content_type = _ENCODINGS.get(enc or "", "application/octet-stream") if enc else (
            ctype or "application/octet-stream")
        headers: list[tuple[str, str]] = []
        sent_path = real
        if (self.gzip_all or any(self._inside(real, d) for d in self.gzip_dirs)) and \
                "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "") and os.path.isfile(real + ".gz"):
            sent_path = real + ".gz"
            headers.append(("Content-Encoding", "gzip"))
            headers.append(("Vary", "Accept-Encoding"))
        try:
            f = open(sent_path, "rb")  # noqa: SIM115 - closed by the server through the wrapper
        except OSError:
            return self.app(environ, start_response)
        try:
            st = os.fstat(f.fileno())
            size = st.st_size
            mtime = int(st.st_mtime)
            last_modified = formatdate(mtime, usegmt=True)
            etag = f'"{st.st_mtime_ns:x}-{size:x}"'
            headers += [("Content-Type", content_type), ("Last-Modified", last_modified),
                        ("ETag", etag), ("Accept-Ranges", "bytes")]
            headers += self._expiry(environ, real, content_type, mtime)
            if _not_modified(environ, etag, mtime):
                f.close()
                start_response("304 Not Modified", headers)
                return []
            status = "200 OK"
            start, length = 0, size
            rng = environ.get("HTTP_RANGE")
            if rng and _if_range_ok(environ.get("HTTP_IF_RANGE"), etag, last_modified):
                parsed = _parse_range(rng, size)
                if parsed == "unsatisfiable":
                    f.close()
                    start_response("416 Range Not Satisfiable",
                                   [("Content-Range", f"bytes */{size}"), ("Content-Length", "0"),
                                    ("Content-Type", content_type)])
                    return []
                if isinstance(parsed, tuple):
                    start, length = parsed
                    status = "206 Partial Content"
                    headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
            headers.append(("Content-Length", str(length)))
            if is_head:
                f.close()
                start_response(status, headers)
                return []
            start_response(status, headers)
            body: Any = _Slice(f, start, length) if (start or length != size) else f
            wrapper = environ.get("wsgi.file_wrapper")
            return wrapper(body, 65536) if wrapper is not None else _iter_file(body)
        except BaseException:
            f.close()
            raise

    def _expiry(self, environ: dict[str, Any], real: str, ctype: str, mtime: int) -> list[tuple[str, str]]:
        """The first matching static-expires* rule (file name, then URI, then type) sets the date."""
        uri = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        seconds: int | None = None
        by_mtime = False
        for rx, secs, from_mtime in self.expires:
            if rx.search(real):
                seconds, by_mtime = secs, from_mtime
                break
        if seconds is None:
            for rx, secs, from_mtime in self.expires_uri:
                if rx.search(uri):
                    seconds, by_mtime = secs, from_mtime
                    break
        if seconds is None:
            path_info = environ.get("PATH_INFO", "")
            for rx, secs, from_mtime in self.expires_path:
                if rx.search(path_info):
                    seconds, by_mtime = secs, from_mtime
                    break
        if seconds is None:
            for mime, secs, from_mtime in self.expires_type:
                if ctype == mime or (mime.endswith("/*") and ctype.startswith(mime[:-1])):
                    seconds, by_mtime = secs, from_mtime
                    break
        if seconds is None:
            return []
        now = time.time()
        if by_mtime:  # the *-mtime variants: a fixed date after the file's last change
            expires: float = mtime + seconds
            max_age = max(0, int(expires - now))
        else:
            expires, max_age = now + seconds, seconds
        return [("Expires", formatdate(expires, usegmt=True)), ("Cache-Control", f"max-age={max_age}")]


def _refuse(start_response: Callable[..., Any]) -> list[bytes]:
    start_response(_FORBIDDEN, [("Content-Type", "text/plain"), ("Content-Length", str(len(_FORBIDDEN_BODY)))])
    return [_FORBIDDEN_BODY]


def _http_time(value: str) -> int | None:
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _not_modified(environ: dict[str, Any], etag: str, mtime: int) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since when both are sent."""
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = environ.get("HTTP_IF_MODIFIED_SINCE")
    if ims:
        when = _http_time(ims)
        return when is not None and mtime <= when
    return False


def _if_range_ok(if_range: str | None, etag: str, last_modified: str) -> bool:
    """A Range with an If-Range that no longer matches gets the whole (new) file."""
    if not if_range:
        return True
    return if_range.strip() in (etag, last_modified)


def _parse_range(value: str, size: int) -> tuple[int, int] | str | None:
    """(start, length) of a single byte range; "unsatisfiable"; or None to ignore the header
    (malformed, or several ranges: RFC 9110 allows answering those with the whole file)."""
    m = _RANGE.fullmatch(value.strip().replace(" ", ""))
    if m is None:
        return None
    first, last = m.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        n = min(n, size)
        return size - n, n
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None
    return start, end - start + 1


def _rules(cfg: Any, option: str, from_mtime: bool) -> list[tuple[re.Pattern[str], int, bool]]:
    out = []
    for spec in _opt(cfg, option):
        pattern, seconds = _rule(spec, option.replace("_", "-"))
        try:
            out.append((re.compile(pattern), seconds, from_mtime))
        except re.error as exc:
            from satrap.errors import ConfigError

            raise ConfigError(f"{option.replace('_', '-')} = {spec}: bad regular expression ({exc})") from None
    return out


def _specs(cfg: Any) -> list[tuple[str, bool]]:
    """(``/prefix=dir``, keep_prefix) of every mapping; ``check-static DIR`` is ``static-map /=DIR``."""
    specs = [(s, False) for s in _opt(cfg, "static_map")] + [(s, True) for s in _opt(cfg, "static_map2")]
    specs += [("/=" + d, False) for d in _opt(cfg, "static_check") + _opt(cfg, "check_static")]
    return specs


def static_layer(cfg: Any, app: WSGIApp, warn: Callable[[str], None] | None = log) -> WSGIApp:
    """``app`` itself when no static file is mapped; else the static layer in front of it.

    Raises :class:`satrap.errors.ConfigError` for a malformed value (``satrap check`` calls this
    with ``warn=None`` to validate a config without touching the log)."""
    specs = _specs(cfg)
    if not specs:
        return app
    from satrap.errors import ConfigError

    mappings: list[_Mapping] = []
    for spec, keep in specs:
        prefix, eq, docroot = spec.partition("=")
        prefix = prefix.strip()
        if not eq or not docroot.strip() or not prefix.startswith("/"):
            name = "static-map2" if keep else "static-map"
            raise ConfigError(f"{name} = {spec}: expected /prefix=DIRECTORY (e.g. {name} = /static=public)")
        root = os.path.realpath(docroot.strip())
        if warn is not None and not os.path.exists(root):
            warn(f"[satrap-static] warning: static-map {spec}: {root} does not exist (yet)")
        mappings.append(_Mapping(prefix.rstrip("/"), root, keep))
    expires = _rules(cfg, "static_expires", False) + _rules(cfg, "static_expires_mtime", True)
    expires_uri = _rules(cfg, "static_expires_uri", False) + _rules(cfg, "static_expires_uri_mtime", True)
    expires_path = (_rules(cfg, "static_expires_path_info", False)
                    + _rules(cfg, "static_expires_path_info_mtime", True))
    expires_type: list[tuple[str, int, bool]] = []
    for option, from_mtime in (("static_expires_type", False), ("static_expires_type_mtime", True)):
        for spec in _opt(cfg, option):
            mime, _, seconds = spec.strip().partition("=")
            if not seconds.strip().isdigit():
                raise ConfigError(f"{option.replace('_', '-')} = {spec}: expected MIME=SECONDS "
                                  "(e.g. text/css=86400)")
            expires_type.append((mime.strip(), int(seconds), from_mtime))
    index = [name for item in _opt(cfg, "static_index") for name in item.split() if name]
    safe = [os.path.realpath(d) for d in _opt(cfg, "static_safe")]
    skip = [e if e.startswith(".") else "." + e for e in _opt(cfg, "static_skip_ext")]
    gzip_dirs = [os.path.realpath(d) for d in _opt(cfg, "static_gzip_dir")]
    return StaticFiles(app, mappings, index, expires, expires_uri, expires_path, expires_type, safe, skip,
                       _flag(cfg, "static_gzip_all"), gzip_dirs)
