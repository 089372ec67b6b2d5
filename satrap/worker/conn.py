"""One client connection inside a worker, and the per-request handlers for each protocol.

``serve_http`` and ``serve_uwsgi`` run requests on a connection until it must close or goes
idle (no buffered bytes left); the loop in :mod:`satrap.worker.loop` parks idle keep-alive
connections in epoll and calls back when bytes arrive. Peer errors never escape: a malformed
request gets its 4xx (HTTP) or a log line and a closed connection (uwsgi), and the worker lives on.
"""

from __future__ import annotations

import _socket
import re
import socket
import time
from typing import Any

from satrap.app.invoke import Response, ResponseAborted
from satrap.log import log
from satrap.net.body import EMPTY_INPUT, EmptyInput, Input, read_chunked_body
from satrap.protocol.errors import ProtocolError
from satrap.protocol.http11 import ChunkedDecoder, parse_head
from satrap.protocol.uwsgi import HEADER, parse_vars
from satrap.worker.context import WorkerContext

_RECV = 65536
_DRAIN_LIMIT = 1 << 20  # unread body bytes we will skip to keep a connection; more → close
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_MSG_DONTWAIT = socket.MSG_DONTWAIT
_unpack_header = HEADER.unpack_from


class Conn:
    """A client connection: its socket, its unparsed bytes, and what its requests' environs are
    made of: the listener's shared base environ (never written to: each request copies it once)
    and the peer's REMOTE_ADDR/REMOTE_PORT."""

    __slots__ = ("sock", "fd", "buf", "env", "remote", "proto", "idle_since", "addr", "fresh",
                 "head_started", "clean")

    def __init__(self, sock: _socket.socket, env: dict[str, Any], proto: str, addr: str,
                 remote: tuple[str, str] = ("", "")) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.buf = b""
        self.env = env
        self.remote = remote
        self.proto = proto
        self.idle_since = 0.0
        self.addr = addr
        self.fresh = True  # no request served yet: a stopping worker must still serve it
        self.head_started = 0.0  # monotonic time the first byte of an unfinished head arrived
        self.clean = False  # everything the peer sent was read: a plain close() cannot reset

    def close(self) -> None:
        sock = self.sock
        if self.clean:
            sock.close()
            return
        try:
            sock.shutdown(socket.SHUT_WR)
            # read what the peer still sends for a moment, so close() does not turn into a RST
            # that could destroy the response before the client reads it
            for _ in range(4):
                if not sock.recv(_RECV, _MSG_DONTWAIT):
                    break
        except OSError:
            pass
        sock.close()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def send_error(sock: _socket.socket, status: int, message: str) -> None:
    body = f"{status} {_reason(status)}: {message}\n".encode("latin-1", "replace")
    head = (f"HTTP/1.1 {status} {_reason(status)}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("latin-1")
    try:
        sock.sendall(head + body)
    except OSError:
        pass


def _finish_request(ctx: WorkerContext, env: dict[str, Any], resp: Response, started: float,
                    core: int, nvars: int, packet: int) -> None:
    ended = time.time()
    ctx.requests += 1
    slot = ctx.slot
    if slot is not None:
        slot.end(resp.sent, int((ended - started) * 1_000_000), resp.failed, ctx.pid, resp.code)
    if ctx.reqlog.enabled:
        ctx.reqlog.write(env, resp, started, ended, core, nvars, packet, ctx.requests)


def serve_http(conn: Conn, ctx: WorkerContext, core: int) -> bool:
    """Serve HTTP/1.x requests on ``conn``; True = keep it open (idle), False = close it."""
    sock = conn.sock
    buf = conn.buf
    limits = ctx.limits
    app = ctx.app
    while True:
        try:
            parsed = parse_head(buf, limits) if buf else None
            while parsed is None:
                # never block on a head: a client that trickles it (slowloris) is parked in
                # epoll between its bytes and costs the worker nothing; the loop drops it when
                # the head is not complete within socket-timeout
                data = sock.recv(_RECV, _MSG_DONTWAIT)
                if not data:
                    return False
                buf = buf + data if buf else data
                parsed = parse_head(buf, limits)
        except ProtocolError as err:
            log(f"bad HTTP request from {conn.addr}: {err} ({err.status})")
            send_error(sock, err.status, str(err))
            return False
        except BlockingIOError:
            conn.buf = buf
            if buf and not conn.head_started:
                conn.head_started = time.monotonic()
            return True
        except OSError:
            return False  # reset while waiting for the head
        conn.head_started = 0.0
        head, consumed = parsed
        started = time.time()
        env = conn.env.copy()
        env["REMOTE_ADDR"], env["REMOTE_PORT"] = conn.remote
        env.update(head.environ)
        body: Input | EmptyInput | None
        if head.chunked:
            try:
                if head.expect_continue:
                    sock.sendall(_CONTINUE)
                stream, length, rest = read_chunked_body(sock, buf[consumed:],
                                                         ChunkedDecoder(limit=limits.limit_post))
            except ProtocolError as err:
                log(f"bad HTTP request body from {conn.addr}: {err} ({err.status})")
                send_error(sock, err.status, str(err))
                return False
            except OSError:
                return False
            env["CONTENT_LENGTH"] = str(length)
            env["wsgi.input_terminated"] = True
            env["wsgi.input"] = stream
            body = None
        else:
            length = head.content_length or 0
            if length:
                on_first_read = (lambda: sock.sendall(_CONTINUE)) if head.expect_continue else None
                end = consumed + length
                body = Input(sock, buf[consumed:end], length, on_first_read)
                rest = buf[end:]
            else:
                body = EMPTY_INPUT
                rest = buf[consumed:]
            env["wsgi.input"] = body
        if ctx.slot is not None:
            ctx.slot.begin(started, f"{head.method} {head.target}".encode("latin-1", "replace"))
        keep = head.keep_alive and not ctx.stopping
        resp = Response(sock.sendall, "HTTP/1.1", keep, head.method == "HEAD",
                        head.version == "HTTP/1.1", keep and head.version == "HTTP/1.0")
        try:
            resp.run(app, env)
        except (OSError, ResponseAborted):
            resp.keep_alive = False
            _finish_request(ctx, env, resp, started, core, 2 * len(env), consumed)
            return False
        _finish_request(ctx, env, resp, started, core, 2 * len(env), consumed)
        if not resp.keep_alive or ctx.stopping:
            conn.clean = not rest and (body is None or body.fully_read)
            return False
        if body is not None and not body.drain(_DRAIN_LIMIT):
            return False
        buf = rest
        if not buf:
            conn.buf = b""
            return True


_SCHEME_HTTPS = frozenset(("on", "1", "ON", "On"))
_NO_PLUGIN: Any = object()  # a modifier1 no app serves (uWSGI: no plugin loaded for it)
_VERSIONS = frozenset(("HTTP/1.1", "HTTP/1.0", "HTTP/2.0"))
_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")


def _http_hint(buf: bytes) -> str:
    """"GET ", "POST", "HEAD"...: an HTTP request line read as a uwsgi header."""
    if buf[:3].isalpha() and buf[:3].isupper():
        return "; plain HTTP sent to a uwsgi socket? use http-socket or protocol = http"
    return ""


def _read_packet(conn: Conn, ctx: WorkerContext) -> tuple[int, Any, int, dict[str, str], bytes] | None:
    """Read and parse one uwsgi request packet: (modifier1, the app serving it, end of the
    vars block, vars, the bytes read). None (after a log line) when the peer sent something to
    refuse."""
    sock = conn.sock
    buf = conn.buf
    try:
        while len(buf) < 4:
            data = sock.recv(_RECV)
            if not data:
                if buf:
                    log(f"invalid uwsgi request from {conn.addr}: connection closed inside the header"
                        f" ({len(buf)} of 4 bytes)")
                return None
            buf += data
        modifier1, size, _modifier2 = _unpack_header(buf)
        if size > ctx.buffer_size:
            log(f"invalid request block size: {size} (max {ctx.buffer_size})...skip "
                f"(from {conn.addr}{_http_hint(buf)})")
            return None
        app = ctx.by_modifier.get(modifier1, _NO_PLUGIN)
        if app is _NO_PLUGIN:
            log(f"-- unavailable modifier requested: {modifier1} -- (from {conn.addr}{_http_hint(buf)})")
            return None
        end = 4 + size
        while len(buf) < end:
            data = sock.recv(_RECV)
            if not data:
                log(f"invalid uwsgi request from {conn.addr}: connection closed inside the packet")
                return None
            buf += data
        return modifier1, app, end, parse_vars(buf[4:end]), buf
    except ProtocolError as err:
        log(f"invalid uwsgi request from {conn.addr}: {err}")
    except OSError:
        pass
    return None


def serve_uwsgi(conn: Conn, ctx: WorkerContext, core: int) -> bool:
    """Serve one uwsgi-protocol request (one per connection, as nginx's uwsgi module expects)."""
    sock = conn.sock
    packet = _read_packet(conn, ctx)
    if packet is None:
        return False
    modifier1, app, end, pvars, buf = packet
    started = time.time()
    env = conn.env.copy()
    env["REMOTE_ADDR"], env["REMOTE_PORT"] = conn.remote
    env.update(pvars)  # (nginx's REMOTE_ADDR, when sent, wins)
    scheme = pvars.get("UWSGI_SCHEME") or pvars.get("HTTP_X_FORWARDED_PROTO")
    if scheme:
        env["wsgi.url_scheme"] = scheme
    elif pvars.get("HTTPS") in _SCHEME_HTTPS:
        env["wsgi.url_scheme"] = "https"
    if modifier1 == 30:
        script = pvars.get("SCRIPT_NAME", "")
        path = pvars.get("PATH_INFO", "")
        if script and path.startswith(script):
            env["PATH_INFO"] = path[len(script):]
    cl = pvars.get("CONTENT_LENGTH", "")
    try:
        length = int(cl) if cl else 0
        if length < 0:
            raise ValueError
    except ValueError:
        log(f"invalid uwsgi request from {conn.addr}: CONTENT_LENGTH {cl!r}")
        return False
    limit = ctx.limits.limit_post
    if limit and length > limit:
        log(f"Invalid (too big) CONTENT_LENGTH. skip. ({length} > limit-post {limit}, from {conn.addr})")
        send_error(sock, 413, f"request body larger than {limit} bytes")
        return False
    body = Input(sock, buf[end:end + length], length) if length else EMPTY_INPUT
    env["wsgi.input"] = body
    method = pvars.get("REQUEST_METHOD", "GET")
    if ctx.slot is not None:
        ctx.slot.begin(started, f"{method} {pvars.get('REQUEST_URI', '')}".encode("latin-1", "replace"))
    # echoed in the status line (uWSGI does the same): only a well-formed HTTP version, or the
    # response head cannot be built and the worker would die on the peer's say-so
    version = pvars.get("SERVER_PROTOCOL", "")
    if version not in _VERSIONS and _VERSION.fullmatch(version) is None:
        version = "HTTP/1.0"
    resp = Response(sock.sendall, version, False, method == "HEAD", False)
    try:
        resp.run(app, env)
    except (OSError, ResponseAborted):
        pass
    else:
        conn.clean = body.fully_read
    _finish_request(ctx, env, resp, started, core, 2 * len(pvars), end - 4)
    return False
