"""The router's event loop side: accepting, the connection cap, deadlines, stopping.

* Accept is a reader callback on each listening socket that accepts until EAGAIN (bounded per
  wake-up), so a burst of connections costs one loop iteration, not one per client.
* Past ``max_connections`` the listening sockets leave the loop; new clients wait in the kernel's
  listen backlog (rather than being accepted and starved, or failing on EMFILE) and the sockets
  come back as soon as a connection ends.
* One sweeper callback per ``tick`` checks every connection's deadline and cancels the late
  ones, and notices when the master died (``os.getppid()`` changed): a timer per request would
  cost more than the requests.
* Graceful stop (SIGHUP/SIGTERM): listening sockets close, idle keep-alive connections close,
  in-flight requests finish (their connections close after the response), then the loop ends;
  ``stop_mercy`` bounds the wait. Quick stop (SIGQUIT/SIGINT): the loop ends now.
"""

from __future__ import annotations

import asyncio
import os
import socket

from satrap.log import log
from satrap.net.listeners import Listener
from satrap.router.proxy import ClientConn
from satrap.router.settings import RouterSettings
from satrap.router.upstream import Upstream, encode_var

_ACCEPT_BATCH = 64


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
        self._server_vars: dict[int, bytes] = {}
        hostname = socket.gethostname()
        for lst in listeners:
            lst.sock.setblocking(False)
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
        self._resume_accept()
        self.loop.call_later(self.tick, self._sweep)

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
        cap = self.settings.max_connections
        conns = self.conns
        for _ in range(_ACCEPT_BATCH):
            if len(conns) >= cap:
                self._pause_accept()
                return
            try:
                sock, addr = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE, ENOBUFS...: back off until a connection ends
                log(f"http router: accept() on {lst.address} failed: {exc}")
                self._pause_accept()
                if not conns:
                    self.loop.call_later(0.1, self._resume_accept)
                return
            sock.setblocking(False)
            if sock.family == socket.AF_UNIX:
                peer = "unix"
                fixed = encode_var("REMOTE_ADDR", "") + encode_var("REMOTE_PORT", "")
            else:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                peer = addr[0]
                fixed = encode_var("REMOTE_ADDR", addr[0]) + encode_var("REMOTE_PORT", str(addr[1]))
            conn = ClientConn(self, sock, fixed + server_vars, peer)
            conns.add(conn)
            conn.task = self.loop.create_task(conn.serve())

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
            if conn.idle and conn.task is not None:
                conn.task.cancel()
        if not self.conns:
            self.done.set_result(0)

    async def close_all(self) -> None:
        """Cancel what is left and let the tasks run their cleanup."""
        tasks = [c.task for c in self.conns if c.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)


def describe(listeners: list[Listener], upstream: str) -> str:
    where = ", ".join(lst.address for lst in listeners)
    return f"http router: {where} -> uwsgi {upstream}"

