"""The stats server: a daemon thread of the master answering on ``--stats ADDR``.

Protocol, as uWSGI's: a client connects and receives one JSON document, then EOF (this is what
``uwsgitop`` and most exporters expect). With ``--stats-http`` the document is wrapped in an
HTTP/1.0 response. satrap also answers HTTP on a plain stats socket when the client's first bytes
are an HTTP request line, so a browser or Prometheus can use the same address:

- ``/``          the self-contained HTML status page (:mod:`satrap.stats.page`)
- ``/metrics``   Prometheus text exposition (:mod:`satrap.stats.prom`)
- ``/history``   ``{"interval": s, "samples": [[epoch, total_requests], ...]}`` (the page's chart)
- anything else the JSON document (``Access-Control-Allow-Origin: *``, as uWSGI)

Threads: one acceptor thread (which also samples the request total once a second for
``/history``), and one short-lived thread per connection so a slow or silent client (browsers
pre-connect) never delays another reader. Nothing here touches the master's state except through
the ``view`` callable, which only copies.
"""

from __future__ import annotations

import collections
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from satrap.log import log
from satrap.stats import page, prom
from satrap.stats.client import fetch, parse_address
from satrap.stats.snapshot import SnapshotBuilder, dumps

_PLAIN_WAIT = 0.05  # how long a plain-socket client may take to show it speaks HTTP
_HTTP_WAIT = 2.0
_MAX_HEAD = 8192
_MAX_CLIENTS = 32
_METHODS = (b"GET ", b"HEAD ", b"POST ", b"OPTIONS ")


class StatsServer:
    """``StatsServer(address, view, http=False)``; ``start()``, ``fileno()``, ``close()``."""

    def __init__(self, address: str, view: Callable[[], dict[str, Any]], http: bool = False, *,
                 minified: bool = False, cores: bool = True, sample_interval: float = 1.0,
                 history_seconds: float = 600.0) -> None:
        self.address = str(address)
        self.view = view
        self.http = http
        self.minified = minified
        self.cores = cores
        self.sample_interval = sample_interval
        self.history: collections.deque[tuple[float, int]] = collections.deque(
            maxlen=max(2, int(history_seconds / sample_interval)))
        self._builder = SnapshotBuilder()
        self._sample_last: dict[Any, tuple[int, int]] = {}
        self._served_total = 0
        self._slots = threading.BoundedSemaphore(_MAX_CLIENTS)
        self._unix_path: str | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._bind()

    # -- lifecycle ---------------------------------------------------------------------------
    def _bind(self) -> None:
        """Bind now, so a bad address is reported at start-up; a failure leaves the server off
        (logged) rather than taking the master and its workers down."""
        family, where = parse_address(self.address)
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if family == socket.AF_UNIX:
                if isinstance(where, str) and not where.startswith("\0"):
                    where = os.path.abspath(where)
                    _unlink_stale(where)
                    self._unix_path = where
            else:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET and where[0] in ("", "0.0.0.0") and self.address.startswith(":"):
                    where = ("0.0.0.0", where[1])
            sock.bind(where)
            sock.listen(64)
        except OSError as err:
            sock.close()
            self._unix_path = None
            log(f"*** unable to bind the stats server on {self.address}: {err.strerror or err} ***")
            return
        self._sock = sock

    def start(self) -> None:
        if self._sock is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="satrap-stats", daemon=True)
        self._thread.start()

    def fileno(self) -> int:
        return self._sock.fileno() if self._sock is not None else -1

    def bound_address(self) -> str:
        """The address clients should use (resolves ``:0`` to the chosen port)."""
        if self._sock is None:
            return self.address
        name = self._sock.getsockname()
        if isinstance(name, tuple):
            return f"{name[0]}:{name[1]}"
        if isinstance(name, bytes):
            return "@" + name[1:].decode()
        return name

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(2.0)
        if self._sock is not None:
            self._sock.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._unix_path:
            try:
                os.unlink(self._unix_path)
            except OSError:
                pass

    # -- acceptor ----------------------------------------------------------------------------
    def _run(self) -> None:
        assert self._sock is not None
        sel = selectors.DefaultSelector()
        sel.register(self._sock, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        next_sample = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    self._sample()
                    next_sample = now + self.sample_interval
                for key, _ in sel.select(max(0.0, next_sample - time.monotonic())):
                    if key.data == "wake":
                        return
                    self._accept()
        finally:
            sel.close()

    def _accept(self) -> None:
        assert self._sock is not None
        try:
            conn, _ = self._sock.accept()
        except OSError:
            return
        if not self._slots.acquire(blocking=False):
            conn.close()  # too many readers at once: refuse rather than queue without bound
            return
        threading.Thread(target=self._serve_guarded, args=(conn,), name="satrap-stats-conn",
                         daemon=True).start()

    def _serve_guarded(self, conn: socket.socket) -> None:
        try:
            with conn:
                self._serve(conn)
        except Exception as err:  # noqa: BLE001 - a stats reader must never take the master down
            log(f"stats server: {type(err).__name__}: {err}")
        finally:
            self._slots.release()

    # -- data --------------------------------------------------------------------------------
    def _view(self) -> dict[str, Any]:
        """The master's view, retried once: it copies live dicts without a lock and may race
        with a respawn (RuntimeError: dictionary changed size)."""
        try:
            return self.view()
        except RuntimeError:
            return self.view()

    def document(self) -> dict[str, Any]:
        return self._builder.build(self._view(), cores=self.cores)

    def _sample(self) -> None:
        """Append the monotonic served-requests total (survives worker respawns) to history."""
        try:
            view = self._view()
        except Exception:  # noqa: BLE001 - sampling is best effort
            return
        for w in view.get("workers", ()):
            key = w.get("id")
            pid, requests = int(w.get("pid", 0) or 0), int(w.get("requests", 0) or 0)
            last_pid, last_req = self._sample_last.get(key, (pid, 0))
            self._served_total += requests - last_req if (pid == last_pid and requests >= last_req) else requests
            self._sample_last[key] = (pid, requests)
        self.history.append((time.time(), self._served_total))

    def metrics(self, doc: dict[str, Any]) -> str:
        instances: list[tuple[dict[str, str], dict[str, Any]]] = [({}, doc)]
        for v in doc.get("vassals", ()) or ():
            addr = v.get("stats")
            if not addr:
                continue
            try:
                instances.append(({"vassal": str(v.get("id", ""))}, fetch(str(addr), timeout=1.0)))
            except (OSError, ValueError):
                continue
        return prom.render(instances)

    # -- one connection ----------------------------------------------------------------------
    def _serve(self, conn: socket.socket) -> None:
        head = _read_head(conn, _HTTP_WAIT if self.http else _PLAIN_WAIT)
        if not head.startswith(_METHODS):
            if self.http:
                self._respond(conn, "GET", "/json")
            else:
                conn.sendall(dumps(self.document(), self.minified))
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace").split()
        method = line[0] if line else "GET"
        path = line[1].split("?", 1)[0] if len(line) > 1 else "/"
        self._respond(conn, method, path)

    def _respond(self, conn: socket.socket, method: str, path: str) -> None:
        doc = self.document()
        if path in ("/", "/index.html"):
            body, ctype = page.render(doc, self._title(doc)), "text/html; charset=utf-8"
        elif path == "/metrics":
            body, ctype = self.metrics(doc).encode("utf-8"), prom.CONTENT_TYPE
        elif path == "/history":
            import json

            samples = [[round(t, 3), n] for t, n in list(self.history)]
            body = json.dumps({"interval": self.sample_interval, "samples": samples}).encode()
            ctype = "application/json"
        else:
            body, ctype = dumps(doc, self.minified), "application/json"
        head = (f"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: {ctype}\r\n"
                f"Access-Control-Allow-Origin: *\r\nCache-Control: no-store\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
        conn.sendall(head if method == "HEAD" else head + body)

    def _title(self, doc: dict[str, Any]) -> str:
        if "vassals" in doc:
            return f"Emperor (pid {doc.get('pid', 0)}) on {self.address}"
        return f"instance (pid {doc.get('pid', 0)}) on {self.address}"


def _read_head(conn: socket.socket, wait: float) -> bytes:
    """The client's request head if it sends one within ``wait`` seconds, else b"" (a plain
    stats reader sends nothing and just reads)."""
    conn.settimeout(wait)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < _MAX_HEAD:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
            if not data.startswith(_METHODS) and len(data) >= 8:
                break
            conn.settimeout(_HTTP_WAIT)  # it speaks: give it time to finish the head
    except (TimeoutError, OSError):
        pass
    conn.settimeout(5.0)
    return data


def _unlink_stale(path: str) -> None:
    """Remove a leftover socket file (not a regular file: that is a mistake worth an error)."""
    import stat

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(st.st_mode):
        os.unlink(path)
