"""Write the nginx side of a deployment from the same config satrap runs with.

Every uWSGI tutorial ends with a hand-written ``server { ... uwsgi_pass ...; }`` block that must
agree with the ``socket`` line of the ini file; when they disagree, the symptom is a 502 or
uWSGI's "invalid request block size" (HTTP sent to a uwsgi socket). Generating the block from the
config removes that class of mistake.

Output is a *fragment* for nginx's ``http {}`` context (e.g. a file in ``sites-enabled/`` or
``conf.d/``): one ``server`` block per :class:`Site`. It relies on nginx's stock ``uwsgi_params``
file being next to ``nginx.conf``, as every distribution package installs it.

Address mapping: ``:8000`` and ``0.0.0.0:8000`` are bind-all addresses for satrap but nginx must
connect somewhere, so they become ``127.0.0.1:8000`` (``[::]`` → ``[::1]``); unix socket paths
become ``unix:/abs/path``. Abstract (``@name``) and inherited (``=fd``) sockets cannot be
reached by path, so they are refused with a one-line message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from satrap.errors import ConfigError

__all__ = ["Site", "render_nginx", "sites_from_config", "sites_from_emperor", "nginx_upstream"]

PROTOCOLS = ("uwsgi", "http")

_PROXY_HEADERS = (
    ("Host", "$host"),
    ("X-Real-IP", "$remote_addr"),
    ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
    ("X-Forwarded-Proto", "$scheme"),
)


@dataclass(frozen=True)
class Site:
    """One nginx ``server`` block in front of one satrap socket.

    ``upstream`` is a satrap socket address as written in the config (``host:port``, ``:port``,
    ``[::1]:port`` or a unix socket path); ``static`` maps URL prefixes to directories that
    nginx serves itself, as uWSGI's ``static-map`` would.
    """

    server_name: str
    upstream: str
    listen: str = "80"
    protocol: str = "uwsgi"
    static: list[tuple[str, str]] = field(default_factory=list)


def nginx_upstream(address: str) -> str:
    """A satrap socket address → what nginx connects to (see module doc)."""
    address = address.strip()
    if not address:
        raise ConfigError("nginx: empty socket address")
    if address.startswith("@"):
        raise ConfigError(f"nginx: socket {address} is an abstract unix socket, which nginx "
                          "cannot connect to; use a filesystem path such as /run/app.sock")
    if address.startswith("="):
        raise ConfigError(f"nginx: socket {address} is an inherited file descriptor; "
                          "give nginx the address that descriptor is bound to")
    if address.startswith("unix:"):
        address = address[len("unix:"):]
        return "unix:" + os.path.abspath(address)
    if "/" in address or ":" not in address:
        return "unix:" + os.path.abspath(address)
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise ConfigError(f"nginx: socket address '{address}' has no numeric port")
    if host in ("", "*", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("[::]", "[::0]"):
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


_NEEDS_QUOTES = re.compile(r"[\s;{}#'\"\\]")


def _arg(value: str) -> str:
    """One nginx directive argument, quoted when it holds characters nginx would split on."""
    if value and not _NEEDS_QUOTES.search(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _location_prefix(prefix: str) -> str:
    prefix = "/" + prefix.strip().strip("/")
    return prefix if prefix == "/" else prefix + "/"


def _render_site(site: Site) -> list[str]:
    if site.protocol not in PROTOCOLS:
        raise ConfigError(f"nginx: protocol '{site.protocol}' for {site.server_name}: "
                          "expected 'uwsgi' or 'http'")
    upstream = nginx_upstream(site.upstream)
    lines = ["server {",
             f"    listen {site.listen};",
             f"    server_name {site.server_name or '_'};"]
    app_location = "/"
    for prefix, directory in site.static:
        location = _location_prefix(prefix)
        target = os.path.abspath(directory).rstrip("/") + "/"
        if location == "/":
            # static-map = /=dir: files first, the app for everything else (uWSGI's order)
            app_location = "@satrap"
            lines += ["",
                      "    location / {",
                      f"        root {_arg(target)};",
                      "        try_files $uri @satrap;",
                      "    }"]
            continue
        lines += ["",
                  f"    location {_arg(location)} {{",
                  f"        alias {_arg(target)};",
                  "    }"]
    lines += ["", f"    location {app_location} {{"]
    if site.protocol == "uwsgi":
        lines += ["        include uwsgi_params;",
                  f"        uwsgi_pass {_arg(upstream)};"]
    else:
        lines.append(f"        proxy_pass {_arg('http://' + upstream)};")
        lines += [f"        proxy_set_header {name} {value};" for name, value in _PROXY_HEADERS]
    lines += ["    }", "}"]
    return lines


def render_nginx(sites: Iterable[Site]) -> str:
    """nginx config text: one ``server { ... }`` per site, valid inside ``http { }``."""
    blocks = ["\n".join(_render_site(site)) for site in sites]
    header = "# generated by satrap: include this file inside nginx's http { } block\n"
    return header + "\n\n".join(blocks) + "\n"


def _listof(cfg: Any, name: str) -> list[str]:
    value = getattr(cfg, name, None)
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def sites_from_config(cfg: Any, server_name: str | None = None) -> list[Site]:
    """The site(s) nginx needs in front of this satrap config.

    nginx talks to the first uwsgi-protocol socket when there is one (``uwsgi-socket``, or
    ``socket`` with the default ``protocol``), since that is what ``uwsgi_pass`` is for;
    otherwise it proxies HTTP to the first ``socket`` with ``protocol = http``, ``http-socket``
    or ``http``. ``static-map = /prefix=dir`` entries become ``alias`` locations.
    """
    protocol = (getattr(cfg, "protocol", None) or "uwsgi").lower()
    if protocol not in PROTOCOLS:
        raise ConfigError(f"nginx: protocol = {protocol}: satrap speaks 'uwsgi' and 'http'")
    uwsgi_sockets = _listof(cfg, "uwsgi_socket")
    http_sockets = _listof(cfg, "http_socket")
    (uwsgi_sockets if protocol == "uwsgi" else http_sockets)[:0] = _listof(cfg, "socket")
    http_sockets += _listof(cfg, "http")
    if uwsgi_sockets:
        upstream, chosen = uwsgi_sockets[0], "uwsgi"
    elif http_sockets:
        upstream, chosen = http_sockets[0], "http"
    else:
        raise ConfigError("nginx: the config binds no socket for nginx to talk to: "
                          "add socket = 127.0.0.1:3031 (or a unix path) first")
    static = []
    for spec in _listof(cfg, "static_map"):
        prefix, sep, directory = spec.partition("=")
        if not sep or not directory:
            raise ConfigError(f"static-map = {spec}: expected /prefix=/directory")
        chdir = getattr(cfg, "chdir", None)
        if chdir and not os.path.isabs(directory):
            directory = os.path.join(chdir, directory)  # satrap serves it from there too
        static.append((prefix, directory))
    return [Site(server_name=server_name or "_", upstream=upstream, protocol=chosen,
                 static=static)]


# -- an Emperor: one server block per vassal ----------------------------------------------------------
#: custom keys a vassal file may carry to name its site (uWSGI ignores unknown keys; so do vassals)
SERVER_NAME_KEYS = ("server-name", "server_name", "domain")


def _vassal_custom_value(path: str, keys: Iterable[str] = SERVER_NAME_KEYS) -> str | None:
    """The last value of one of ``keys`` in the vassal file's ``[uwsgi]`` section (raw, unexpanded
    but for ``%(other-key)`` references to keys of the same file), or None."""
    from satrap.config import placeholders as ph
    from satrap.config.ini import parse_ini
    from satrap.config.jsonconf import parse_json
    from satrap.config.xmlconf import parse_xml
    from satrap.config.yamlconf import parse_yaml

    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext in (".yml", ".yaml"):
            entries, _ = parse_yaml(text, path)
        elif ext in (".json", ".js"):
            entries, _ = parse_json(text, path)
        elif ext == ".xml":
            entries, _ = parse_xml(text, path)
        else:
            entries, _, _ = parse_ini(text.lstrip("\ufeff"), path)
    except Exception:  # noqa: BLE001 - a file the vassal itself would refuse: no custom name from it
        return None
    wanted = set(keys)
    table: dict[str, str] = {}
    found = None
    for entry in entries:
        if entry.value is None:
            continue
        table.setdefault(entry.key, entry.value)
        if entry.key in wanted:
            found = entry.value
    if found is None:
        return None
    found = ph.expand_refs(found, table).strip()
    return found or None


def _vassal_environ(environ: Any) -> dict[str, str]:
    """What a vassal's config loader sees: the Emperor's environment as it hands it on."""
    from satrap.emperor.emperor import vassal_env
    from satrap.emperor.wire import EMPEROR_FD_ENV, ON_DEMAND_FD_ENV

    env = vassal_env(environ, -1, None)
    env.pop(EMPEROR_FD_ENV, None)
    env.pop(ON_DEMAND_FD_ENV, None)
    return env


def sites_from_emperor(cfg: Any, listen: str = "80", environ: Any = None,
                       skipped: list[str] | None = None) -> list[Site]:
    """One :class:`Site` per vassal file of an Emperor config (``emperor = DIR`` or a glob).

    Each vassal is loaded as the Emperor would start it (``--set`` for every ``vassal-set``, its
    own file, its own directory for relative paths). ``server_name`` comes from a ``server-name``
    (or ``domain``) custom key in the vassal file, else the file name without its extension. The
    upstream is the vassal's on-demand socket when the Emperor has ``emperor-on-demand-directory``
    / ``-extension``, else its own socket. A vassal that cannot be loaded or binds nothing nginx
    can reach is left out, with a reason appended to ``skipped``."""
    from satrap.config import load_config
    from satrap.emperor import scanner
    from satrap.emperor.emperor import on_demand_socket_path, vassal_argv, vassal_templates
    from satrap.errors import SatrapError

    env = _vassal_environ(os.environ if environ is None else environ)
    vassal_set = _listof(cfg, "vassal_set")
    templates = vassal_templates(cfg)
    sites: list[Site] = []
    for path in sorted(scanner.listing(_listof(cfg, "emperor"))):
        directory = os.path.dirname(path)
        name = os.path.splitext(os.path.basename(path))[0]
        server_name = _vassal_custom_value(path) or name
        argv = vassal_argv((), path, vassal_set, *templates)
        try:
            vcfg = load_config(argv, env)
            demand = on_demand_socket_path(cfg, path)
            if demand:
                protocol = (getattr(vcfg, "protocol", None) or "uwsgi").lower()
                if protocol not in PROTOCOLS:
                    raise ConfigError(f"nginx: protocol = {protocol}: satrap speaks 'uwsgi' and 'http'")
                site = Site(server_name=server_name, upstream=demand, protocol=protocol)
            else:
                site = sites_from_config(vcfg, server_name)[0]
        except SatrapError as err:
            if skipped is not None:
                skipped.append(f"{path}: {err}")
            continue
        upstream = site.upstream
        if not upstream.startswith(("@", "=")) and ("/" in upstream or ":" not in upstream):
            plain = upstream.removeprefix("unix:")
            upstream = os.path.normpath(os.path.join(directory, plain))  # the vassal's cwd
        static = [(prefix, os.path.join(directory, d)) for prefix, d in site.static]
        sites.append(replace(site, upstream=upstream, listen=listen, static=static))
    return sites
