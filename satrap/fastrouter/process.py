"""The "fastrouter N" gateway process: uwsgi requests in, each forwarded to a node by its key.

Forked by the master with the ``fastrouter`` listening sockets already bound (uwsgi protocol, from
nginx ``uwsgi_pass`` or any uwsgi client). The subscription server(s) of
``fastrouter-subscription-server`` (UDP ``host:port`` or a unix datagram path) are read in the
same event loop, so the table needs no locking and no shared memory. A node that announced a
``notify`` path is sent ``[subscription ack] KEY => new node: ADDR`` there when it is added.

Per connection: read the uwsgi header and vars block (``buffer-size``), take the key
(``UWSGI_FASTROUTER_KEY``, else ``HTTP_HOST``), pick a node (subscriptions first, then
``fastrouter-use-base`` / ``-use-pattern``, then ``fastrouter-to``), connect, send the packet as
received (modifier1 replaced when the node subscribed with one) and whatever body bytes came
with it, then copy both ways until the node closes. No node for the key: the connection is
closed with a log line (uWSGI's behaviour; nginx answers 502). A node that refuses the
connection is marked failed (skipped until its next announce) and the next one is tried.

Signals as for the ``--http`` router: SIGHUP/SIGTERM graceful (stop accepting, finish in-flight
requests within ``worker-reload-mercy``), SIGQUIT/SIGINT quick. It exits when the master dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import stat
from typing import Any

from satrap.fastrouter.subscription import Node, SubscriptionTable, parse_subscription
from satrap.log import log
from satrap.net.listeners import Listener, parse_inet
from satrap.proctitle import set_title
from satrap.protocol.errors import ProtocolError
from satrap.protocol.uwsgi import parse_packet

__all__ = ["FastRouter", "bind_subscription_server", "run_fastrouter"]

_ALL_MODIFIERS = range(256)
_MAX_TRIES = 3
_CHUNK = 65536


def _is_unix(address: str) -> bool:
    return address.startswith(("/", "@", ".")) or ":" not in address


def bind_subscription_server(address: str) -> socket.socket:
    """A non-blocking datagram socket bound to ``address`` (a stale unix socket file is replaced).

    UDP sockets get SO_REUSEPORT so the fastrouter of a reloading master can bind while the old
    one drains."""
    if _is_unix(address):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        if address.startswith("@"):
            sock.bind("\0" + address[1:])
            return sock
        path = os.path.abspath(address)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)
        try:
            sock.bind(path)
        except OSError:
            sock.close()
            raise
        return sock
    family, host, port = parse_inet(address)
    sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with contextlib.suppress(AttributeError, OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _sockaddr(address: str) -> tuple[int, Any]:
    if _is_unix(address):
        return socket.AF_UNIX, ("\0" + address[1:] if address.startswith("@") else address)
    family, host, port = parse_inet(address)
    return family, (host, port)


class FastRouter:
    """The listening sockets, the subscription table, and the connections in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cfg: Any, listeners: list[Listener],
                 sub_socks: list[socket.socket], parent: int) -> None:
        self.loop = loop
        self.listeners = listeners
        self.sub_socks = sub_socks
        self.parent = parent
        self.table = SubscriptionTable(int(getattr(cfg, "subscription_tolerance", 17) or 17))
        self.timeout = float(getattr(cfg, "fastrouter_timeout", 60) or 60)
        self.max_head = min(0xFFFF, max(4096, int(getattr(cfg, "buffer_size", 4096) or 4096)))
        self.quiet = bool(getattr(cfg, "fastrouter_quiet", False))
        self.use_base = list(getattr(cfg, "fastrouter_use_base", None) or [])
        self.use_pattern = list(getattr(cfg, "fastrouter_use_pattern", None) or [])
        self.static_to = list(getattr(cfg, "fastrouter_to", None) or [])
        self.static_next = 0
        self.mercy = float(getattr(cfg, "worker_reload_mercy", 60) or 60)
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.done: asyncio.Future[int] = loop.create_future()
        self.stop_deadline = 0.0
        self.notify_sock: socket.socket | None = None  # sends "[subscription ack]" datagrams

    # -- start and stop ----------------------------------------------------------------------------
    def start(self) -> None:
        for lst in self.listeners:
            lst.sock.setblocking(False)
            self.loop.add_reader(lst.sock.fileno(), self._accept, lst.sock)
        for sock in self.sub_socks:
            self.loop.add_reader(sock.fileno(), self._on_datagram, sock)
        self.loop.call_later(1.0, self._sweep)

    def stop(self, graceful: bool) -> None:
        if self.done.done():
            return
        if not graceful or (not self.tasks and not self.stopping):
            self._close_listening()
            self.done.set_result(0)
            return
        if self.stopping:
            return
        self.stopping = True
        self.stop_deadline = self.loop.time() + self.mercy
        self._close_listening()
        if not self.tasks:
            self.done.set_result(0)

    def _close_listening(self) -> None:
        for lst in self.listeners:
            with contextlib.suppress(ValueError, OSError):
                self.loop.remove_reader(lst.sock.fileno())
            lst.sock.close()
        self.listeners = []
        for sock in self.sub_socks:
            with contextlib.suppress(ValueError, OSError):
                self.loop.remove_reader(sock.fileno())
            sock.close()
        self.sub_socks = []
        if self.notify_sock is not None:
            self.notify_sock.close()
            self.notify_sock = None

    def _sweep(self) -> None:
        for line in self.table.expire(self.loop.time()):
            log(f"fastrouter: {line}")
        if os.getppid() != self.parent:
            log("fastrouter: the master is gone, exiting")
            self.stop(graceful=False)
        elif self.stopping and self.loop.time() > self.stop_deadline:
            log(f"fastrouter: {len(self.tasks)} request(s) still busy after {self.mercy:g}s, closing them")
            self.stop(graceful=False)
        if not self.done.done():
            self.loop.call_later(1.0, self._sweep)

    async def close_all(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)

    # -- subscriptions -----------------------------------------------------------------------------
    def _on_datagram(self, sock: socket.socket) -> None:
        for _ in range(64):
            try:
                data = sock.recv(_CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log(f"fastrouter: subscription server recv failed: {exc}")
                return
            try:
                sub = parse_subscription(data)
            except ProtocolError as exc:
                log(f"fastrouter: invalid subscription packet ignored: {exc}")
                continue
            for line in self.table.update(sub, self.loop.time()):
                log(f"fastrouter: {line}")
            for path, message in self.table.pop_acks():
                self._notify(path, message)

    def _notify(self, path: str, message: str) -> None:
        """One acknowledgement datagram to a node's notify socket; best effort, as uWSGI: a node
        that does not listen there loses nothing but the log line."""
        if self.notify_sock is None:
            self.notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                                             | socket.SOCK_CLOEXEC)
        target = "\0" + path[1:] if path.startswith("@") else path
        try:
            self.notify_sock.sendto(message.encode("utf-8", "replace"), target)
        except OSError:
            pass

    # -- requests ----------------------------------------------------------------------------------
    def _accept(self, lsock: socket.socket) -> None:
        for _ in range(64):
            try:
                sock, _addr = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log(f"fastrouter: accept() failed: {exc}")
                return
            sock.setblocking(False)
            task = self.loop.create_task(self._serve(sock))
            self.tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if self.stopping and not self.tasks and not self.done.done():
            self.done.set_result(0)

    def _static_address(self, key: str) -> str | None:
        for base in self.use_base:
            if key and "/" not in key and key not in (".", ".."):
                return os.path.join(base, key)
        for pattern in self.use_pattern:
            if key and "/" not in key and key not in (".", ".."):
                return pattern.replace("%s", key)
        if self.static_to:
            address = self.static_to[self.static_next % len(self.static_to)]
            self.static_next += 1
            return address
        return None

    async def _recv(self, sock: socket.socket) -> bytes:
        return await asyncio.wait_for(self.loop.sock_recv(sock, _CHUNK), self.timeout)

    async def _connect(self, address: str) -> socket.socket:
        family, addr = _sockaddr(address)
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        try:
            if family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.wait_for(self.loop.sock_connect(sock, addr), self.timeout)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _serve(self, client: socket.socket) -> None:
        node_sock: socket.socket | None = None
        try:
            buf = bytearray()
            while True:
                try:
                    got = parse_packet(buf, self.max_head, 4096, _ALL_MODIFIERS)
                except ProtocolError as exc:
                    log(f"fastrouter: invalid uwsgi request: {exc}")
                    return
                if got is not None:
                    break
                chunk = await self._recv(client)
                if not chunk:
                    return
                buf += chunk
            _m1, _m2, env, _used = got
            key = env.get("UWSGI_FASTROUTER_KEY") or env.get("HTTP_HOST", "")
            node_sock, node = await self._connect_node(key)
            if node_sock is None:
                return
            if node is not None and node.modifier1:
                buf[0] = node.modifier1  # the node asked for its requests to carry this modifier1
            await self.loop.sock_sendall(node_sock, buf)
            await self._pipe(client, node_sock)
        except (asyncio.TimeoutError, TimeoutError):
            if not self.quiet:
                log("fastrouter: timeout, connection closed")
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET) and not self.quiet:
                log(f"fastrouter: {exc.strerror or exc}")
        finally:
            client.close()
            if node_sock is not None:
                node_sock.close()

    async def _connect_node(self, key: str) -> tuple[socket.socket | None, Node | None]:
        tried: list[Node] = []
        for _ in range(_MAX_TRIES):
            node = self.table.choose(key, self.loop.time(), tried)
            address = node.address if node is not None else (None if tried else self._static_address(key))
            if address is None:
                break
            try:
                return await self._connect(address), node
            except (OSError, asyncio.TimeoutError, TimeoutError) as exc:
                reason = getattr(exc, "strerror", None) or "timeout"
                if node is None:
                    if not self.quiet:
                        log(f"fastrouter: cannot connect to {address} for key '{key}': {reason}")
                    return None, None
                tried.append(node)
                line = self.table.failed(node)
                if not self.quiet:
                    log(f"fastrouter: cannot connect to {address}: {reason}; {line}")
        if not self.quiet:
            if tried:
                log(f"fastrouter: no live node for key '{key}', connection closed")
            else:
                log(f"fastrouter: unable to find a node for key '{key}', connection closed")
        return None, None

    async def _pipe(self, client: socket.socket, node: socket.socket) -> None:
        """Body from the client to the node, answer from the node to the client, until the node
        closes (the end of the answer)."""

        async def upstream() -> None:
            while True:
                data = await self._recv(client)
                if not data:
                    return
                await self.loop.sock_sendall(node, data)

        up = self.loop.create_task(upstream())
        try:
            while True:
                data = await self._recv(node)
                if not data:
                    return
                await self.loop.sock_sendall(client, data)
        finally:
            up.cancel()
            with contextlib.suppress(BaseException):
                await up


def run_fastrouter(cfg: Any, listeners: list[Listener], index: int,
                   sub_socks: list[socket.socket] | None = None) -> int:
    """Serve the fastrouter on ``listeners`` (bound ``fastrouter`` addresses). The subscription
    servers are bound here unless ``sub_socks`` are given. Returns the exit code."""
    from satrap.router.process import new_event_loop, stop_on_signals

    set_title(cfg, f"fastrouter {index}")
    parent = os.getppid()
    if sub_socks is None:
        sub_socks = []
        for address in getattr(cfg, "fastrouter_subscription_server", None) or []:
            try:
                sub_socks.append(bind_subscription_server(address))
            except OSError as exc:
                log(f"fastrouter: cannot bind subscription server {address}: {exc.strerror or exc}")
                for sock in sub_socks:
                    sock.close()
                return 1
    unix_paths: list[tuple[str, int]] = []  # (path, inode): removed at exit unless rebound meanwhile
    for sock in sub_socks:
        name = sock.getsockname() if sock.family == socket.AF_UNIX else None
        if isinstance(name, str) and name.startswith("/"):
            with contextlib.suppress(OSError):
                unix_paths.append((name, os.stat(name).st_ino))
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        router = FastRouter(loop, cfg, listeners, sub_socks, parent)
        stop_on_signals(loop, router.stop)
        router.start()
        where = ", ".join(lst.address for lst in listeners) or "(no listener)"
        subs = ", ".join(getattr(cfg, "fastrouter_subscription_server", None) or []) or "none"
        log(f"fastrouter: {where} (pid {os.getpid()}), subscription server: {subs}")
        pulled = loop.run_until_complete(router.done)
        loop.run_until_complete(router.close_all())
        return pulled
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        for path, inode in unix_paths:  # a reload's new fastrouter may own the path by now
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == inode:
                    os.unlink(path)
