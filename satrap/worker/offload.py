"""The offload engine: long-lived responses streamed by a few threads so the worker is free at once.

uWSGI's ``offload-threads = N`` gives each worker N threads that take over a client connection
once the response head is out; its sse_offload plugin uses them to bridge a redis pub/sub channel
to Server-Sent Events. satrap does the same, built in:

* the routing layer turns an ``sse``/``sseraw`` rule into an :class:`~satrap.protocol.sse.Offload`
  body; ``app.invoke`` sends the head and calls :func:`install`'s hook with the client socket;
* :meth:`OffloadEngine.submit` duplicates the socket (the worker closes its own descriptor as
  after any close-delimited response) and gives an :class:`SSESession` to one engine thread;
* each thread runs one selector loop over many sessions: connect to redis without blocking,
  ``AUTH`` (when a password is given) and ``SUBSCRIBE`` pipelined, parse RESP incrementally, frame
  every message as SSE, write to the client as fast as it reads (redis is not read while more
  than a high-water mark waits for a slow client: the backlog stays in redis, which drops a
  subscriber that falls too far behind), and notice a client that leaves;
* threads start lazily, one per offloaded response until N run: a worker that never offloads
  pays nothing;
* each response handed to the threads is counted in the worker's scoreboard slot (uWSGI's
  ``offloaded_requests`` in the stats JSON), written then and only then: not on the request path;
* a redis server given by host name is looked up by :class:`_Resolver` in a thread of its own and
  cached, never in a loop thread, where a slow resolver would stall every stream of that thread.
  Numeric addresses and unix sockets need no lookup and go straight to ``connect``.

With ``offload-threads = 0`` the session runs in the worker thread that served the request, which
is blocked until the client or redis leaves (uWSGI's plugin refuses to run then: "unable to use
sse router without offloading"). Offloaded sessions do not hold back a stopping worker: they end
with the process, as in uWSGI.
"""

from __future__ import annotations

import errno
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from satrap.log import log
from satrap.protocol.resp import (
    RespError,
    RespParser,
    RespProtocolError,
    encode_command,
    pubsub_payload,
)
from satrap.protocol.sse import Offload, sse_event
from satrap.scoreboard import SlotWriter

_R = selectors.EVENT_READ
_W = selectors.EVENT_WRITE
_TICK = 1.0
_HIGH_WATER = 256 * 1024  # bytes waiting for a client before redis is no longer read
_CLIENT_READ = 4096
_DNS_TTL = 60.0  # seconds a host name's addresses are reused before it is looked up again

Addresses = list[tuple[int, Any]]  # (family, sockaddr) to try in order


def redis_address(server: str) -> tuple[int, Any]:
    """(family, address) of a redis server given as host:port, [v6]:port, /unix/path or @abstract
    (the forms uWSGI's ``uwsgi_connect`` takes). Numeric hosts are parsed without any lookup; a
    host name comes back as ``(AF_UNSPEC, (name, port))``: it must be resolved (:class:`_Resolver`)
    before it can be connected to."""
    if server.startswith("@"):
        return socket.AF_UNIX, "\0" + server[1:]
    if "/" in server or ":" not in server:
        return socket.AF_UNIX, server
    host, _, port = server.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"bad redis address {server!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"bad redis port in {server!r}")
    try:
        socket.inet_pton(socket.AF_INET, host)
        return socket.AF_INET, (host, number)
    except OSError:
        pass
    if ":" in host:  # an IPv6 literal (perhaps with a %scope): numeric, never a DNS query
        try:
            info = socket.getaddrinfo(host, number, socket.AF_INET6, socket.SOCK_STREAM, 0,
                                      socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)
        except OSError:
            raise ValueError(f"bad redis address {server!r}") from None
        return socket.AF_INET6, info[0][4]
    return socket.AF_UNSPEC, (host, number)


class _Resolver:
    """Host names of redis servers, looked up outside the loop threads.

    ``getaddrinfo`` blocks for as long as the resolver takes (seconds when a DNS server does not
    answer); in a loop thread that would stall every stream it serves. Here a lookup runs in a
    short-lived daemon thread of its own, one at a time per name however many streams ask for it,
    and its addresses are reused for ``_DNS_TTL`` seconds, so a burst of new streams to the same
    redis costs one lookup. Failures are not cached: the next stream asks again.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cache: dict[tuple[str, int], tuple[float, Addresses]] = {}
        self.pending: dict[tuple[str, int], list[Callable[[Addresses, str], None]]] = {}

    def cached(self, host: str, port: int) -> Addresses | None:
        with self.lock:
            entry = self.cache.get((host, port))
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    def lookup(self, host: str, port: int, done: Callable[[Addresses, str], None]) -> None:
        """Call ``done(addresses, error)`` once the name is resolved, from the lookup's thread."""
        key = (host, port)
        with self.lock:
            waiters = self.pending.get(key)
            if waiters is not None:
                waiters.append(done)
                return
            self.pending[key] = [done]
        threading.Thread(target=self._resolve, args=(key,), daemon=True,
                         name="satrap-offload-dns").start()

    def _resolve(self, key: tuple[str, int]) -> None:
        addresses: Addresses = []
        error = ""
        try:
            for family, _, _, _, sockaddr in socket.getaddrinfo(key[0], key[1], type=socket.SOCK_STREAM):
                if (family, sockaddr) not in addresses and family in (socket.AF_INET, socket.AF_INET6):
                    addresses.append((family, sockaddr))
            if not addresses:
                error = "no IPv4 or IPv6 address"
        except (OSError, UnicodeError) as exc:
            error = str(exc) or type(exc).__name__
        with self.lock:
            if addresses:
                self.cache[key] = (time.monotonic() + _DNS_TTL, addresses)
            waiters = self.pending.pop(key, [])
        for done in waiters:
            done(addresses, error)


class _Loop:
    """One selector over many sessions; runs in an engine thread (or inline in a worker)."""

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.sessions: set[SSESession] = set()
        # new sessions, and calls other threads want made in this one (a finished DNS lookup)
        self.inbox: queue.SimpleQueue[SSESession | Callable[[], None]] = queue.SimpleQueue()
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.sel.register(self.wake_r, _R, None)
        self.lock = threading.Lock()  # add() against close(): a late DNS answer must not write
        self.closed = False           # to a pipe descriptor that was closed (and maybe reused)

    def add(self, item: SSESession | Callable[[], None]) -> None:
        """Thread-safe: queue a session (or a call to make in the loop's thread) and wake the loop."""
        with self.lock:
            if self.closed:
                return  # an inline loop that ended: its sessions are gone
            self.inbox.put(item)
            try:
                os.write(self.wake_w, b"x")
            except BlockingIOError:
                pass  # already awake

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.sel.close()
            os.close(self.wake_r)
            os.close(self.wake_w)

    def want(self, sock: socket.socket, events: int, session: SSESession) -> None:
        """Set the events a socket is watched for (0 = not watched)."""
        try:
            key = self.sel.get_key(sock)
        except KeyError:
            if events:
                self.sel.register(sock, events, session)
            return
        if not events:
            self.sel.unregister(sock)
        elif key.events != events:
            self.sel.modify(sock, events, session)

    def forget(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError):
            pass

    def run(self, until_idle: bool = False) -> None:
        while True:
            while True:
                try:
                    item = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, SSESession):
                    self.sessions.add(item)
                    item.start(self)
                else:
                    item()
            if until_idle and not self.sessions:
                return
            for key, mask in self.sel.select(_TICK):
                if key.data is None:
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except OSError:
                        pass
                    continue
                session = key.data
                if not session.closed:
                    session.on_event(key.fileobj, mask)
            if self.sessions:
                now = time.monotonic()
                for session in [s for s in self.sessions if s.deadline and now > s.deadline]:
                    what = "could not be resolved" if session.resolving else "did not answer"
                    session.fail(f"redis {session.task.server} {what} within {session.connect_timeout:g} s")


class SSESession:
    """One client subscribed to one redis channel. Lives in exactly one loop thread."""

    def __init__(self, client: socket.socket, task: Offload, connect_timeout: float,
                 resolver: _Resolver | None = None) -> None:
        self.client = client
        self.task = task
        self.connect_timeout = connect_timeout
        self.resolver = resolver
        self.raw = task.kind == "sseraw"
        self.redis: socket.socket | None = None
        self.loop: _Loop | None = None
        self.parser = RespParser()
        self.to_redis = b""
        self.to_client = bytearray()
        self.connecting = True
        self.resolving = False
        self.addresses: Addresses = []  # still to try when a connect fails (a name's other addresses)
        self.subscribed = False
        self.redis_done = False
        self.paused = False
        self.closed = False
        self.deadline = 0.0

    # -- life cycle ------------------------------------------------------------------------------
    def start(self, loop: _Loop) -> None:
        self.loop = loop
        task = self.task
        try:
            family, address = redis_address(task.server)
        except ValueError as exc:
            self.fail(f"cannot connect to redis {task.server}: {exc}")
            return
        cmds = encode_command("AUTH", task.password) if task.password else b""
        self.to_redis = cmds + encode_command("SUBSCRIBE", task.channel)
        self.deadline = time.monotonic() + self.connect_timeout  # the lookup counts against it too
        loop.want(self.client, _R, self)  # a client that leaves while we connect ends the session
        if family != socket.AF_UNSPEC:
            self._connect([(family, address)])
            return
        resolver = self.resolver or _Resolver()
        host, port = address
        addresses = resolver.cached(host, port)
        if addresses is not None:
            self._connect(addresses)
            return
        self.resolving = True
        resolver.lookup(host, port, lambda found, error: loop.add(lambda: self._resolved(found, error)))

    def _resolved(self, addresses: Addresses, error: str) -> None:
        """In the loop's thread, once the lookup is over (the session may have ended meanwhile)."""
        self.resolving = False
        if self.closed:
            return
        if not addresses:
            host = self.task.server.rpartition(":")[0].strip("[]")
            self.fail(f"cannot resolve redis host {host!r} ({self.task.server}): {error}")
            return
        self._connect(addresses)

    def _connect(self, addresses: Addresses) -> None:
        """Start a non-blocking connect to the first address; the others are tried in order if
        it fails (a name may resolve to ::1 first and redis listen on 127.0.0.1 only)."""
        self.addresses = list(addresses)
        self._connect_next("no address")

    def _connect_next(self, why: str) -> None:
        assert self.loop is not None
        while self.addresses:
            family, address = self.addresses.pop(0)
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError as exc:
                why = str(exc)
                continue
            sock.setblocking(False)
            try:
                err = sock.connect_ex(address)
            except OSError as exc:
                err, why = -1, str(exc)
            if err in (0, errno.EINPROGRESS, errno.EAGAIN):
                self.redis = sock
                self.connecting = True
                self.loop.want(sock, _W, self)
                return
            if err > 0:
                why = os.strerror(err)
            sock.close()
        self.fail(f"cannot connect to redis {self.task.server}: {why}")

    def fail(self, message: str) -> None:
        log(f"[sse_offload] {message} (channel {self.task.channel!r})")
        self.close()

    def close(self) -> None:
        """End the session: the client gets a clean end of stream (FIN), never a reset."""
        if self.closed:
            return
        self.closed = True
        loop = self.loop
        if loop is not None:
            loop.forget(self.redis)
            loop.forget(self.client)
            loop.sessions.discard(self)
        if self.redis is not None:
            self.redis.close()
        try:
            self.client.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.client.close()

    # -- events ----------------------------------------------------------------------------------
    def on_event(self, sock: Any, mask: int) -> None:
        try:
            if sock is self.client:
                if mask & _R:
                    self._client_readable()
                if mask & _W and not self.closed:
                    self._flush()
            else:
                if mask & _W:
                    self._redis_writable()
                if mask & _R and not self.closed:
                    self._redis_readable()
        except RespProtocolError as exc:
            self.fail(f"redis {self.task.server} sent garbage: {exc}")
        except OSError as exc:
            self.fail(f"connection error: {exc}")

    def _client_readable(self) -> None:
        """An SSE client sends nothing after its request: bytes are discarded, end of file (or an
        error) means it left."""
        try:
            data = self.client.recv(_CLIENT_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close()

    def _redis_writable(self) -> None:
        assert self.redis is not None and self.loop is not None
        if self.connecting:
            err = self.redis.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.loop.forget(self.redis)
                self.redis.close()
                self.redis = None
                self._connect_next(os.strerror(err))  # the name's next address, or fail
                return
            self.connecting = False
        if self.to_redis:
            sent = self.redis.send(self.to_redis)
            self.to_redis = self.to_redis[sent:]
        if not self.to_redis:
            self.loop.want(self.redis, _R, self)

    def _redis_readable(self) -> None:
        assert self.redis is not None
        try:
            data = self.redis.recv(self.task.buffer_size)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            self.redis_done = True
            if not self.subscribed:
                self.fail(f"redis {self.task.server} closed the connection before SUBSCRIBE was confirmed")
                return
            log(f"[sse_offload] redis {self.task.server} closed the subscription to {self.task.channel!r}")
            self._flush()
            return
        for value in self.parser.feed(data):
            payload = pubsub_payload(value)
            if payload is not None:
                self.to_client += sse_event(payload, self.raw)
            elif isinstance(value, RespError):
                self.fail(f"redis {self.task.server} refused: {value.decode('utf-8', 'replace')}")
                return
            elif type(value) is list and value[:1] == [b"subscribe"]:
                self.subscribed = True
                self.deadline = 0.0
        if self.to_client:
            self._flush()

    def _flush(self) -> None:
        """Write what waits for the client; watch for writability only while some remains."""
        loop = self.loop
        assert loop is not None
        out = self.to_client
        if out:
            try:
                sent = self.client.send(out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            del out[:sent]
        if out:
            loop.want(self.client, _R | _W, self)
            if len(out) > _HIGH_WATER and not self.paused and self.redis is not None:
                self.paused = True
                loop.want(self.redis, 0, self)
            return
        if self.redis_done:
            self.close()
            return
        loop.want(self.client, _R, self)
        if self.paused and self.redis is not None:
            self.paused = False
            loop.want(self.redis, _R, self)


class OffloadEngine:
    """A worker's offload threads (``offload-threads``), started on first use."""

    def __init__(self, threads: int, connect_timeout: float = 10.0, slot: SlotWriter | None = None) -> None:
        self.threads = max(0, threads)
        self.connect_timeout = connect_timeout
        self.slot = slot  # the worker's scoreboard slot: offloaded responses are counted there
        self.resolver = _Resolver()
        self.loops: list[_Loop] = []
        self.next = 0
        self.lock = threading.Lock()
        self.warned = False

    def submit(self, client: socket.socket, task: Offload) -> None:
        """Take over a client connection whose response head was sent. Never raises: a session
        that cannot start is logged and its client closed."""
        try:
            sock = socket.socket(fileno=os.dup(client.fileno()))
            sock.setblocking(False)
        except OSError as exc:
            log(f"[sse_offload] cannot take over the connection: {exc}")
            return
        session = SSESession(sock, task, self.connect_timeout, self.resolver)
        if self.threads == 0:
            if not self.warned:
                self.warned = True
                log("[sse_offload] no offload-threads: the SSE stream runs in the worker thread, "
                    "which serves nothing else until the client leaves (set offload-threads)")
            loop = _Loop()
            try:
                loop.add(session)
                loop.run(until_idle=True)
            finally:
                loop.close()
            return
        with self.lock:
            if len(self.loops) < self.threads:
                loop = _Loop()
                self.loops.append(loop)
                threading.Thread(target=_run_forever, args=(loop,), daemon=True,
                                 name=f"satrap-offload-{len(self.loops)}").start()
            else:
                loop = self.loops[self.next % len(self.loops)]
                self.next += 1
            if self.slot is not None:  # under the lock: a threaded worker's threads share the slot
                self.slot.add_offloaded()
        loop.add(session)


def _run_forever(loop: _Loop) -> None:
    while True:
        try:
            loop.run()
        except Exception as exc:  # noqa: BLE001 -- a bug must cost its sessions, never the thread
            log(f"[sse_offload] offload thread error: {exc!r}")
            for session in list(loop.sessions):
                session.close()


def install(cfg: Any, slot: SlotWriter | None = None) -> OffloadEngine:
    """Give this worker its offload engine (no thread starts until a response is offloaded);
    ``slot`` is the worker's scoreboard slot, where offloaded responses are counted."""
    from satrap.app import invoke

    engine = OffloadEngine(int(getattr(cfg, "offload_threads", 0) or 0),
                           connect_timeout=max(float(getattr(cfg, "socket_timeout", 4) or 4), 1.0),
                           slot=slot)
    invoke.offloader = engine.submit
    return engine
