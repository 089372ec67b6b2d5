"""The node side of subscriptions: ``subscribe-to`` and ``subscribe2``.

The master owns one :class:`Subscriber`; it calls :meth:`Subscriber.tick` from its loop (a few
times a second: an announce goes out every ``subscribe-freq`` seconds, the first one at once) and
:meth:`Subscriber.goodbye` at shutdown (one unsubscribe datagram per target).

Value forms (uWSGI's ``uwsgi_subscribe`` / ``uwsgi_subscribe2``):

* ``subscribe-to = [ADDR=]SERVER:KEY[,MODIFIER1[,SIGN]]`` where SERVER is ``host:port`` (UDP) or a
  unix datagram socket path starting with ``/`` (then the first ``:`` ends it), ADDR overrides the
  announced address, and a KEY of ``@FILE`` reads keys from FILE (one ``key[,modifier1]`` per line,
  ``#`` comments), re-read at each announce.
* ``subscribe2 = server=S,key=K[,addr=A][,weight=W][,modifier1=M][,modifier2=M][,check=FILE]``;
  while FILE exists the target is not announced (uWSGI's maintenance switch).

The announced address is this instance's first uwsgi socket (for an on-demand vassal: the socket
the Emperor handed over), written so another process can connect to it: a unix socket by its
absolute path, a TCP socket with the port it really got.

``subscription-notify-socket = PATH`` (else ``notify-socket``) is sent along as ``notify``: the
subscription server acknowledges a new node with a datagram there. :class:`NotifyListener` is the
master's end of such a path: it logs each datagram as ``[notify-socket] ...`` (uWSGI's line).
For ``notify-socket`` it binds the path as uWSGI does; for ``subscription-notify-socket`` only
when no other process listens there (uWSGI leaves that path to whoever reads it, often the
Emperor's ``notify-socket``: that process must keep receiving).
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from satrap.errors import ConfigError
from satrap.fastrouter.subscription import MAX_NOTIFY, Subscription, encode_subscription
from satrap.log import log
from satrap.net.listeners import parse_inet

__all__ = ["NotifyListener", "Subscriber", "Target", "announce_address", "notify_path", "parse_subscribe2",
           "parse_subscribe_to"]


@dataclass(frozen=True)
class Target:
    """One subscription this instance keeps alive."""

    server: str
    key: str  # "@/path" = keys read from a file
    modifier1: int = 0
    modifier2: int = 0
    address: str | None = None  # None: this instance's first uwsgi socket
    weight: int | None = None
    check: str | None = None
    signed: bool = False
    source: str = ""  # the option value, for log lines


def _int(text: str, what: str, value: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ConfigError(f"{what} = {value}: '{text}' is not a number") from None
    if not 0 <= n <= 255 and what != "weight":
        raise ConfigError(f"{what} = {value}: modifiers are 0..255")
    return n


def parse_subscribe_to(value: str) -> Target:
    """``[addr=]server:key[,modifier1[,sign]]`` (ConfigError when it has no key)."""
    text = value.strip()
    address = None
    eq = text.find("=")
    if eq > 0:
        address, text = text[:eq], text[eq + 1:]
    if text.startswith("/"):
        colon = text.find(":", 1)
    else:
        port = text.find(":")
        colon = text.find(":", port + 1) if port >= 0 else -1
    if colon <= 0 or colon == len(text) - 1:
        raise ConfigError(f"subscribe-to = {value}: expected server:key (server = host:port or /unix/path)")
    server, rest = text[:colon], text[colon + 1:]
    key, _, tail = rest.partition(",")
    modifier1 = 0
    signed = False
    if tail:
        m1, _, sign = tail.partition(",")
        modifier1 = _int(m1, "subscribe-to", value) if m1 else 0
        signed = bool(sign)
    return Target(server, key, modifier1, 0, address, None, None, signed, value)


def parse_subscribe2(value: str) -> Target:
    """``server=...,key=...[,addr=,weight=,modifier1=,modifier2=,check=,socket=,sign=]``."""
    items: dict[str, str] = {}
    for part in value.split(","):
        k, eq, v = part.partition("=")
        if not eq:
            raise ConfigError(f"subscribe2 = {value}: '{part}' is not key=value")
        items[k.strip()] = v.strip()
    if not items.get("server") or not items.get("key"):
        raise ConfigError(f"subscribe2 = {value}: server= and key= are required")
    unknown = set(items) - {"server", "key", "addr", "weight", "modifier1", "modifier2", "check", "sign",
                            "socket", "sni_key", "sni_crt", "sni_ca"}
    if unknown:
        raise ConfigError(f"subscribe2 = {value}: unknown key(s) {', '.join(sorted(unknown))}")
    return Target(items["server"], items["key"], _int(items.get("modifier1", "0"), "subscribe2", value),
                  _int(items.get("modifier2", "0"), "subscribe2", value), items.get("addr") or None,
                  _int(items["weight"], "weight", value) if items.get("weight") else None,
                  items.get("check") or None, bool(items.get("sign")), value)


def targets_of(cfg: Any) -> list[Target]:
    out = [parse_subscribe_to(v) for v in getattr(cfg, "subscribe_to", None) or []]
    out += [parse_subscribe2(v) for v in getattr(cfg, "subscribe2", None) or []]
    return out


def announce_address(cfg: Any, listeners: Sequence[Any] = ()) -> str | None:
    """Where nodes should send this instance's requests: its first uwsgi-protocol worker socket."""
    for lst in listeners:
        if getattr(lst, "role", "worker") != "worker" or lst.proto != "uwsgi":
            continue
        sock = lst.sock
        if sock.family == socket.AF_UNIX:
            name = sock.getsockname()
            if isinstance(name, bytes):
                return "@" + name[1:].decode("latin-1") if name[:1] == b"\0" else name.decode()
            if name.startswith("\0"):
                return "@" + name[1:]
            return name or lst.unix_path or lst.address
        return lst.display_address()
    default = (getattr(cfg, "protocol", None) or "uwsgi").lower()
    candidates = [a for a in getattr(cfg, "socket", None) or [] if default == "uwsgi"]
    candidates += list(getattr(cfg, "uwsgi_socket", None) or [])
    for addr in candidates:
        if addr.startswith("@") or ":" in addr and "/" not in addr:
            return addr
        return os.path.abspath(addr)
    return None


class _Sender:
    """Datagram sockets (one per family), non-blocking, opened on first use."""

    def __init__(self) -> None:
        self.socks: dict[int, socket.socket] = {}

    def send(self, server: str, data: bytes) -> None:
        if server.startswith(("/", "@", ".")) or ":" not in server:
            family, dest = socket.AF_UNIX, ("\0" + server[1:] if server.startswith("@") else server)
        else:
            family, host, port = parse_inet(server)
            dest = (host, port)  # type: ignore[assignment]
        sock = self.socks.get(family)
        if sock is None:
            sock = self.socks[family] = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                                                      | socket.SOCK_CLOEXEC)
        sock.sendto(data, dest)

    def close(self) -> None:
        for sock in self.socks.values():
            sock.close()
        self.socks.clear()


def notify_path(cfg: Any) -> str:
    """Where subscription servers should acknowledge this node ("" = nowhere), as an absolute
    path (the server does not share this instance's working directory)."""
    path = getattr(cfg, "subscription_notify_socket", None) or getattr(cfg, "notify_socket", None) or ""
    if path and not path.startswith("@"):
        path = os.path.abspath(path)
    return path


class NotifyListener:
    """A unix datagram socket whose messages go to the log (``notify-socket``)."""

    def __init__(self, sock: socket.socket, path: str) -> None:
        self.sock = sock
        self.path = path
        self.inode = 0
        if not path.startswith("@"):
            try:
                self.inode = os.stat(path).st_ino
            except OSError:
                pass

    @classmethod
    def open(cls, path: str, only_if_free: bool) -> NotifyListener | None:
        """Bind ``path`` (a stale socket file is replaced); None, with a log line, when it cannot
        be bound -- or, with ``only_if_free``, when a live process already listens there."""
        target = "\0" + path[1:] if path.startswith("@") else path
        if not path.startswith("@") and os.path.lexists(path):
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as probe:
                try:
                    probe.connect(target)
                except OSError as exc:
                    if exc.errno != errno.ECONNREFUSED:
                        log(f"notify socket {path}: {exc.strerror or exc}; not listening there")
                        return None
                    try:
                        if stat.S_ISSOCK(os.lstat(path).st_mode):
                            os.unlink(path)  # stale: its owner is gone
                    except OSError:
                        pass
                else:
                    if only_if_free:
                        log(f"subscription acknowledgements go to the process listening on {path}")
                        return None
                    log(f"notify socket {path}: another process listens there; not binding it")
                    return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        try:
            sock.bind(target)
        except OSError as exc:
            sock.close()
            log(f"notify socket {path}: cannot bind: {exc.strerror or exc}; acknowledgements will not be logged")
            return None
        log(f"notification socket enabled on {path} (fd: {sock.fileno()})")
        return cls(sock, path)

    def fileno(self) -> int:
        return self.sock.fileno()

    def drain(self) -> list[str]:
        """Every datagram waiting, as text."""
        out = []
        for _ in range(64):
            try:
                data = self.sock.recv(8192)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            out.append(data.decode("utf-8", "replace").rstrip("\n"))
        return out

    def close(self) -> None:
        """Close, and remove the socket file unless another process re-bound the path meanwhile."""
        self.sock.close()
        if self.inode:
            try:
                if os.stat(self.path).st_ino == self.inode:
                    os.unlink(self.path)
            except OSError:
                pass


class Subscriber:
    """Announces this instance to every ``subscribe-to`` / ``subscribe2`` server."""

    def __init__(self, cfg: Any, listeners: Sequence[Any] = (), address: str | None = None) -> None:
        self.targets = targets_of(cfg)
        self.freq = max(1, int(getattr(cfg, "subscribe_freq", 10) or 10))
        cores = max(1, int(getattr(cfg, "processes", 1) or 1)) * max(1, int(getattr(cfg, "threads", 1) or 1))
        self.cores = cores
        self.weight = cores if getattr(cfg, "auto_weight", False) else max(1, int(getattr(cfg, "weight", 1) or 1))
        self.address = address or announce_address(cfg, listeners)
        self.notify = notify_path(cfg)
        self.next_at = 0.0
        self.sender = _Sender()
        self.errors: dict[str, str] = {}  # target source -> last error logged (log on change only)
        self.started = False
        for t in self.targets:
            if t.signed:
                log(f"subscribe: {t.source}: signed subscriptions are not implemented, announcing unsigned")

    def __bool__(self) -> bool:
        return bool(self.targets)

    def tick(self, now: float) -> int:
        """Announce when due; returns the number of datagrams sent."""
        if not self.targets or now < self.next_at:
            return 0
        self.next_at = now + self.freq
        sent = self._send_all(unsubscribe=False)
        self.started = True
        return sent

    def goodbye(self) -> int:
        """Withdraw every subscription (at shutdown)."""
        if not self.targets or not self.started:
            self.sender.close()
            return 0
        sent = self._send_all(unsubscribe=True)
        self.sender.close()
        return sent

    def subscriptions(self, target: Target) -> list[Subscription]:
        address = target.address or self.address
        if not address:
            return []
        keys: list[tuple[str, int]]
        if target.key.startswith("@"):
            try:
                with open(target.key[1:], encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                return []
            keys = []
            for line in lines:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                k, _, m1 = line.partition(",")
                keys.append((k.strip(), int(m1) if m1.strip().isdigit() else target.modifier1))
        else:
            keys = [(target.key, target.modifier1)]
        weight = target.weight if target.weight is not None else self.weight
        return [Subscription(key=k, address=address, modifier1=m1 & 0xFF, modifier2=target.modifier2,
                             cores=self.cores, load=0, weight=max(1, weight),
                             notify=self.notify if len(self.notify) <= MAX_NOTIFY else "")
                for k, m1 in keys if k]

    def _send_all(self, unsubscribe: bool) -> int:
        sent = 0
        for target in self.targets:
            if target.check and os.path.exists(target.check):
                continue
            subs = self.subscriptions(target)
            if not subs:
                self._problem(target, "nothing to announce (no uwsgi socket, or no key)")
                continue
            verb = "unsubscribing from" if unsubscribe else "subscribing to"
            if unsubscribe or not self.started:
                log(f"{verb} {target.source} ({subs[0].address})")
            try:
                for sub in subs:
                    if unsubscribe:
                        sub = Subscription(**{**sub.__dict__, "unsubscribe": True})
                    self.sender.send(target.server, encode_subscription(sub))
                    sent += 1
            except (OSError, ValueError, ConfigError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                if isinstance(exc, OSError) and exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
                    reason = "no subscription server there yet"
                self._problem(target, f"{target.server}: {reason}")
            else:
                if target.source in self.errors:
                    log(f"subscribe: {target.source}: announcing again")
                    del self.errors[target.source]
        return sent

    def _problem(self, target: Target, reason: str) -> None:
        if self.errors.get(target.source) != reason:
            self.errors[target.source] = reason
            log(f"subscribe: {target.source}: {reason}")
