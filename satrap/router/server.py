"""The router's event loop side: accepting, the connection cap, deadlines, stopping.

* Accept is a reader callback on each listening socket that accepts until EAGAIN (bounded per
  wake-up), so a burst of connections costs one loop iteration, not one per client.
* The connections' sockets (client and upstream) are not registered with the loop one by one:
  the router's own epoll holds them and is one reader in the loop. Registering a socket is one
  ``epoll_ctl`` from C (closing it unregisters it: no second call), and one loop wake-up runs
  the callbacks of every ready socket (``_poll``), with no selector key or handle per socket.
  Only the rare "socket full, wait until writable" case uses the loop's ``add_writer``.
* Past ``max_connections`` the listening sockets leave the loop; new clients wait in the kernel's
  listen backlog (rather than being accepted and starved, or failing on EMFILE) and the sockets
  come back as soon as a connection ends.
* One sweeper callback per ``tick`` checks every connection's deadline and expires the late
  ones, and notices when the master died (``os.getppid()`` changed): a timer per request would
  cost more than the requests.
* Graceful stop (SIGHUP/SIGTERM): listening sockets close, idle keep-alive connections close,
  in-flight requests finish (their connections close after the response), then the loop ends;
  ``stop_mercy`` bounds the wait. Quick stop (SIGQUIT/SIGINT): the loop ends now.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
from collections.abc import Callable

from satrap.log import log
from satrap.net.listeners import Listener
from satrap.router.proxy import ClientConn, RawSocket
from satrap.router.settings import RouterSettings
from satrap.router.upstream import Upstream, encode_var

_ACCEPT_BATCH = 64
_POLL_BATCH = 256


class Router:
    """The set of client connections and the loop callbacks that manage them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, settings: RouterSettings,
                 listeners: list[Listener], upstream: Upstream, parent: int) -> None:
        self.loop = loop
        self.settings = settings
        self.listeners = listeners
        self.upstream = upstream
        self.parent = parent
        self.conns: set[ClientConn] = set()
        self.stopping = False
        self.accepting = False
        self.done: asyncio.Future[int] = loop.create_future()
        self._stop_deadline = 0.0
        # The connections' own sockets (clients and upstreams) are polled by one epoll of the
        # router's, which sits in the loop as a single reader: registering an fd is one
        # epoll_ctl (and close() unregisters it), a ready fd costs one dict lookup and a call,
        # and a wake-up serves every ready socket in one batch (see the module docstring).
        self.epoll = select.epoll()
        self.handlers: dict[int, Callable[[], None]] = {}
        self.now = loop.time()
        self._server_vars: dict[int, bytes] = {}
        hostname = socket.gethostname()
        for lst in listeners:
            lst.sock.setblocking(False)
            if lst.sock.family != socket.AF_UNIX:
                # inherited by every accepted socket: no setsockopt per connection
                lst.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if lst.sock.family == socket.AF_UNIX:
                name, port = hostname, ""
            else:
                name, port = lst.host, str(lst.port)
            self._server_vars[lst.sock.fileno()] = (
                encode_var("SERVER_NAME", name) + encode_var("SERVER_PORT", port))
        # the sweep period bounds how late a deadline is noticed
        self.tick = max(0.05, min(1.0, settings.header_timeout / 8))

    # -- accepting -------------------------------------------------------------------------------
    def start(self) -> None:
        self.loop.add_reader(self.epoll.fileno(), self._poll)
        self._resume_accept()
        self.loop.call_later(self.tick, self._sweep)

    def _poll(self) -> None:
        """The router epoll is ready: run the callback of every ready socket. A callback may
        close an fd whose number a later one reuses within the same batch, so every callback
        tolerates a spurious call (its non-blocking read or write just finds EAGAIN)."""
        handlers = self.handlers
        self.now = self.loop.time()
        for fd, _events in self.epoll.poll(0, _POLL_BATCH):
            handler = handlers.get(fd)
            if handler is not None:
                try:
                    handler()
                except Exception as exc:  # noqa: BLE001 - a bug costs one connection, not the router
                    conn = getattr(handler, "__self__", None)
                    log(f"http router: error on connection from {getattr(conn, 'peer', '?')}: {exc!r}")
                    if isinstance(conn, ClientConn):
                        conn.close()

    def _resume_accept(self) -> None:
        if self.accepting or self.stopping:
            return
        self.accepting = True
        for lst in self.listeners:
            self.loop.add_reader(lst.sock.fileno(), self._accept, lst)

    def _pause_accept(self) -> None:
        if not self.accepting:
            return
        self.accepting = False
        for lst in self.listeners:
            self.loop.remove_reader(lst.sock.fileno())

    def _accept(self, lst: Listener) -> None:
        lsock = lst.sock
        server_vars = self._server_vars[lsock.fileno()]
        family = lsock.family
        unix = family == socket.AF_UNIX
        raw_accept = lsock._accept  # type: ignore[attr-defined]  # (fd, addr): no Python socket
        cap = self.settings.max_connections
        conns = self.conns
        self.now = self.loop.time()
        for _ in range(_ACCEPT_BATCH):
            if len(conns) >= cap:
                self._pause_accept()
                return
            try:
                fd, addr = raw_accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE, ENOBUFS...: back off until a connection ends
                log(f"http router: accept() on {lst.address} failed: {exc}")
                self._pause_accept()
                if not conns:
                    self.loop.call_later(0.1, self._resume_accept)
                return
            # the C socket type, left in blocking mode: every read and write on it passes
            # MSG_DONTWAIT instead (no fcntl per connection)
            sock = RawSocket(family, socket.SOCK_STREAM, 0, fd)
            if unix:
                peer = "unix"
                fixed = encode_var("REMOTE_ADDR", "") + encode_var("REMOTE_PORT", "")
            else:
                peer = addr[0]
                fixed = encode_var("REMOTE_ADDR", addr[0]) + encode_var("REMOTE_PORT", str(addr[1]))
            conn = ClientConn(self, sock, fixed + server_vars, peer)
            conns.add(conn)
            conn.start()

    def close(self) -> None:
        """The loop is done with the router."""
        self.loop.remove_reader(self.epoll.fileno())
        self.epoll.close()

    def discard(self, conn: ClientConn) -> None:
        """A connection ended (called from its task)."""
        self.conns.discard(conn)
        if self.stopping:
            if not self.conns and not self.done.done():
                self.done.set_result(0)
        elif not self.accepting and len(self.conns) < self.settings.max_connections:
            self._resume_accept()

    # -- deadlines and the master ------------------------------------------------------------------
    def _sweep(self) -> None:
        now = self.loop.time()
        for conn in [c for c in self.conns if c.deadline and c.deadline < now]:
            conn.expire()
        if os.getppid() != self.parent:
            log("http router: the master is gone, exiting")
            self.stop(graceful=False)
        elif self.stopping and now > self._stop_deadline:
            log(f"http router: {len(self.conns)} connection(s) still busy after "
                f"{self.settings.stop_mercy:g}s, closing them")
            self.stop(graceful=False)
        if not self.done.done():
            self.loop.call_later(self.tick, self._sweep)

    # -- stopping ----------------------------------------------------------------------------------
    def stop(self, graceful: bool) -> None:
        if self.done.done():
            return
        if not graceful:
            self.done.set_result(0)
            return
        if self.stopping:
            return
        self.stopping = True
        self._stop_deadline = self.loop.time() + self.settings.stop_mercy
        self._pause_accept()
        for lst in self.listeners:
            lst.sock.close()
        for conn in list(self.conns):
            conn.close_idle()
        if not self.conns and not self.done.done():
            self.done.set_result(0)

    async def close_all(self) -> None:
        """Close what is left and let cancelled tasks run their cleanup."""
        tasks = [t for c in self.conns for t in (c.task, c.pump) if t is not None and not t.done()]
        for conn in list(self.conns):
            conn.close()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)


def describe(listeners: list[Listener], upstream: str) -> str:
    where = ", ".join(lst.address for lst in listeners)
    return f"http router: {where} -> uwsgi {upstream}"

