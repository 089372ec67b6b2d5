"""A worker's event loop: accept only while a thread is free, park idle keep-alive connections.

Theory of operation:
- The main thread waits in one ``epoll`` on the listening sockets, the signal wake-up pipe and
  the idle keep-alive connections. Listening sockets are registered with ``EPOLLEXCLUSIVE`` so a
  new connection wakes one idle worker, not all of them (no thundering herd, without uWSGI's
  ``thunder-lock``). A worker that is busy is not waiting in epoll, so it is never the one woken:
  only a free worker takes the next connection.
- With ``threads = 1`` requests run inline in the main thread. With more threads a ready
  connection is handed to a pool thread; when every thread is busy the listening sockets are
  taken out of the epoll set so the kernel routes new connections to other workers.
- With a thread pool, connections are registered ``EPOLLONESHOT``: a connection is owned by
  exactly one thread at a time, and whoever finishes with it re-arms it (``epoll_ctl`` is
  thread-safe). With one thread they are level-triggered and never re-armed.
- Signal handlers only set flags; ``signal.set_wakeup_fd`` wakes the loop.
"""

from __future__ import annotations

import _socket
import os
import select
import signal
import socket
import threading
import time
from _queue import SimpleQueue  # queue.SimpleQueue itself, without the queue module's Python
from collections.abc import Callable
from typing import Any

from satrap.log import log
from satrap.net.listeners import Listener
from satrap.net.listenq import tcp_queue
from satrap.scoreboard import ACCEPTING, STARTING, PeerView
from satrap.worker.allow import peer_allowed
from satrap.worker.conn import Conn, send_error, serve_http, serve_uwsgi
from satrap.worker.context import WorkerContext, base_environ, set_socket_timeouts

_EXCL = getattr(select, "EPOLLEXCLUSIVE", 0)
_IN_ONESHOT = select.EPOLLIN | select.EPOLLONESHOT
_MAX_IDLE_CONNS = 2000
_ACCEPT_BATCH = 16
_UNIX = int(socket.AF_UNIX)
_STREAM = int(socket.SOCK_STREAM)
_TICK = 1.0
_NO_REMOTE = ("", "")
_MSG_DONTWAIT = socket.MSG_DONTWAIT
_YIELD_POLL = 0.002  # how often a worker that gave up its turn looks whether to take it back


class WorkerLoop:
    """Runs until told to stop; :meth:`run` returns the exit code the worker should use."""

    def __init__(self, ctx: WorkerContext, listeners: list[Listener], threads: int,
                 processes: int, master_pid: int | None, min_lifetime: float,
                 reload_on_rss_mb: int, on_tick: Callable[[], None] | None = None) -> None:
        self.ctx = ctx
        self.listeners = {lst.sock.fileno(): lst for lst in listeners}
        self.threads = max(1, threads)
        self.master_pid = master_pid
        self.min_lifetime = min_lifetime
        self.reload_on_rss = reload_on_rss_mb * 1024 * 1024
        self.on_tick = on_tick
        self.conns: dict[int, Conn] = {}
        self.busy = 0
        self.lock = threading.Lock()
        self.listening = False
        self.ep = select.epoll()
        self.quick_exit = False
        self.born = time.monotonic()
        self.exit_code = 0
        for fd, lst in self.listeners.items():
            lst.sock.setblocking(False)
            ctx.base_environ[fd] = base_environ(lst, self.threads, processes)
            if lst.sock.family != socket.AF_UNIX:
                # Linux copies these from a TCP listener to every socket it accepts: set once
                # here instead of three setsockopt calls per connection
                lst.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                set_socket_timeouts(lst.sock, ctx.socket_timeout)
        self.work: SimpleQueue[Conn | None] = SimpleQueue()
        self.wake_fd = -1
        self.reopen_logs = False
        self.on_accepting: Callable[[], None] | None = None  # the "accepting" hook phase
        self.log_path: str | None = None  # set by the caller when logging to a file
        #: the sibling workers' slots (keep-alive fairness, one thread per worker, TCP only)
        self.peers: PeerView | None = None
        self.yielding = False  # listeners out of epoll: we hold more than our share
        self.yielded_at = 0.0

    # -- signals (handlers only set flags; the wake-up fd interrupts epoll) ---------------------
    def install_signals(self, graceful: tuple[int, ...], quick: tuple[int, ...],
                        ignored: tuple[int, ...]) -> None:
        for sig in graceful:
            signal.signal(sig, self._on_graceful)
        for sig in quick:
            signal.signal(sig, self._on_quick)
        for sig in ignored:
            signal.signal(sig, signal.SIG_IGN)
        signal.signal(signal.SIGUSR2, self._on_reopen_logs)

    def _on_reopen_logs(self, signum: int, frame: object) -> None:
        self.reopen_logs = True

    def _on_graceful(self, signum: int, frame: object) -> None:
        self.ctx.stopping = True

    def _on_quick(self, signum: int, frame: object) -> None:
        self.ctx.stopping = True
        self.quick_exit = True
        self.exit_code = 30
        if self.threads == 1 and self.busy:
            raise SystemExit(30)  # interrupt the app mid-request: this is the brutal path

    # -- listening ------------------------------------------------------------------------------
    def _listen(self, on: bool) -> None:
        if on == self.listening:
            return
        for fd in self.listeners:
            if on:
                self.ep.register(fd, select.EPOLLIN | _EXCL)
            else:
                try:
                    self.ep.unregister(fd)
                except OSError:
                    pass
        self.listening = on

    def _close_listeners(self) -> None:
        self._listen(False)
        for lst in self.listeners.values():
            lst.sock.close()
        self.listeners = {}

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> int:
        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.wake_fd = wfd
        signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        self.ep.register(rfd, select.EPOLLIN)
        pool = []
        if self.threads > 1:
            for core in range(self.threads):
                t = threading.Thread(target=self._pool_thread, args=(core,), daemon=True,
                                     name=f"satrap-core-{core}")
                t.start()
                pool.append(t)
        self._listen(True)
        if self.ctx.slot is not None:
            self.ctx.slot.set_status(ACCEPTING)
        if self.on_accepting is not None:
            self.on_accepting()
        next_tick = time.monotonic() + _TICK
        ep_poll = self.ep.poll
        listeners = self.listeners
        conns = self.conns
        ctx = self.ctx
        while True:
            if ctx.stopping:
                if self.listeners:
                    if ctx.slot is not None:
                        ctx.slot.set_status(STARTING)  # siblings must not wait for us to accept
                    self._close_listeners()
                    listeners = self.listeners
                    self._close_idle(0.0, everything=True)
                if self.quick_exit or (self.busy == 0 and not self.conns):
                    break
            try:
                events = ep_poll(_YIELD_POLL if self.yielding else _TICK)
            except InterruptedError:
                continue
            for fd, _ev in events:
                if fd == rfd:
                    try:
                        while os.read(rfd, 512):
                            pass
                    except OSError:
                        pass
                    continue
                lst = listeners.get(fd)
                if lst is not None:
                    self._accept(lst)
                    continue
                conn = conns.get(fd)
                if conn is not None:
                    conn.idle_since = 0.0
                    self._dispatch(conn)
            if self.yielding and time.monotonic() >= self.yielded_at + _YIELD_POLL:
                self._maybe_take_turn_back()
            if self.reopen_logs:
                self.reopen_logs = False
                if self.log_path:
                    from satrap.log import redirect_to_file

                    redirect_to_file(self.log_path)
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + _TICK
                self._tick(now)
        for _ in pool:
            self.work.put(None)
        self._close_idle(0.0, everything=True)
        return self.exit_code

    def _tick(self, now: float) -> None:
        if self.master_pid is not None and os.getppid() != self.master_pid:
            log(f"worker {self.ctx.wid} (pid: {os.getpid()}): my master is gone, exiting")
            self.ctx.stopping = True
            self.quick_exit = True
            return
        self._close_idle(now - self.ctx.keepalive_timeout)
        if self.reload_on_rss and now - self.born >= self.min_lifetime:
            rss = _rss_bytes()
            if rss >= self.reload_on_rss:
                log(f"worker {self.ctx.wid} (pid: {os.getpid()}): RSS {rss // (1024 * 1024)} MB >= "
                    f"reload-on-rss {self.reload_on_rss // (1024 * 1024)} MB, recycling")
                self.ctx.stopping = True
        if self.on_tick is not None:
            self.on_tick()

    def _close_idle(self, before: float, everything: bool = False) -> None:
        """Close keep-alive connections idle since ``before`` (all of them when stopping). A
        fresh connection, accepted but not yet sent its request, is the exception: a client
        has every right to expect an answer to it, so a stopping worker still waits for it
        (bounded by the keep-alive timeout)."""
        now = time.monotonic()
        head_deadline = now - self.ctx.socket_timeout
        for fd, conn in list(self.conns.items()):
            if not conn.idle_since:
                continue  # being served
            if conn.head_started:
                if conn.head_started < head_deadline:  # a head trickling in too slowly
                    self._forget(conn)
                    send_error(conn.sock, 408, "request head not received in time")
                    conn.close()
            elif conn.idle_since < before or (everything and not conn.fresh):
                self._forget(conn)
                conn.close()

    def _accept(self, lst: Listener) -> None:
        """Accept and serve while connections wait (up to a batch): under load this saves an
        epoll round trip per connection, and only a worker with a free thread gets here."""
        # the C call: socket.accept() adds enum conversions. _accept is a private method of the C
        # _socket.socket (returns (fd, address)) that typeshed does not declare, hence the ignore
        raw_accept: Callable[[], tuple[int, Any]] = lst.sock._accept  # type: ignore[attr-defined]
        family = int(lst.sock.family)
        unix = family == _UNIX
        env = self.ctx.base_environ[lst.sock.fileno()]  # shared: each request copies it once
        for i in range(_ACCEPT_BATCH):
            if self.ctx.stopping or self.busy >= self.threads or lst.sock.fileno() < 0:
                return
            if i and self.conns and self.peers is not None and self._over_share():
                # keep-alive connections stay with the worker that accepted them: a worker that
                # won a burst of connects must leave the rest to a free sibling holding fewer,
                # or one worker carries most of them for their whole life
                self.yielding = True
                self.yielded_at = time.monotonic()
                self._listen(False)
                return
            try:
                fd, addr = raw_accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log(f"accept() on {lst.address} failed: {exc}")
                return
            # the C socket type: socket.socket's Python __init__ and close() cost a microsecond
            # per connection and add nothing a worker uses
            self._take(lst, _socket.socket(family, _STREAM, 0, fd), addr, unix, env)

    def _take(self, lst: Listener, sock: _socket.socket, addr: Any, unix: bool,
              env: dict[str, Any]) -> None:
        ctx = self.ctx
        if unix:
            peer = "unix"
            remote = _NO_REMOTE
            set_socket_timeouts(sock, ctx.socket_timeout)  # unix sockets do not inherit them
        else:
            peer = addr[0]
            remote = (peer, str(addr[1]))
            if lst.proto == "uwsgi" and ctx.uwsgi_allow and not peer_allowed(ctx.uwsgi_allow, peer):
                log(f"refused uwsgi connection from {peer}: not in uwsgi-allow")
                Conn(sock, env, lst.proto, peer).close()
                return
        conn = Conn(sock, env, lst.proto, peer, remote)
        try:
            conn.buf = sock.recv(65536, _MSG_DONTWAIT)
        except BlockingIOError:
            self._park(conn)
            return
        except OSError:
            sock.close()
            return
        if not conn.buf:
            sock.close()
            return
        self._dispatch(conn)

    def _park(self, conn: Conn) -> None:
        """Wait for the connection's next bytes in epoll (keep-alive or a slow first request).
        A connection is registered only the first time it has to wait, so a one-request
        connection costs no epoll_ctl at all. With one thread the registration is
        level-triggered and stays for the connection's life: a keep-alive request then costs
        no epoll_ctl either. With a thread pool it is one-shot, re-armed by whoever finishes
        with the connection, so that exactly one thread owns it at a time."""
        conn.idle_since = time.monotonic()
        if conn.fd in self.conns:
            if self.threads > 1:
                try:
                    self.ep.modify(conn.fd, _IN_ONESHOT)
                except OSError:
                    self._drop(conn)
            return
        if len(self.conns) >= _MAX_IDLE_CONNS:
            conn.close()
            return
        self.conns[conn.fd] = conn
        self.ep.register(conn.fd, select.EPOLLIN if self.threads == 1 else _IN_ONESHOT)
        self._publish_held()

    def _forget(self, conn: Conn) -> None:
        """Take a registered connection out of epoll before it closes: its socket may live on
        in a dup (an offloaded response), and epoll watches the socket, not the fd number."""
        if self.conns.pop(conn.fd, None) is not None:
            try:
                self.ep.unregister(conn.fd)
            except OSError:
                pass
            self._publish_held()

    def _publish_held(self) -> None:
        """Tell the siblings sharing keep-alive connections with us how many we hold."""
        if self.peers is not None:
            self.ctx.slot.set_held(len(self.conns))  # type: ignore[union-attr]

    # -- sharing keep-alive connections fairly with sibling workers ---------------------------
    def _over_share(self) -> bool:
        fewest = self.peers.fewest_held_by_a_free_peer()  # type: ignore[union-attr]
        return fewest is not None and len(self.conns) > fewest + 1

    def _maybe_take_turn_back(self) -> None:
        """Listen again once we are no longer over our share, once no sibling is free, or when
        a connection has waited in the accept queue for a whole poll: a sibling that was not
        woken for connections queued before we stepped aside would otherwise leave them there
        until the next connect (so the worst case for such a connection is ``_YIELD_POLL``)."""
        if self.ctx.stopping:
            self.yielding = False
            return
        queued = any((tcp_queue(lst.sock) or (0, 0))[0] for lst in self.listeners.values())
        if queued or not self._over_share():
            self.yielding = False
            self._listen(True)
        else:
            self.yielded_at = time.monotonic()

    def _drop(self, conn: Conn) -> None:
        self._forget(conn)
        conn.close()

    def _serve(self, conn: Conn, core: int) -> None:
        handler = serve_http if conn.proto == "http" else serve_uwsgi
        conn.fresh = False
        try:
            keep = handler(conn, self.ctx, core)
        except Exception as exc:  # noqa: BLE001 - a bug must cost one connection, never the worker
            log(f"worker {self.ctx.wid}: internal error serving {conn.addr}: {exc!r}")
            keep = False
        except BaseException:
            self._drop(conn)
            raise
        if keep and not self.ctx.stopping:
            self._park(conn)
        else:
            self._drop(conn)

    def _dispatch(self, conn: Conn) -> None:
        if self.threads == 1:
            self.busy = 1
            try:
                self._serve(conn, 0)
            finally:
                self.busy = 0
            self._after_request()
            return
        with self.lock:
            self.busy += 1
            if self.busy >= self.threads:
                self._listen(False)
        self.work.put(conn)

    def _pool_thread(self, core: int) -> None:
        work = self.work
        while True:
            conn = work.get()
            if conn is None:
                return
            try:
                self._serve(conn, core)
            except Exception as exc:  # noqa: BLE001 - never lose a thread to a bug
                log(f"worker {self.ctx.wid} core {core}: {exc!r}")
            with self.lock:
                self.busy -= 1
                if not self.ctx.stopping and self.listeners:
                    self._listen(True)
            self._after_request()
            if self.ctx.stopping:
                try:
                    os.write(self.wake_fd, b"x")  # let the main loop see that we are done
                except OSError:
                    pass

    def _after_request(self) -> None:
        ctx = self.ctx
        if ctx.max_requests and ctx.requests >= ctx.max_requests and not ctx.stopping:  # noqa: SIM102 - per-request code, kept as written
            if time.monotonic() - self.born >= self.min_lifetime:
                log(f"...The work of process {os.getpid()} is done (max requests {ctx.max_requests}). Seeya!")
                ctx.stopping = True


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
