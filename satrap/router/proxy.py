"""One client connection in the router: heads, bodies, the upstream exchange, the relay.

Theory of operation
-------------------
A connection is a small state machine driven by loop callbacks on raw non-blocking sockets (no
task, no future, no transport per request): the client socket stays registered for reading for
the connection's life, and each request costs one upstream socket that is connected, sent its
uwsgi packet in one ``send`` and registered for reading until the response is complete.

* ``HEAD``: bytes from the client are appended to ``buf`` and ``protocol.http11.parse_head``
  is tried. A complete head with no body, or with a Content-Length body already in ``buf`` (up
  to ``_SMALL_BODY``), goes straight to the exchange (the fast path). Anything else (chunked,
  ``Expect: 100-continue``, a body still to come) runs :meth:`ClientConn._slow` as a task, which
  reads through :meth:`ClientConn._recv` (fed by the same reader callback) and then hands the
  connected upstream socket to the same response machinery.
* ``UP``: the request went to a worker; :meth:`ClientConn._up_readable` parses the response
  head and relays the body with the client's framing (Content-Length when the worker gave one,
  chunked for a keep-alive HTTP/1.1 client otherwise, close-delimited else). When the worker's
  head can go out unchanged (HTTP/1.1, keep-alive, a length, no hop-by-hop fields) the worker's
  bytes are forwarded as they are: one ``recv`` and one ``send``.
* ``LINGER``: the answer is out and the connection closes gracefully: write side first, then
  what the client still sends is read and dropped for a moment (a close with unread bytes makes
  the kernel send a RST, which can destroy the response before the client reads it).

Invariants
~~~~~~~~~~
* Nothing goes to a worker before the head is complete and valid, and a body is buffered before
  it is (memory up to ``body_buffer``; a chunked body spills to a temp file beyond): a slow or
  hostile client never holds a worker. Only a Content-Length body larger than ``body_buffer``
  is streamed to the worker as it arrives.
* Timeouts are deadlines on the connection (``self.deadline``), enforced by the server's sweeper,
  which calls :meth:`ClientConn.expire`: no timer objects on the hot path. A head must be
  complete within ``header_timeout`` of its first wait (a byte a second does not extend it).
* A refused request gets ``error_response`` (4xx/5xx with ``Connection: close``) and the
  connection is closed gracefully. The worker not answering → 502; too late → 504.
* Back-pressure: a client that reads slowly stops the reading of the worker's socket (its write
  buffer is bounded), and a client pipelining far ahead stops being read.
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import tempfile
from _socket import (
    socket as RawSocket,  # the C type: no Python-level __init__/close per socket
)
from typing import IO, TYPE_CHECKING

from satrap.log import log
from satrap.protocol.errors import ProtocolError
from satrap.protocol.http11 import ChunkedDecoder, error_response, parse_head
from satrap.router.settings import MAX_RESPONSE_HEAD
from satrap.router.upstream import (
    ResponseHead,
    UpstreamError,
    packet_header,
    parse_response_head,
)

if TYPE_CHECKING:
    from satrap.protocol.http11 import RequestHead
    from satrap.router.server import Router

_RECV = 65536
_UP_RECV = 262144
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY = frozenset((204, 304))
_SMALL_BODY = 64 * 1024  # a body already buffered up to this goes out with the packet
# Request vars the router builds itself (never copied from the parser's environ).
_SKIP = frozenset(("HTTP_TRANSFER_ENCODING", "CONTENT_LENGTH"))
_CHUNK_END = b"0\r\n\r\n"
_WRITE_HIGH = 256 * 1024  # client write buffer above this: stop reading the worker
_WRITE_LOW = 64 * 1024
_READ_AHEAD = 256 * 1024  # pipelined bytes buffered while a request is in flight
_LINGER_MAX = 1 << 20

# states
_HEAD, _SLOW, _UP, _LINGER, _CLOSED = range(5)
# response framing towards the client
_M_LENGTH, _M_CHUNKED, _M_CLOSE = range(3)

_HTTP11 = b"HTTP/1.1 "
_DONTWAIT = socket.MSG_DONTWAIT  # client sockets stay in blocking mode (no fcntl per accept)
_EPOLLIN = select.EPOLLIN
_STREAM_NONBLOCK = socket.SOCK_STREAM | socket.SOCK_NONBLOCK


class RequestTimeout(ProtocolError):
    """The client did not send a complete request head (or body) within http-timeout."""

    status = 408
    reason = "Request Timeout"


class BadGateway(ProtocolError):
    status = 502
    reason = "Bad Gateway"


class GatewayTimeout(ProtocolError):
    status = 504
    reason = "Gateway Timeout"


class HeadersTooLarge431(ProtocolError):
    """The head turned into more uwsgi vars than one packet can carry (65535 bytes)."""

    status = 431
    reason = "Request Header Fields Too Large"


def encode_vars(fixed: bytes, env: dict[str, str], length: str, modifier1: int = 0,
                modifier2: int = 0) -> bytes:
    """The uwsgi packet for one request: ``fixed`` (the connection's vars) + the head's environ
    + CONTENT_LENGTH, under a header carrying the modifiers (``http-modifier1``/``2``). Built as
    one latin-1 string (a var's byte length is its character count) and encoded once;
    UpstreamError when it does not fit a packet."""
    parts: list[str] = []
    append = parts.append
    for key, value in env.items():
        if key not in _SKIP:
            k = len(key)
            n = len(value)
            append(f"{_LEN[k] if k < 4096 else _len(k)}{key}{_LEN[n] if n < 4096 else _len(n)}{value}")
    append(f"\x0e\x00CONTENT_LENGTH{_LEN[len(length)]}{length}")
    try:
        block = fixed + "".join(parts).encode("latin-1")
    except UnicodeEncodeError:  # a value over 65535 characters
        raise UpstreamError("uwsgi var longer than 65535 bytes") from None
    return packet_header(len(block), modifier1, modifier2) + block


def _len(n: int) -> str:
    """A uwsgi length prefix (u16 little-endian) as latin-1 characters; past 65535 it is not
    latin-1 and the encoding fails (→ 431)."""
    return chr(n & 255) + chr(n >> 8)


_LEN = [_len(i) for i in range(4096)]


class ClientConn:
    """State of one client connection. ``deadline`` (loop time, 0 = none) is read by the
    router's sweeper; ``idle`` says the connection is between requests with nothing buffered
    (a graceful stop closes those at once)."""

    __slots__ = (
        "buf",
        "deadline",
        "drain_waiter",
        "eof",
        "epoll",
        "fd",
        "fixed_vars",
        "handlers",
        "http11",
        "idle",
        "is_head",
        "keep",
        "left",
        "lingered",
        "loop",
        "mode",
        "peer",
        "pump",
        "rbuf",
        "reading",
        "registered",
        "responding",
        "retry",
        "retry_delay",
        "rhead",
        "router",
        "settings",
        "shut_pending",
        "sock",
        "state",
        "task",
        "timed_out",
        "up",
        "up_paused",
        "up_writing",
        "upfd",
        "upout",
        "waiter",
        "wbuf",
    )

    def __init__(self, router: Router, sock: RawSocket, fixed_vars: bytes, peer: str) -> None:
        self.router = router
        self.loop = router.loop
        self.settings = router.settings
        self.epoll = router.epoll
        self.handlers = router.handlers
        self.sock = sock
        self.fd = sock.fileno()
        self.fixed_vars = fixed_vars
        self.peer = peer
        self.buf = b""
        self.deadline = 0.0
        self.idle = True
        self.state = _HEAD
        self.task: asyncio.Task[None] | None = None
        self.pump: asyncio.Task[bool] | None = None
        self.timed_out = False
        self.reading = False  # the client socket is polled for reading
        self.registered = False  # it is in the router's epoll (close() takes it out)
        self.eof = False
        self.waiter: asyncio.Future[bytes] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.wbuf = bytearray()
        self.shut_pending = False
        self.lingered = 0
        self.up: RawSocket | None = None
        self.upfd = -1
        self.upout = b""
        self.up_paused = False
        self.up_writing = False
        self.retry: asyncio.TimerHandle | None = None
        self.retry_delay = 0.0
        self.rbuf = b""
        self.rhead: ResponseHead | None = None
        self.responding = False  # the response head went to the client: no error page now
        self.keep = False
        self.is_head = False
        self.http11 = True
        self.mode = _M_LENGTH
        self.left = 0

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Begin serving: the first bytes are usually there already (TCP_DEFER_ACCEPT: accept
        returns once the client wrote), so read them before waiting. The socket joins the epoll
        only when the connection has to wait for the client: a one-request connection whose
        request came with the accept never does."""
        self.deadline = self.router.now + self.settings.header_timeout
        self.handlers[self.fd] = self._readable
        self._readable()
        if self.state == _HEAD and not self.reading:
            self._resume_reading()

    def expire(self) -> None:
        """Called by the sweeper when ``deadline`` has passed."""
        self.deadline = 0.0
        state = self.state
        if state == _SLOW and self.task is not None and not self.task.done():
            self.timed_out = True
            self.task.cancel()
        elif state == _HEAD:
            if self.buf:
                self._refuse(RequestTimeout("request head not received in time"))
            else:
                self.close()
        elif state == _UP:
            if not self.responding:
                log(f"http router: the worker did not answer within "
                    f"{self.settings.upstream_timeout:g}s (http-timeout)")
                self._up_close()
                self._fail(GatewayTimeout("the worker did not answer in time"))
            else:
                self.close()
        else:
            self.close()

    def close_idle(self) -> None:
        """Graceful stop: an idle keep-alive connection closes now."""
        if self.idle and self.state == _HEAD and not self.buf:
            self.close()

    def close(self) -> None:
        """Drop everything now (idempotent)."""
        if self.state == _CLOSED:
            return
        self.state = _CLOSED
        self.deadline = 0.0
        self._up_close()
        if self.pump is not None and not self.pump.done():
            self.pump.cancel()
        if self.task is not None and not self.task.done() and self.task is not asyncio.current_task():
            self.task.cancel()
        for fut in (self.waiter, self.drain_waiter):
            if fut is not None and not fut.done():
                fut.cancel()
        self.handlers.pop(self.fd, None)
        self.reading = False  # close() takes the fd out of the epoll
        if self.wbuf:
            self.loop.remove_writer(self.fd)
            self.wbuf.clear()
        self.sock.close()
        self.router.discard(self)

    # -- the client socket ---------------------------------------------------------------------
    def _pause_reading(self) -> None:
        if self.reading:
            self.epoll.modify(self.fd, 0)
            self.reading = False

    def _resume_reading(self) -> None:
        if not self.reading and not self.eof and self.state != _CLOSED:
            if self.registered:
                self.epoll.modify(self.fd, _EPOLLIN)
            else:
                self.epoll.register(self.fd, _EPOLLIN)
                self.registered = True
            self.reading = True

    def _readable(self) -> None:
        try:
            data = self.sock.recv(_RECV, _DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
            if self.state != _LINGER:
                self.close()
                return
        state = self.state
        if not data:
            self.eof = True
            if self.registered:  # nothing more to read: out of the epoll for good (a socket
                # that ends up fully shut would report EPOLLHUP even with no events asked)
                self.epoll.unregister(self.fd)
                self.registered = self.reading = False
            if state == _LINGER or state == _HEAD:
                self.close()
            else:
                w = self.waiter
                if w is not None and not w.done():
                    w.set_result(b"")
            return
        if state == _LINGER:
            self.lingered += len(data)
            if self.lingered > _LINGER_MAX:
                self.close()
            return
        w = self.waiter
        if w is not None and not w.done():
            self.waiter = None
            w.set_result(data)
            return
        self.buf = self.buf + data if self.buf else data
        if state == _HEAD:
            self.idle = False
            self._next()
        elif len(self.buf) > _READ_AHEAD:
            self._pause_reading()

    def _send(self, data: bytes) -> None:
        """Write to the client: at once when the socket takes it, else buffered (back-pressure
        on the worker's socket past ``_WRITE_HIGH``)."""
        wbuf = self.wbuf
        if wbuf:
            wbuf += data
        else:
            try:
                n = self.sock.send(data, _DONTWAIT)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self.close()
                return
            if n == len(data):
                return
            wbuf += memoryview(data)[n:]
            self.loop.add_writer(self.fd, self._writable)
        if len(wbuf) > _WRITE_HIGH and self.upfd != -1 and not self.up_paused:
            self.epoll.modify(self.upfd, 0)
            self.up_paused = True

    def _writable(self) -> None:
        wbuf = self.wbuf
        try:
            n = self.sock.send(wbuf, _DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        del wbuf[:n]
        if not wbuf:
            self.loop.remove_writer(self.fd)
            w = self.drain_waiter
            if w is not None and not w.done():
                self.drain_waiter = None
                w.set_result(None)
            if self.shut_pending:
                self.shut_pending = False
                self._shutdown()
        if self.up_paused and len(wbuf) <= _WRITE_LOW and self.upfd != -1:
            self.up_paused = False
            self.epoll.modify(self.upfd, _EPOLLIN)

    async def _recv(self) -> bytes:
        """The slow path's read: what is buffered, else the next bytes (b"" at EOF)."""
        if self.buf:
            data, self.buf = self.buf, b""
            return data
        if self.eof:
            return b""
        fut = self.loop.create_future()
        self.waiter = fut
        self._resume_reading()
        try:
            return await fut
        finally:
            self.waiter = None

    async def _sendall(self, data: bytes) -> None:
        self._send(data)
        if self.state == _CLOSED:
            raise ConnectionResetError("client gone")
        if self.wbuf:
            fut = self.loop.create_future()
            self.drain_waiter = fut
            await fut

    # -- requests ------------------------------------------------------------------------------
    def _next(self) -> None:
        """In HEAD state: start the next request if ``buf`` holds its head, else wait."""
        buf = self.buf
        if not buf:
            self.idle = True
            if self.eof or self.router.stopping:
                self.close()
            else:
                self._resume_reading()
            return
        self.idle = False
        try:
            parsed = parse_head(buf, self.settings.limits)
        except ProtocolError as err:
            self._refuse(err)
            return
        if parsed is None:
            if self.eof:
                self.close()
            else:
                self._resume_reading()
            return
        head, consumed = parsed
        length = head.content_length
        if head.chunked or (length and (length > _SMALL_BODY or len(buf) < consumed + length)):
            self.state = _SLOW
            self.task = self.loop.create_task(self._slow(head, consumed))
            return
        if length:
            end = consumed + length
            body = buf[consumed:end]
            self.buf = buf[end:]
            cl = str(length)
        else:
            body = b""
            self.buf = buf[consumed:]
            cl = "0" if head.has_body else ""
        packet = self._packet(head, cl)
        if packet is not None:
            self._send_whole(packet, body)

    def _packet(self, head: RequestHead, cl: str) -> bytes | None:
        """The request's uwsgi packet, and the exchange begun; None (client answered 431) when
        its headers do not fit in one packet."""
        try:
            settings = self.settings
            packet = encode_vars(self.fixed_vars, head.environ, cl, settings.modifier1, settings.modifier2)
        except UpstreamError as err:
            self._refuse(HeadersTooLarge431(str(err)))
            return None
        self._begin(head)
        return packet

    def _send_whole(self, packet: bytes, body: bytes) -> None:
        """Packet and body in hand: connect to a worker and send them in one write."""
        self.upout = packet + body if body else packet
        self.retry_delay = 0.001
        self._connect()

    def _begin(self, head: RequestHead) -> None:
        self.state = _UP
        self.keep = head.keep_alive and not self.router.stopping
        self.is_head = head.method == "HEAD"
        self.http11 = head.version == "HTTP/1.1"
        self.rbuf = b""
        self.rhead = None
        self.responding = False
        self.deadline = self.loop.time() + self.settings.upstream_timeout

    # -- the slow path: bodies that are not all there yet ----------------------------------------
    async def _slow(self, head: RequestHead, consumed: int) -> None:
        try:
            await self._slow_request(head, consumed)
        except (asyncio.CancelledError, OSError):
            pass
        except Exception as exc:  # noqa: BLE001 - a bug must cost one connection, never the router
            log(f"http router: error on connection from {self.peer}: {exc!r}")
        if self.state == _SLOW:  # ended without handing the connection on
            self.close()

    async def _slow_request(self, head: RequestHead, consumed: int) -> None:
        body: bytes | IO[bytes] = b""
        stream_left = 0
        buf, self.buf = self.buf[consumed:], b""
        try:
            try:
                if head.chunked:
                    body, length, rest = await self._read_chunked(buf, head.expect_continue)
                else:
                    length = head.content_length or 0
                    body, rest, stream_left = await self._read_sized(buf, length, head.expect_continue)
                self.buf = rest + self.buf
            except ProtocolError as err:
                self._refuse(err)
                return
            except asyncio.CancelledError:
                if self.timed_out:
                    self.timed_out = False
                    self._refuse(RequestTimeout("request body not received in time"))
                    return
                raise
            if self.state == _CLOSED:
                return
            packet = self._packet(head, str(length) if length or head.has_body else "")
            if packet is None:
                return
            if isinstance(body, bytes) and not stream_left:
                self._send_whole(packet, body)
                return
            self.state = _SLOW  # the body is pumped by this task until the worker is connected
            try:
                up = await self.router.upstream.connect(self.loop)
            except UpstreamError as err:
                log(f"http router: {err}")
                self._fail(BadGateway("no worker answered"))
                return
            except asyncio.CancelledError:
                if self.timed_out:
                    self.timed_out = False
                    log(f"http router: the worker did not answer within "
                        f"{self.settings.upstream_timeout:g}s (http-timeout)")
                    self._fail(GatewayTimeout("the worker did not answer in time"))
                    return
                raise
            if self.state == _CLOSED:
                up.close()
                return
            self.up = up
            self.upfd = up.fileno()
            try:
                await self.loop.sock_sendall(up, packet)
            except OSError as exc:
                log(f"http router: sending to the worker failed: {exc}")
                self._up_close()
                self._fail(BadGateway("the worker closed the connection"))
                return
            self.pump = self.loop.create_task(self._pump_body(up, body, stream_left))
            self.state = _UP
            self.handlers[self.upfd] = self._up_readable
            self.epoll.register(self.upfd, _EPOLLIN)
        finally:
            if not isinstance(body, bytes) and self.pump is None:
                body.close()

    async def _read_sized(self, have: bytes, length: int,
                          expect_continue: bool) -> tuple[bytes, bytes, int]:
        """Read a Content-Length body: all of it when it fits ``body_buffer`` (the worker gets it
        in one go), else what has arrived (the rest is streamed: returns how much is left)."""
        settings = self.settings
        if expect_continue and not have:
            await self._sendall(_CONTINUE)
        if length > settings.body_buffer:
            if len(have) > length:
                return have[:length], have[length:], 0
            return have, b"", length - len(have)
        parts = [have]
        got = len(have)
        while got < length:
            self.deadline = self.loop.time() + settings.header_timeout
            data = await self._recv()
            if not data:
                raise ConnectionResetError("client closed inside the request body")
            parts.append(data)
            got += len(data)
        data = b"".join(parts)
        return data[:length], data[length:], 0

    async def _read_chunked(self, have: bytes,
                            expect_continue: bool) -> tuple[bytes | IO[bytes], int, bytes]:
        """De-chunk a body (the worker reads exactly CONTENT_LENGTH bytes, so the whole body
        must be known first): in memory up to ``body_buffer``, then in a temp file."""
        settings = self.settings
        decoder = ChunkedDecoder(limit=settings.limits.limit_post)
        parts: list[bytes] = []
        size = 0
        spool: IO[bytes] | None = None
        data = have
        if expect_continue and not have:
            await self._sendall(_CONTINUE)
        try:
            while True:
                if data:
                    out = decoder.feed(data)
                    if out:
                        size += len(out)
                        if spool is not None:
                            spool.write(out)
                        else:
                            parts.append(out)
                            if size > settings.body_buffer:
                                spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
                                spool.write(b"".join(parts))
                                parts = []
                    if decoder.done:
                        break
                self.deadline = self.loop.time() + settings.header_timeout
                data = await self._recv()
                if not data:
                    raise ConnectionResetError("client closed inside a chunked body")
        except BaseException:
            if spool is not None:
                spool.close()
            raise
        if spool is not None:
            spool.seek(0)
            return spool, size, decoder.unused
        return b"".join(parts), size, decoder.unused

    async def _pump_body(self, up: socket.socket, body: bytes | IO[bytes], stream_left: int) -> bool:
        """Send the (rest of the) request body to the worker; False if the worker stopped
        reading (it answered early: the client connection's framing is then lost)."""
        loop = self.loop
        try:
            if isinstance(body, bytes):
                if body:
                    await loop.sock_sendall(up, body)
            else:
                while chunk := body.read(_RECV * 4):
                    await loop.sock_sendall(up, chunk)
            while stream_left:
                data = await self._recv()
                if not data:
                    return False
                if len(data) > stream_left:  # pipelined bytes after the body
                    self.buf = data[stream_left:] + self.buf
                    data = data[:stream_left]
                stream_left -= len(data)
                await loop.sock_sendall(up, data)
            return True
        except OSError:
            return False
        finally:
            if not isinstance(body, bytes):
                body.close()

    # -- upstream ------------------------------------------------------------------------------
    def _connect(self) -> None:
        """Open the upstream socket and send ``upout``. A unix socket whose backlog is full
        refuses a non-blocking connect with EAGAIN ("every worker busy, queue full"): retried
        with a short back-off, bounded by the deadline (504)."""
        self.retry = None
        if self.state != _UP:
            return
        upstream = self.router.upstream
        try:
            up = RawSocket(upstream.family, _STREAM_NONBLOCK)
        except OSError as exc:
            log(f"http router: connect to {upstream.address}: {exc.strerror or exc}")
            self._fail(BadGateway("no worker answered"))
            return
        if upstream.family != socket.AF_UNIX:
            up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            err = up.connect_ex(upstream.sockaddr)
        except OSError as exc:
            err = exc.errno or errno.EINVAL
        if err == 0:
            self._up_ready(up)
            return
        if err == errno.EINPROGRESS:
            self.up = up
            self.upfd = up.fileno()
            self.up_writing = True
            self.loop.add_writer(self.upfd, self._up_connected)
            return
        up.close()
        if err == errno.EAGAIN and upstream.family == socket.AF_UNIX:
            self.retry = self.loop.call_later(self.retry_delay, self._connect)
            self.retry_delay = min(self.retry_delay * 2, 0.05)
            return
        log(f"http router: connect to {upstream.address}: {errno.errorcode.get(err, err)}")
        self._fail(BadGateway("no worker answered"))

    def _up_connected(self) -> None:
        up = self.up
        assert up is not None
        self.loop.remove_writer(self.upfd)
        self.up_writing = False
        err = up.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            log(f"http router: connect to {self.router.upstream.address}: "
                f"{errno.errorcode.get(err, err)}")
            self._up_close()
            self._fail(BadGateway("no worker answered"))
            return
        self.up = None
        self.upfd = -1
        self._up_ready(up)

    def _up_ready(self, up: RawSocket) -> None:
        self.up = up
        fd = self.upfd = up.fileno()
        data = self.upout
        self.upout = b""
        try:
            n = up.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as exc:
            log(f"http router: sending to the worker failed: {exc}")
            self._up_close()
            self._fail(BadGateway("the worker closed the connection"))
            return
        if n < len(data):
            self.upout = data[n:]
            self.up_writing = True
            self.loop.add_writer(fd, self._up_writable)
        self.handlers[fd] = self._up_readable
        self.epoll.register(fd, _EPOLLIN)

    def _up_writable(self) -> None:
        up = self.up
        if up is None:
            return
        try:
            n = up.send(self.upout)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the worker answered early or died: its answer (or EOF) tells
            n = len(self.upout)
        self.upout = self.upout[n:]
        if not self.upout:
            self.up_writing = False
            self.loop.remove_writer(self.upfd)

    def _up_close(self) -> None:
        if self.retry is not None:
            self.retry.cancel()
            self.retry = None
        up = self.up
        if up is None:
            return
        fd = self.upfd
        self.handlers.pop(fd, None)  # close() takes the fd out of the epoll
        if self.up_writing:
            self.loop.remove_writer(fd)
            self.up_writing = False
        self.up_paused = False
        self.upout = b""
        self.up = None
        self.upfd = -1
        pump = self.pump
        if pump is not None and not pump.done():
            # the pump may be inside loop.sock_sendall on this socket, whose clean-up runs
            # once the task has seen its cancellation: close the fd after that, or the loop
            # could unregister a new socket that reused the number
            pump.cancel()
            pump.add_done_callback(lambda _task: up.close())
        else:
            up.close()

    def _up_readable(self) -> None:
        up = self.up
        if up is None:
            return
        try:
            # a first read under malloc's mmap threshold: a 256 KiB buffer would cost an
            # mmap/mremap/munmap per request; only a body being streamed gets the big one
            data = up.recv(_RECV if self.rhead is None else _UP_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            data = b""
            if not self.responding:
                log(f"http router: reading from the worker failed: {exc}")
        if self.rhead is None:
            self._up_head(data)
            return
        self.deadline = self.router.now + self.settings.upstream_timeout
        mode = self.mode
        if mode == _M_LENGTH:
            if not data:  # truncated by the worker: the client must see a close
                self._finish(False)
                return
            left = self.left
            if len(data) >= left:
                self._send(data[:left] if len(data) > left else data)
                self._finish(self.keep)
                return
            self.left = left - len(data)
            self._send(data)
        elif mode == _M_CHUNKED:
            if not data:
                self._send(_CHUNK_END)
                self._finish(self.keep)
                return
            self._send(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            if not data:
                self._finish(False)
                return
            self._send(data)

    def _up_head(self, data: bytes) -> None:
        if not data:
            self._up_close()
            self._fail(BadGateway("the worker closed the connection before answering"))
            return
        rbuf = self.rbuf = self.rbuf + data if self.rbuf else data
        try:
            parsed = parse_response_head(rbuf, MAX_RESPONSE_HEAD)
        except UpstreamError as err:
            log(f"http router: {err}")
            self._up_close()
            self._fail(BadGateway("invalid response from the worker"))
            return
        if parsed is None:
            return
        rhead, consumed = parsed
        self.rhead = rhead
        self.rbuf = b""
        status = rhead.status
        length = rhead.length
        keep = self.keep
        http11 = self.http11
        if rhead.close or self.router.stopping:
            keep = False
        pump = self.pump
        if pump is not None and (not pump.done() or pump.cancelled() or not pump.result()):
            # the body is not all at the worker (it answered early): the framing is lost
            keep = False
        no_body = self.is_head or status in _NO_BODY or status < 200
        self.responding = True
        if not no_body and length is not None and keep and http11 \
                and consumed == 13 + len(rhead.status_line) + len(rhead.fields) \
                and rbuf.startswith(_HTTP11):
            # the worker's head is the client's head: forward its bytes as they are
            end = consumed + length
            self.keep = keep
            if len(rbuf) >= end:
                self._send(rbuf if len(rbuf) == end else rbuf[:end])
                self._finish(keep)
                return
            self.mode = _M_LENGTH
            self.left = end - len(rbuf)
            self._send(rbuf)
            return
        extra = b""
        mode = _M_LENGTH
        if not no_body and length is None:
            if http11 and keep:
                mode = _M_CHUNKED
                extra = b"\r\nTransfer-Encoding: chunked"
            else:
                mode = _M_CLOSE
                keep = False
        if not keep:
            if http11:
                extra += b"\r\nConnection: close"
        elif not http11:
            extra += b"\r\nConnection: keep-alive"
        self.keep = keep
        out = b"HTTP/1.1 " + rhead.status_line + rhead.fields + extra + b"\r\n\r\n"
        if no_body:
            self._send(out)
            self._finish(keep)
            return
        rest = rbuf[consumed:]
        self.mode = mode
        if mode == _M_LENGTH:
            assert length is not None
            if len(rest) >= length:
                self._send(out + rest[:length] if length else out)
                self._finish(keep)
                return
            self.left = length - len(rest)
            self._send(out + rest if rest else out)
        elif mode == _M_CHUNKED:
            self._send(out + b"%x\r\n%b\r\n" % (len(rest), rest) if rest else out)
        else:
            self._send(out + rest if rest else out)

    def _finish(self, keep: bool) -> None:
        """The response is complete (or cut): next request, or close."""
        self._up_close()
        if self.state == _CLOSED:
            return
        pump = self.pump
        if pump is not None:
            self.pump = None
            if not pump.done():
                pump.cancel()
                keep = False
            elif pump.cancelled() or not pump.result():
                keep = False
        if not keep or self.router.stopping:
            if not self.buf and not self.wbuf and self._nothing_unread():
                self.close()  # nothing unread: a plain close() sends a FIN, not a RST
            else:
                self._linger_close()
            return
        self.state = _HEAD
        self.deadline = self.router.now + self.settings.idle_timeout
        self._next()

    def _nothing_unread(self) -> bool:
        """Whether the client has sent nothing more (or has closed): then the connection can
        simply be closed; else it must linger (see :meth:`_linger_close`)."""
        if self.eof:
            return True
        try:
            data = self.sock.recv(_RECV, _DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return True
        if not data:
            return True
        self.lingered = len(data)
        return False

    # -- refusing --------------------------------------------------------------------------------
    def _fail(self, err: ProtocolError) -> None:
        """The exchange failed: an error page if nothing was sent yet, then close."""
        if not self.responding and self.state != _CLOSED:
            self._send(error_response(err))
        self._linger_close()

    def _refuse(self, err: ProtocolError) -> None:
        """Answer a bad request with its status and close (RFC 9112: framing is lost)."""
        if err.status not in (408,):
            log(f"http router: bad HTTP request from {self.peer}: {err} ({err.status})")
        self._send(error_response(err))
        self._linger_close()

    def _linger_close(self) -> None:
        """Close the write side (once the buffered answer is out) and read and discard what the
        client still sends for a moment: closing with unread bytes makes the kernel send a RST,
        which can destroy the response before the client reads it."""
        if self.state == _CLOSED:
            return
        self._up_close()
        if self.pump is not None and not self.pump.done():
            self.pump.cancel()
        self.state = _LINGER
        self.buf = b""
        self.deadline = self.loop.time() + (3.0 if self.wbuf else 1.0)
        if self.wbuf:
            self.shut_pending = True
        else:
            self._shutdown()

    def _shutdown(self) -> None:
        if self.state == _CLOSED:
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()
            return
        if self.eof:
            self.close()
            return
        self.deadline = self.loop.time() + 1.0
        self._resume_reading()
