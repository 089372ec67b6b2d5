"""One client connection in the router: heads, bodies, the upstream exchange, the relay.

Theory of operation
-------------------
``ClientConn.serve`` is one asyncio task per client connection. It loops: wait for a complete
request head (``protocol.http11.parse_head``), read the body, open a new upstream connection,
send the uwsgi packet (+ body), read the worker's response head and stream the response back with
the framing the client's HTTP version and keep-alive allow; then the next (possibly pipelined)
request from what is left in the buffer.

Invariants
~~~~~~~~~~
* Nothing goes to a worker before the head is complete and valid, and a body is buffered before
  it is (memory up to ``body_buffer``; a chunked body spills to a temp file beyond): a slow or
  hostile client never holds a worker. Only a Content-Length body larger than ``body_buffer``
  is streamed to the worker as it arrives.
* Timeouts are deadlines on the connection (``self.deadline``), enforced by the server's sweeper,
  which cancels the task: no timer objects on the hot path. A head must be complete within
  ``header_timeout`` of its first wait (a byte a second does not extend it: slowloris).
* A refused request gets ``error_response`` (4xx/5xx with ``Connection: close``) and the
  connection is closed, gracefully (write side first), so the answer is not lost to a RST.
* The client's framing is the router's: Content-Length when the worker gave one, else chunked
  for a keep-alive HTTP/1.1 client, else close-delimited. HEAD, 1xx, 204 and 304 carry no body.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from typing import IO, TYPE_CHECKING

from satrap.log import log
from satrap.protocol.errors import ProtocolError
from satrap.protocol.http11 import ChunkedDecoder, error_response, parse_head
from satrap.router.settings import MAX_RESPONSE_HEAD
from satrap.router.upstream import (
    ResponseHead,
    UpstreamError,
    encode_var,
    packet_header,
    parse_response_head,
)

if TYPE_CHECKING:
    from satrap.router.server import Router

_RECV = 65536
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY = frozenset((204, 304))
_SMALL_BODY = 64 * 1024  # sent with the packet in one write; larger bodies go from a pump task
# Request vars the router builds itself (never copied from the parser's environ).
_SKIP = frozenset(("HTTP_TRANSFER_ENCODING", "CONTENT_LENGTH"))
_CHUNK_END = b"0\r\n\r\n"


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


class ClientConn:
    """State of one client connection. ``deadline`` (loop time, 0 = none) is read by the
    router's sweeper; ``idle`` says the connection is between requests with nothing buffered
    (a graceful stop closes those at once)."""

    __slots__ = (
        "deadline",
        "fixed_vars",
        "idle",
        "peer",
        "responding",
        "router",
        "sock",
        "task",
        "timed_out",
        "upstream",
    )

    def __init__(self, router: Router, sock: socket.socket, fixed_vars: bytes, peer: str) -> None:
        self.router = router
        self.sock = sock
        self.fixed_vars = fixed_vars
        self.peer = peer
        self.deadline = 0.0
        self.idle = True
        self.task: asyncio.Task[None] | None = None
        self.timed_out = False
        self.upstream: socket.socket | None = None
        self.responding = False  # the response head went to the client: no error page now

    # -- lifecycle -----------------------------------------------------------------------------
    def expire(self) -> None:
        """Called by the sweeper when ``deadline`` has passed: interrupt whatever is awaited."""
        self.timed_out = True
        self.deadline = 0.0
        if self.task is not None:
            self.task.cancel()

    async def serve(self) -> None:
        try:
            await self._serve()
        except asyncio.CancelledError:
            pass
        except OSError:
            pass  # the client went away
        except Exception as exc:  # noqa: BLE001 - a bug must cost one connection, never the router
            log(f"http router: error on connection from {self.peer}: {exc!r}")
        finally:
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None
            self.sock.close()
            self.router.discard(self)

    # -- the request loop ----------------------------------------------------------------------
    async def _serve(self) -> None:
        router = self.router
        loop = router.loop
        settings = router.settings
        limits = settings.limits
        sock = self.sock
        recv = loop.sock_recv
        buf = b""
        timeout = settings.header_timeout
        while True:
            # ---- the head
            self.idle = not buf
            self.deadline = loop.time() + timeout
            try:
                parsed = parse_head(buf, limits) if buf else None
                while parsed is None:
                    if router.stopping and not buf:
                        return
                    data = await recv(sock, _RECV)
                    if not data:
                        return
                    self.idle = False
                    buf = buf + data if buf else data
                    parsed = parse_head(buf, limits)
            except ProtocolError as err:
                await self._refuse(err)
                return
            except asyncio.CancelledError:
                if self.timed_out and buf:
                    self.timed_out = False
                    await self._refuse(RequestTimeout("request head not received in time"))
                return
            self.idle = False
            head, consumed = parsed

            # ---- the body
            body: bytes | IO[bytes] = b""
            length = 0
            stream_left = 0  # Content-Length bytes still to come from the client (streamed)
            try:
                if head.chunked:
                    body, length, buf = await self._read_chunked(buf[consumed:], head.expect_continue)
                elif head.content_length:
                    length = head.content_length
                    end = consumed + length
                    if len(buf) >= end:
                        body, buf = buf[consumed:end], buf[end:]
                    else:
                        body, buf, stream_left = await self._read_sized(
                            buf[consumed:], length, head.expect_continue)
                else:
                    buf = buf[consumed:]
            except ProtocolError as err:
                await self._refuse(err)
                return
            except asyncio.CancelledError:
                if self.timed_out:
                    self.timed_out = False
                    await self._refuse(RequestTimeout("request body not received in time"))
                return

            # ---- the exchange
            env = head.environ
            parts = [self.fixed_vars]
            for key, value in env.items():
                if key not in _SKIP:
                    parts.append(encode_var(key, value))
            parts.append(encode_var("CONTENT_LENGTH", str(length) if length or head.has_body else ""))
            block = b"".join(parts)
            try:
                packet = packet_header(len(block)) + block
            except UpstreamError as err:
                await self._refuse(HeadersTooLarge431(str(err)))
                return
            keep = head.keep_alive and not router.stopping
            keep = await self._exchange(packet, body, stream_left, head.method == "HEAD",
                                        head.version == "HTTP/1.1", keep)
            if not isinstance(body, bytes):
                body.close()
            if not keep:
                await self._linger_close()
                return
            timeout = settings.idle_timeout

    # -- bodies --------------------------------------------------------------------------------
    async def _read_sized(self, have: bytes, length: int,
                          expect_continue: bool) -> tuple[bytes, bytes, int]:
        """Read a Content-Length body: all of it when it fits ``body_buffer`` (the worker gets it
        in one go), else what has arrived (the rest is streamed: returns how much is left)."""
        router = self.router
        loop = router.loop
        if expect_continue and not have:
            await loop.sock_sendall(self.sock, _CONTINUE)
        if length > router.settings.body_buffer:
            return have, b"", length - len(have)
        parts = [have]
        got = len(have)
        while got < length:
            self.deadline = loop.time() + router.settings.header_timeout
            data = await loop.sock_recv(self.sock, _RECV)
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
        router = self.router
        loop = router.loop
        settings = router.settings
        decoder = ChunkedDecoder(limit=settings.limits.limit_post)
        parts: list[bytes] = []
        size = 0
        spool: IO[bytes] | None = None
        data = have
        if expect_continue and not have:
            await loop.sock_sendall(self.sock, _CONTINUE)
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
                self.deadline = loop.time() + settings.header_timeout
                data = await loop.sock_recv(self.sock, _RECV)
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
        loop = self.router.loop
        try:
            if isinstance(body, bytes):
                if body:
                    await loop.sock_sendall(up, body)
            else:
                while chunk := body.read(_RECV * 4):
                    await loop.sock_sendall(up, chunk)
            while stream_left:
                data = await loop.sock_recv(self.sock, min(_RECV, stream_left))
                if not data:
                    return False
                stream_left -= len(data)
                await loop.sock_sendall(up, data)
            return True
        except OSError:
            return False

    # -- upstream ------------------------------------------------------------------------------
    async def _exchange(self, packet: bytes, body: bytes | IO[bytes], stream_left: int,
                        is_head: bool, http11: bool, keep: bool) -> bool:
        """Forward one request and relay its response. Returns whether the client connection
        may carry another request."""
        router = self.router
        loop = router.loop
        timeout = router.settings.upstream_timeout
        self.deadline = loop.time() + timeout
        pump: asyncio.Task[bool] | None = None
        self.responding = False
        try:
            try:
                up = await router.upstream.connect(loop)
            except UpstreamError as err:
                log(f"http router: {err}")
                await self._send_error(BadGateway("no worker answered"))
                return False
            self.upstream = up
            small = isinstance(body, bytes) and len(body) <= _SMALL_BODY and not stream_left
            try:
                if small:
                    await loop.sock_sendall(up, packet + body if body else packet)  # type: ignore[operator]
                else:
                    await loop.sock_sendall(up, packet)
                    pump = loop.create_task(self._pump_body(up, body, stream_left))
            except OSError as exc:
                log(f"http router: sending to the worker failed: {exc}")
                await self._send_error(BadGateway("the worker closed the connection"))
                return False

            # ---- the response head
            rbuf = b""
            while True:
                try:
                    data = await loop.sock_recv(up, _RECV)
                except OSError as exc:
                    data = b""
                    log(f"http router: reading from the worker failed: {exc}")
                if not data:
                    await self._send_error(BadGateway("the worker closed the connection before answering"))
                    return False
                rbuf = rbuf + data if rbuf else data
                try:
                    parsed = parse_response_head(rbuf, MAX_RESPONSE_HEAD)
                except UpstreamError as err:
                    log(f"http router: {err}")
                    await self._send_error(BadGateway("invalid response from the worker"))
                    return False
                if parsed is not None:
                    break
            rhead, consumed = parsed
            if pump is not None and pump.done() and not pump.result():
                keep = False
            return await self._relay(up, rhead, rbuf, consumed, is_head, http11, keep, pump)
        except asyncio.CancelledError:
            if not self.timed_out:
                raise
            self.timed_out = False
            if not self.responding:
                log(f"http router: the worker did not answer within {timeout:g}s (http-timeout)")
                await self._send_error(GatewayTimeout("the worker did not answer in time"))
            return False
        finally:
            if pump is not None and not pump.done():
                pump.cancel()
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None

    async def _relay(self, up: socket.socket, rhead: ResponseHead, rbuf: bytes, consumed: int,
                     is_head: bool, http11: bool, keep: bool,
                     pump: asyncio.Task[bool] | None) -> bool:
        """Send the response head with the client's framing, then stream the body."""
        loop = self.router.loop
        sock = self.sock
        timeout = self.router.settings.upstream_timeout
        status = rhead.status
        length = rhead.length
        if rhead.close or self.router.stopping:
            keep = False
        no_body = is_head or status in _NO_BODY or status < 200
        chunked = False
        extra = b""
        if not no_body and length is None:
            if http11 and keep:
                chunked = True
                extra = b"\r\nTransfer-Encoding: chunked"
            else:
                keep = False
        if not keep:
            if http11:
                extra += b"\r\nConnection: close"
        elif not http11:
            extra += b"\r\nConnection: keep-alive"
        out = b"HTTP/1.1 " + rhead.status_line + rhead.fields + extra + b"\r\n\r\n"
        self.responding = True
        if no_body:
            await loop.sock_sendall(sock, out)
            return await self._pump_done(pump, keep)
        rest = rbuf[consumed:]
        if length is not None:
            if len(rest) >= length:
                await loop.sock_sendall(sock, out + rest[:length] if length else out)
                return await self._pump_done(pump, keep)
            await loop.sock_sendall(sock, out + rest if rest else out)
            left = length - len(rest)
            while left:
                self.deadline = loop.time() + timeout
                data = await loop.sock_recv(up, min(_RECV * 4, left))
                if not data:
                    return False  # truncated by the worker: the client must see a close
                left -= len(data)
                await loop.sock_sendall(sock, data)
            return await self._pump_done(pump, keep)
        if chunked:
            await loop.sock_sendall(sock, out + b"%x\r\n%b\r\n" % (len(rest), rest) if rest else out)
            while True:
                self.deadline = loop.time() + timeout
                data = await loop.sock_recv(up, _RECV * 4)
                if not data:
                    break
                await loop.sock_sendall(sock, b"%x\r\n%b\r\n" % (len(data), data))
            await loop.sock_sendall(sock, _CHUNK_END)
            return await self._pump_done(pump, keep)
        # close-delimited (HTTP/1.0, or the client asked to close)
        await loop.sock_sendall(sock, out + rest if rest else out)
        while True:
            self.deadline = loop.time() + timeout
            data = await loop.sock_recv(up, _RECV * 4)
            if not data:
                return False
            await loop.sock_sendall(sock, data)

    async def _pump_done(self, pump: asyncio.Task[bool] | None, keep: bool) -> bool:
        """After the response: the request body must have been fully consumed from the client,
        or the next request cannot be found in the stream."""
        if pump is None:
            return keep
        if not pump.done():
            pump.cancel()
            return False
        return keep and pump.result()

    # -- refusing --------------------------------------------------------------------------------
    async def _send_error(self, err: ProtocolError) -> None:
        try:
            await self.router.loop.sock_sendall(self.sock, error_response(err))
        except OSError:
            pass

    async def _refuse(self, err: ProtocolError) -> None:
        """Answer a bad request with its status and close (RFC 9112: framing is lost)."""
        if err.status not in (408,):
            log(f"http router: bad HTTP request from {self.peer}: {err} ({err.status})")
        self.deadline = self.router.loop.time() + 2.0
        await self._send_error(err)
        await self._linger_close()

    async def _linger_close(self) -> None:
        """Close the write side first and read (and discard) what the client still sends for a
        moment: closing with unread bytes makes the kernel send a RST, which can destroy the
        response before the client reads it."""
        sock = self.sock
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        loop = self.router.loop
        self.deadline = loop.time() + 1.0
        drained = 0
        try:
            while drained < (1 << 20):
                data = await loop.sock_recv(sock, _RECV)
                if not data:
                    return
                drained += len(data)
        except (OSError, asyncio.CancelledError):
            return


class HeadersTooLarge431(ProtocolError):
    """The head turned into more uwsgi vars than one packet can carry (65535 bytes)."""

    status = 431
    reason = "Request Header Fields Too Large"
