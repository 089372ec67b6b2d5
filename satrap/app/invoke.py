"""Calling a WSGI app and writing its response: PEP 3333's rules, on the hot path.

One :class:`Response` per request holds what ``start_response`` was given. The common case (an
app returning a one-item list, as Flask and most frameworks do) is answered with a single
``sendall`` of head and body together, with a ``Content-Length`` added when the app gave none so
the connection can stay open. Other bodies are streamed: with the app's ``Content-Length``, else
chunked on HTTP/1.1, else delimited by closing the connection.

Rules kept (PEP 3333): the head is sent only with the first non-empty body chunk (or at the end);
``start_response`` may be called again only with ``exc_info``, and then re-raises if the head is
already out; ``write()`` works; ``close()`` is always called; header names/values holding CR, LF
or NUL are refused (response splitting) and turn into a 500.
"""

from __future__ import annotations

import os
import select
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from satrap.protocol.http11 import response_lines
from satrap.protocol.sse import Offload

Send = Callable[[bytes], Any]

_ERROR_BODY = b"Internal Server Error"
_NO_APP_BODY = b"Internal Server Error (no python application found, check your config)"
_NO_BODY_STATUS = frozenset((204, 304))

#: the worker's offload engine (``satrap.worker.offload.install`` sets it once per worker): called
#: with the client socket and an :class:`Offload` after the response head went out
offloader: Callable[[Any, Offload], None] | None = None
#: how long a file body may wait for a client that does not read (the worker sets socket-timeout)
send_timeout = 4.0
_COALESCE = 65536  # a list body up to this size is sent with the head in one send

#: (version, status, headers) -> (code, Content-Length or None, "Connection: close" given,
#: validated status and header lines). An app answers most requests with the same few heads;
#: validating and encoding each once saves a regex match, a join and an encode per response.
#: Bounded in entries and in head size, so an app whose heads all differ (cookies, ETags,
#: lengths) pays a dict miss and at most ~100 KB per worker, never a growing cache.
_HEADS: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[int, int | None, bool, bytes]] = {}
_HEADS_MAX = 64
_HEAD_CACHED_MAX = 1024  # bytes of status and header lines: bigger heads are not kept


class FileWrapper:
    """``wsgi.file_wrapper``: lets the server ``sendfile()`` a real file instead of iterating it."""

    __slots__ = ("filelike", "blksize", "close")

    def __init__(self, filelike: Any, blksize: int = 65536) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Any:
        read = self.filelike.read
        blksize = self.blksize
        while True:
            data = read(blksize)
            if not data:
                return
            yield data


class ResponseAborted(Exception):
    """The response cannot be completed (the head is out and the app failed, or the client
    vanished): the connection must be closed without a clean end."""


class Response:
    """State of one response. ``keep_alive`` on entry is what the request asked for; after
    :meth:`run` it says whether the connection may carry another request."""

    __slots__ = ("send", "version", "keep_alive", "is_head", "can_chunk", "ka_header", "status",
                 "headers", "head_sent", "chunked", "sent", "code", "header_bytes", "length",
                 "failed")

    def __init__(self, send: Send, version: str, keep_alive: bool, is_head: bool,
                 can_chunk: bool, ka_header: bool = False) -> None:
        self.send = send
        self.version = version
        self.keep_alive = keep_alive
        self.is_head = is_head
        self.can_chunk = can_chunk  # HTTP/1.1 client: chunked framing and "Connection: close"
        self.ka_header = ka_header  # HTTP/1.0 keep-alive client: must be told "keep-alive"
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.chunked = False
        self.sent = 0  # body bytes sent (for the log and stats)
        self.code = 0
        self.header_bytes = 0
        self.length: int | None = None
        self.failed = False

    # -- PEP 3333 ------------------------------------------------------------------------------
    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called a second time without exc_info")
        if type(status) is not str:
            raise TypeError(f"status must be a str, got {type(status).__name__}")
        self.status = status
        self.headers = headers
        return self.write

    def write(self, data: bytes) -> None:
        if self.status is None:
            raise AssertionError("write() called before start_response()")
        if not self.head_sent:
            self._send_head(None, b"")
        if data:
            self._send_body(data)

    # -- head and body ---------------------------------------------------------------------------
    def _send_head(self, known_length: int | None, body: bytes) -> None:
        status = self.status
        assert status is not None
        try:
            key = (self.version, status, tuple(self.headers))
            info = _HEADS.get(key)
        except TypeError:  # unhashable headers (lists): validate every time
            key = None
            info = None
        if info is None:
            info = _scan_head(self.version, status, self.headers)
            if key is not None and len(info[3]) <= _HEAD_CACHED_MAX:
                if len(_HEADS) >= _HEADS_MAX:
                    _HEADS.clear()
                _HEADS[key] = info
        code, length, connection_close, lines = info
        self.code = code
        extra = b""  # the lines the server adds (never cached: they depend on the request)
        no_body = self.is_head or code in _NO_BODY_STATUS or code < 200
        if length is None and not no_body:
            if known_length is not None:
                length = known_length
                extra = b"Content-Length: %d\r\n" % known_length
            elif self.can_chunk and self.keep_alive:
                self.chunked = True
                extra = b"Transfer-Encoding: chunked\r\n"
            else:
                self.keep_alive = False
        elif length is None and self.is_head and known_length is not None and code not in _NO_BODY_STATUS:
            extra = b"Content-Length: %d\r\n" % known_length
        if connection_close:
            self.keep_alive = False
        elif not self.keep_alive and self.can_chunk:
            extra += b"Connection: close\r\n"
        elif self.keep_alive and self.ka_header:
            extra += b"Connection: keep-alive\r\n"
        self.length = length
        head = lines + extra + b"\r\n"
        self.header_bytes = len(head)
        self.head_sent = True
        if no_body:
            self.send(head)
            return
        if body:
            if self.chunked:
                self.send(head + b"%x\r\n" % len(body) + body + b"\r\n")
            else:
                self.send(head + body)
            self.sent += len(body)
        else:
            self.send(head)

    def _send_body(self, data: bytes) -> None:
        if self.is_head or self.code in _NO_BODY_STATUS:
            return
        if type(data) is not bytes:
            if isinstance(data, (bytearray, memoryview)):
                data = bytes(data)
            else:
                raise TypeError(f"the app yielded {type(data).__name__}, WSGI bodies are bytes")
        if self.chunked:
            self.send(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.send(data)
        self.sent += len(data)

    def finish(self) -> None:
        if not self.head_sent:
            self._send_head(0, b"")
        elif self.chunked:
            self.send(b"0\r\n\r\n")
        if self.length is not None and self.sent != self.length and not self.is_head:
            self.keep_alive = False  # the app lied about its length: the framing is gone

    def error(self, body: bytes = _ERROR_BODY) -> None:
        """Answer 500 if nothing was sent yet; else the response can only be cut."""
        self.failed = True
        if self.head_sent:
            self.keep_alive = False
            raise ResponseAborted()
        self.status = "500 Internal Server Error"
        self.headers = [("Content-Type", "text/plain")]
        self.chunked = False
        self._send_head(len(body), body)

    # -- the whole call ------------------------------------------------------------------------
    def run(self, app: Callable[..., Iterable[bytes]] | None, environ: dict[str, Any]) -> None:
        """Call the app and send its response. Raises :class:`ResponseAborted` or OSError
        when the connection must be dropped."""
        if app is None:
            self.error(_NO_APP_BODY)
            return
        try:
            result = app(environ, self.start_response)
        except OSError as exc:
            if getattr(environ.get("wsgi.input"), "error", None) is not None:
                raise  # the client went away while the app read the body
            report_app_error(environ, exc)
            self.error()
            return
        except Exception as exc:  # noqa: BLE001 - any app error becomes a 500, never a dead worker
            report_app_error(environ, exc)
            self.error()
            return
        try:
            if self.status is None and type(result) is not list:
                # lazy apps (generators) call start_response on the first next()
                self._run_iter(result)
            elif type(result) is list and len(result) == 1 and not self.head_sent:
                body = result[0]
                if self.status is None:
                    raise AssertionError("the app returned without calling start_response()")
                if type(body) is not bytes:
                    body = bytes(body) if isinstance(body, (bytearray, memoryview)) else _bad(body)
                if self.is_head or int(self.status[:3]) in _NO_BODY_STATUS:
                    self._send_head(len(body), b"")
                else:
                    self._send_head(len(body), body)
            elif type(result) is FileWrapper and not self.head_sent and not self.is_head:
                self._send_file(result)
            elif type(result) is Offload:
                self._offload(result, environ)
            else:
                self._run_iter(result)
            self.finish()
        except (OSError, ResponseAborted):
            raise
        except Exception as exc:  # noqa: BLE001 - any app error becomes a 500, never a dead worker
            report_app_error(environ, exc)
            self.error()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # noqa: BLE001 - the app's close() failing is logged, nothing more
                    report_app_error(environ, exc)

    def _run_iter(self, result: Iterable[bytes]) -> None:
        if type(result) is list and not self.head_sent and self.status is not None:
            total = 0
            for chunk in result:
                total += len(chunk)
            if total <= _COALESCE and all(type(chunk) is bytes for chunk in result):
                # a short list goes out with the head in one send: one syscall, one packet
                self._send_head(total, b"".join(result))
                return
            self._send_head(total, b"")
            for chunk in result:
                if chunk:
                    self._send_body(chunk)
            return
        for chunk in result:
            if not chunk:
                continue
            if not self.head_sent:
                if self.status is None:
                    raise AssertionError("the app yielded data before calling start_response()")
                if type(chunk) is not bytes:
                    if not isinstance(chunk, (bytearray, memoryview)):
                        _bad(chunk)
                    chunk = bytes(chunk)
                # the head rides with the first chunk: an iterator app (Flask, Django) costs one
                # send for a one-chunk body instead of two
                self._send_head(None, chunk)
                continue
            self._send_body(chunk)

    def _offload(self, task: Offload, environ: dict[str, Any]) -> None:
        """Send the head of a stream that ends when the connection does, then give the socket to
        the offload engine (the worker closes its own descriptor; the engine holds a duplicate).
        The app's length/framing headers are dropped: a framework's empty placeholder body
        (Flask answers ``Content-Length: 0``) would otherwise end the stream before it starts."""
        self.keep_alive = False
        self.headers = [(n, v) for n, v in self.headers if n.lower() not in ("content-length", "transfer-encoding")]
        body = environ.get("wsgi.input")
        drain = getattr(body, "drain", None)
        if drain is not None:
            drain(1 << 20)  # an unread request body would make the worker's close() a reset
        self._send_head(None, b"")
        sock = getattr(self.send, "__self__", None)
        if self.is_head or sock is None or offloader is None:
            return
        offloader(sock, task)

    def _send_file(self, wrapper: FileWrapper) -> None:
        """``wsgi.file_wrapper`` over a real file: ``os.sendfile`` straight from the page cache."""
        send = self.send
        sock = getattr(send, "__self__", None)
        filelike = wrapper.filelike
        try:
            fileno = filelike.fileno()
            offset = filelike.tell()
            size = os.fstat(fileno).st_size - offset
        except (AttributeError, OSError, ValueError):
            self._run_iter(wrapper)
            return
        if sock is None or not hasattr(sock, "fileno") or self.status is None:
            self._run_iter(wrapper)
            return
        self._send_head(size, b"")
        if self.length is not None and self.length < size:
            size = self.length
        if self.chunked:
            self._run_iter(wrapper)
            return
        self.sent += _sendfile(sock, fileno, offset, size)


def _scan_head(version: str, status: str,
               headers: list[tuple[str, str]]) -> tuple[int, int | None, bool, bytes]:
    """What the server must know of an app's status and headers, and their encoded lines.
    Raises ValueError (the app's fault: the caller answers 500) on a bad status, a bad
    Content-Length or a header that would split the response."""
    try:
        code = int(status[:3])
    except ValueError:
        raise ValueError(f"invalid status {status!r} from the app") from None
    length = None
    connection_close = False
    for name, value in headers:
        lname = name.lower()
        if lname == "content-length":
            try:
                length = int(value)
            except ValueError:
                raise ValueError(f"invalid Content-Length {value!r} from the app") from None
        elif lname == "connection" and value.lower() == "close":
            connection_close = True
    return code, length, connection_close, response_lines(status, headers, version)


def _sendfile(sock: Any, in_fd: int, offset: int, size: int) -> int:
    """``os.sendfile`` until ``size`` bytes are out or the file ends, waiting at most
    ``send_timeout`` each time the client stops reading (TimeoutError, an OSError: the
    connection is dropped). The socket is made non-blocking for this: a blocking ``sendfile``
    honours the kernel send timeout only some of the time (it was seen blocked for minutes behind
    a zero window), and Python's ``socket.sendfile`` then waits in ``select()`` with no limit."""
    out_fd = sock.fileno()
    sent = 0
    poller = None
    sock.setblocking(False)
    try:
        while sent < size:
            try:
                n = os.sendfile(out_fd, in_fd, offset + sent, size - sent)
            except BlockingIOError:
                if poller is None:
                    poller = select.poll()
                    poller.register(out_fd, select.POLLOUT)
                if not poller.poll(send_timeout * 1000):
                    raise TimeoutError(f"the client read nothing for {send_timeout:g} s") from None
                continue
            if n == 0:  # the file shrank under us
                break
            sent += n
    finally:
        sock.setblocking(True)
    return sent


def _bad(chunk: object) -> bytes:
    raise TypeError(f"the app returned {type(chunk).__name__}, WSGI bodies are bytes")


def report_app_error(environ: dict[str, Any], exc: BaseException) -> None:
    """Log an app exception with its traceback and the request that caused it."""
    method = environ.get("REQUEST_METHOD", "?")
    uri = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        sys.stderr.write(f"Traceback for {method} {uri} (pid: {os.getpid()}):\n{text}")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001, S110 - a broken stderr must not turn a logged error into a crash
        pass
