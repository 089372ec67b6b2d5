"""Listening sockets: parse uWSGI address forms, bind once, hand them down across reloads.

Address forms (uWSGI's): ``host:port``, ``:port`` (all IPv4 interfaces), ``[::1]:port``,
``/path/x.sock`` or ``./x.sock`` (unix), ``@name`` (Linux abstract unix socket).

Every listener carries its protocol (``uwsgi`` or ``http``), because any number of sockets of any
kind may be bound at once and each keeps its own protocol.

Across a graceful reload the master re-executes itself; the listening fds are inherited and named
in the ``SATRAP__LISTEN_FDS`` environment variable (``proto|address=fd;...``), so the new image
adopts them instead of binding again: no connection is ever refused during a reload.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import socket
import stat
from dataclasses import dataclass, field
from typing import Any

from satrap.errors import ConfigError

INHERIT_ENV = "SATRAP__LISTEN_FDS"
PROTOCOLS = ("uwsgi", "http")


@dataclass
class Listener:
    """One bound listening socket and what it speaks."""

    sock: socket.socket
    address: str  # as the user wrote it; the key used to match inherited fds
    proto: str
    unix_path: str | None = None  # filesystem path of a unix socket we created (for vacuum)
    role: str = "worker"  # "worker": the workers accept on it; "router": the --http router does
    host: str = ""
    port: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """How a reloading master names the fd it hands down (role-qualified for gateways)."""
        return f"{self.proto}|{self.address}" if self.role == "worker" else f"{self.role}|{self.address}"

    def describe(self) -> str:
        if self.sock.family == socket.AF_UNIX:
            name = self.sock.getsockname()
            shown = self.address if self.address != "on-demand" else f"{name} (on demand, from the Emperor)"
            return f"UNIX address {shown}"
        return f"TCP address {self.display_address()}"

    def display_address(self) -> str:
        if self.sock.family == socket.AF_INET6:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def has_listeners(cfg: Any, environ: dict[str, str]) -> bool:
    return (bool(listener_specs(cfg)) or bool(router_specs(cfg)) or bool(getattr(cfg, "fastrouter", None))
            or environ.get("SATRAP__ON_DEMAND_FD", "").isdigit())


def listener_specs(cfg: Any) -> list[tuple[str, str]]:
    """(address, protocol) for every socket option, in the order uWSGI binds them."""
    default_proto = (cfg.protocol or "uwsgi").lower()
    if default_proto not in PROTOCOLS:
        raise ConfigError(
            f"protocol = {cfg.protocol}: satrap speaks 'uwsgi' and 'http' "
            "(use protocol = http for HTTP on a --socket)")
    specs: list[tuple[str, str]] = []
    for addr in cfg.socket:
        specs.append((addr, default_proto))
    for addr in cfg.uwsgi_socket:
        specs.append((addr, "uwsgi"))
    for addr in cfg.http_socket:
        specs.append((addr, "http"))
    if not _router_available():
        specs.extend((addr, "http") for addr in cfg.http)  # no router: workers serve --http
    return specs


def _router_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("satrap.router.process") is not None
    except ImportError:
        return False


def router_specs(cfg: Any) -> list[str]:
    """``--http`` addresses: served by the router process, not by the workers."""
    return list(cfg.http) if _router_available() else []


def router_upstream(listeners: list[Listener]) -> str | None:
    """Where the router sends requests: the first uwsgi-protocol worker socket, as uWSGI does."""
    for lst in listeners:
        if lst.role == "worker" and lst.proto == "uwsgi":
            if lst.unix_path:
                return lst.unix_path
            if lst.address.startswith("@"):
                return lst.address
            return lst.display_address()
    return None


def _is_unix(address: str) -> bool:
    return address.startswith("@") or "/" in address or address.endswith(".sock") or ":" not in address


def parse_inet(address: str) -> tuple[socket.AddressFamily, str, int]:
    """``host:port`` → (family, host, port). ``:port`` means every IPv4 interface, as in uWSGI."""
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise ConfigError(f"socket address '{address}' has no port: write host:port, :port or a unix path")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"socket address '{address}': port '{port_text}' is not a number") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"socket address '{address}': port {port} is out of range")
    if host.startswith("[") and host.endswith("]"):
        return socket.AF_INET6, host[1:-1], port
    if host in ("", "*"):
        return socket.AF_INET, "0.0.0.0", port
    if ":" in host:
        return socket.AF_INET6, host, port
    return socket.AF_INET, host, port


def _chmod_mode(value: Any) -> int | None:
    if value in (None, False, ""):
        return None
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return 0o666  # uWSGI: bare --chmod-socket is 666 "for lazy and brave users"
    try:
        return int(text, 8)
    except ValueError:
        raise ConfigError(f"chmod-socket = {value}: expected an octal mode such as 660") from None


def _chown(path: str, spec: str) -> None:
    user, _, group = spec.partition(":")
    try:
        uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
        gid = -1
        if group:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError as exc:
        raise ConfigError(f"chown-socket = {spec}: unknown user or group {exc}") from None
    os.chown(path, uid, gid)


def _clear_stale_unix(path: str) -> None:
    """Remove a socket file left by a dead server; refuse to touch a live one or a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ConfigError(f"unix socket path {path} exists and is not a socket: remove it or choose another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        os.unlink(path)  # nobody listens there: a stale file from an earlier run
        return
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise ConfigError(f"unix socket {path} is in use by another running server")


def bind(address: str, proto: str, cfg: Any) -> Listener:
    backlog = int(cfg.listen or 100)
    if _is_unix(address):
        if address.startswith("@"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind("\0" + address[1:])
            sock.listen(backlog)
            return Listener(sock, address, proto)
        path = os.path.abspath(address)
        _clear_stale_unix(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot bind unix socket {path}: {exc.strerror}") from None
        mode = _chmod_mode(getattr(cfg, "chmod_socket", None))
        if mode is not None:
            os.chmod(path, mode)
        if getattr(cfg, "chown_socket", None):
            _chown(path, cfg.chown_socket)
        sock.listen(backlog)
        return Listener(sock, address, proto, unix_path=path)
    family, host, port = parse_inet(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if getattr(cfg, "reuse_port", False):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(f"cannot bind {proto} socket {address}: {reason}") from None
    if not getattr(cfg, "no_defer_accept", False) and hasattr(socket, "TCP_DEFER_ACCEPT"):
        # as uWSGI does: accept() returns only once the client has sent something, so a worker
        # is never woken for a connection it then has to park, and port scanners cost nothing
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, max(1, int(cfg.socket_timeout or 4)))
    sock.listen(backlog)
    bound = sock.getsockname()
    return Listener(sock, address, proto, host=bound[0], port=bound[1])


def _adopt(fd: int, address: str, proto: str) -> Listener:
    sock = socket.socket(fileno=fd)
    lst = Listener(sock, address, proto)
    if sock.family == socket.AF_UNIX:
        name = sock.getsockname()
        if isinstance(name, str) and name:
            lst.unix_path = name
    else:
        bound = sock.getsockname()
        lst.host, lst.port = bound[0], bound[1]
    return lst


def inherited_fds(environ: dict[str, str]) -> dict[str, int]:
    """Listening fds handed down by a reloading master, by ``proto|address``."""
    text = environ.get(INHERIT_ENV, "")
    found: dict[str, int] = {}
    for item in filter(None, text.split(";")):
        key, _, fd = item.rpartition("=")
        if key and fd.isdigit():
            found[key] = int(fd)
    return found


ON_DEMAND_ENV = "SATRAP__ON_DEMAND_FD"


def open_listeners(cfg: Any, environ: dict[str, str]) -> list[Listener]:
    """Bind every configured socket, adopting inherited fds where the address matches.

    An on-demand vassal gets its listening socket from the Emperor (``SATRAP__ON_DEMAND_FD``);
    it speaks the vassal's ``protocol`` (uwsgi unless set), as uWSGI's fd-0 sockets do, and it
    takes the place of a configured socket at the same unix path if there is one."""
    inherited = inherited_fds(environ)
    environ.pop(INHERIT_ENV, None)
    listeners: list[Listener] = []
    specs = listener_specs(cfg)
    routed = router_specs(cfg)
    if routed and not any(proto == "uwsgi" for _, proto in specs):
        # uWSGI binds 127.0.0.1:0 for its router; an abstract unix socket is faster and needs
        # no cleanup. The name keeps the master's pid, which a reload does not change.
        specs.append((f"@satrap-http-{os.getpid()}", "uwsgi"))
    on_demand = environ.get(ON_DEMAND_ENV, "")
    if on_demand.isdigit():
        proto = (cfg.protocol or "uwsgi").lower()
        inherited.pop(f"{proto}|on-demand", None)  # the same fd, handed down by a reload
        lst = _adopt(int(on_demand), "on-demand", proto)
        lst.unix_path = None  # the Emperor owns the file
        path = lst.sock.getsockname() if lst.sock.family == socket.AF_UNIX else None
        specs = [(a, p) for a, p in specs if not (path and os.path.abspath(a) == path)]
        listeners.append(lst)
    try:
        for address, proto in specs:
            key = f"{proto}|{address}"
            if key in inherited:
                listeners.append(_adopt(inherited.pop(key), address, proto))
            else:
                listeners.append(bind(address, proto, cfg))
        for role, proto, addresses in (("router", "http", routed),
                                       ("fastrouter", "uwsgi", getattr(cfg, "fastrouter", None) or [])):
            for address in addresses:
                key = f"{role}|{address}"
                lst = _adopt(inherited.pop(key), address, proto) if key in inherited else bind(address, proto, cfg)
                lst.role = role
                listeners.append(lst)
    except BaseException:
        for lst in listeners:
            lst.sock.close()
        raise
    for fd in inherited.values():  # sockets dropped from the config by this reload
        try:
            os.close(fd)
        except OSError:
            pass
    return listeners


def export_listeners(listeners: list[Listener]) -> str:
    """Mark the fds inheritable and return the value of ``SATRAP__LISTEN_FDS`` for the re-exec."""
    parts = []
    for lst in listeners:
        os.set_inheritable(lst.sock.fileno(), True)
        parts.append(f"{lst.key}={lst.sock.fileno()}")
    return ";".join(parts)


def is_loopback(lst: Listener) -> bool:
    if lst.sock.family == socket.AF_UNIX:
        return True
    return lst.host.startswith("127.") or lst.host in ("::1", "localhost")
