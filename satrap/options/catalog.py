"""THE option table: every option satrap knows, as data.

Two layers, both data:

* ``_SATRAP_ROWS``: options satrap implements or treats specially, with satrap's own help text.
* every other uWSGI option name from :mod:`satrap.options.uwsgi_names`, given a support status by
  the first matching rule in ``_STATUS_RULES`` (prefix -> status, category, reason). Options whose
  absence is harmless (log niceties, tuning knobs) are "noop"; those whose absence changes what the
  app sees or weakens security are "unsupported", so the user is told rather than surprised.

``all_options()`` builds every row; ``REGISTRY`` looks them up by any spelling. The registry keeps
only the rows a running server reads (satrap's own, and uWSGI's that satrap implements) and builds
the rest on demand: they are 0.5 MB that every worker would otherwise share for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .convert import ConvertError, to_int, to_size
from .registry import Option, Registry

_NOOP_PY = "satrap runs the app in the one main interpreter, which is what this controls"
_LATER_PM = "process-model feature not implemented yet"


def _o(name: str, kind: str, default: Any, help: str, category: str, **kw: Any) -> Option:
    aliases = kw.pop("aliases", ())
    if isinstance(aliases, str):
        aliases = tuple(aliases.split())
    implies = kw.pop("implies", ())
    if isinstance(implies, str):
        implies = tuple(implies.split())
    return Option(name=name, kind=kind, default=default, help=help, category=category,
                  aliases=tuple(aliases), implies=tuple(implies), **kw)


def _noop(name: str, kind: str, reason: str, category: str, **kw: Any) -> Option:
    return _o(name, kind, kw.pop("default", None), kw.pop("help", ""), category,
              support="noop", reason=reason, **kw)


def _todo(name: str, kind: str, reason: str, category: str, **kw: Any) -> Option:
    return _o(name, kind, kw.pop("default", None), kw.pop("help", ""), category,
              support="unsupported", reason=reason, **kw)


M = "master"


def _ext_command(raw: str | None) -> str:
    """``cgi-helper`` values are ext=command: refused when the config is read, as uWSGI does."""
    ext, sep, command = (raw or "").partition("=")
    if not sep or not ext.strip() or not command.strip():
        raise ConvertError("ext=command (e.g. .py=python3)")
    return raw or ""


def _modifier(raw: str | None) -> int:
    """A uwsgi packet modifier: one byte."""
    value = to_int(raw)
    if not 0 <= value <= 255:
        raise ConvertError("a uwsgi modifier (0-255)")
    return value


#: hook phases satrap runs (satrap.hooks.run_phase is called there); the rest stay unsupported
HOOK_PHASES = ("asap", "pre-jail", "post-jail", "as-root", "as-user", "pre-app", "post-app", "post-fork",
               "master-start", "accepting", "as-user-atexit")
_FATAL_EXEC = "; a non-zero exit stops the start"


def _hook_rows() -> tuple[Option, ...]:
    rows: list[Option] = []
    for phase in HOOK_PHASES:
        fatal = "" if phase == "as-user-atexit" else _FATAL_EXEC
        rows.append(_o(f"hook-{phase}", "list", (), f"action:args run at the {phase} phase (exec:, safeexec:, "
                       f"mkdir:, cd:, write:, unlink:, print:, call:, unix_signal: ...){fatal}", "hooks"))
        if phase not in ("post-fork", "master-start", "accepting"):
            rows.append(_o(f"exec-{phase}", "list", (), f"shell command run at the {phase} phase{fatal}", "hooks"))
            rows.append(_o(f"call-{phase}", "list", (), f"Python callable (module.func) called at the {phase} phase",
                           "hooks"))
    for phase, when, fate, kinds in _EMPEROR_HOOK_PHASES:
        rows.append(_o(f"hook-{phase}", "list", (), f"action:args run {when}{fate}", "emperor"))
        rows.append(_o(f"exec-{phase}", "list", (), f"shell command run {when}{fate}"
                       + ("" if "exec" in kinds else " (a satrap addition: uWSGI has only hook-)"), "emperor"))
        rows.append(_o(f"call-{phase}", "list", (), f"Python callable (module.func) called {when}"
                       + ("" if "call" in kinds else " (a satrap addition)"), "emperor"))
    for name, args, when in (("call-as-emperor1", "(name)", "in the Emperor after a vassal was spawned"),
                             ("call-as-emperor2", "(name, pid)", "in the Emperor after a vassal was spawned"),
                             ("call-as-emperor4", "(name, pid, uid, gid)", "in the Emperor after a vassal was spawned"),
                             ("call-as-vassal1", "(name)", "in a vassal's process before it starts satrap"),
                             ("call-as-vassal3", "(name, uid, gid)", "in a vassal's process before it starts satrap")):
        rows.append(_o(name, "list", (), f"Python callable (module.func) called {when} with {args} "
                       "(uid/gid: the owner of the vassal's file)", "emperor"))
    return tuple(rows)


#: the Emperor's phases (satrap.hooks.run_phase_for, called by satrap.emperor and a vassal's master):
#: (phase, when, fatal or not, the forms uWSGI has besides hook-)
_EMPEROR_HOOK_PHASES = (
    ("emperor-start", "in the Emperor when it starts, before its first scan", "; fatal: the Emperor exits 1", ()),
    ("emperor-stop", "in a vassal's master when its Emperor tells it to stop", "; non-fatal", ()),
    ("emperor-reload", ("in a vassal's master when its Emperor tells it to reload (file touched, Emperor "
                        "SIGHUP)"), "; non-fatal", ()),
    ("emperor-lost", "in a vassal's master when its link to the Emperor breaks", "; non-fatal", ()),
    ("as-emperor", ("in the Emperor after each vassal spawn (exec- sees UWSGI_VASSAL_CONFIG, UWSGI_VASSAL_PID, "
                    "UWSGI_VASSAL_UID, UWSGI_VASSAL_GID)"), "; non-fatal: one log line, the vassal keeps running",
     ("exec", "call")),
    ("as-vassal", "in a vassal's process (its directory and environment) before it starts satrap",
     "; fatal for that vassal only: it exits 1 and is respawned with the back-off", ("exec", "call")),
    ("as-on-demand-vassal", ("in the Emperor when a vassal enters on-demand mode (UWSGI_HOOK_CONTEXT = its "
                             "name)"), "; a failure drops that vassal until the next scan", ()),
)


_ROUTE_SUBJECTS = ("", "-host", "-uri", "-qs", "-remote-addr", "-user-agent", "-remote-user", "-referer")


def _route_rows() -> tuple[Option, ...]:
    rows: list[Option] = []
    for chain, when in (("route", "before the app"), ("response-route", "on the app's response headers")):
        for subj in _ROUTE_SUBJECTS:
            what = {"": "PATH_INFO", "-host": "HTTP_HOST", "-uri": "REQUEST_URI", "-qs": "QUERY_STRING",
                    "-remote-addr": "REMOTE_ADDR", "-user-agent": "HTTP_USER_AGENT",
                    "-remote-user": "REMOTE_USER", "-referer": "HTTP_REFERER"}[subj]
            rows.append(_o(f"{chain}{subj}", "list", (), f"'regexp action:args' matched against {what} {when}",
                           "routing", expand=True))
        rows.append(_o(f"{chain}-if", "list", (), f"'cond:args action:args' {when} (equal:, startswith:, "
                       "endswith:, regexp:, contains:, empty:, isfile:, isdir: ...)", "routing"))
        rows.append(_o(f"{chain}-if-not", "list", (), f"like {chain}-if with the condition negated", "routing"))
        rows.append(_o(f"{chain}-label", "list", (), f"a label in the {chain} chain (target of goto:)", "routing"))
        rows.append(_o(f"{chain}-run", "list", (), f"an action run unconditionally {when}", "routing"))
    rows.append(_o("response-route-status", "list", (), "'regexp action:args' matched against the response status",
                   "routing"))
    return tuple(rows)


_HOOK_ROWS = _hook_rows()
_ROUTE_ROWS = _route_rows()

_SATRAP_ROWS: tuple[Option, ...] = (
    # --- sockets --------------------------------------------------------------------------
    _o("socket", "list", (), "listen on this address (host:port, :port, /unix/path, @abstract) speaking --protocol",
       "sockets", short="s"),
    _o("uwsgi-socket", "list", (), "listen speaking the uwsgi protocol whatever --protocol says", "sockets"),
    _o("http-socket", "list", (), "listen speaking HTTP/1.1 directly in the workers", "sockets"),
    _o("http", "list", (), "public HTTP listener served by the \"http 1\" router process, which shields the "
       "workers from slow clients and passes each complete request to a free worker", "sockets"),
    _o("http-keepalive", "int", 0, "keep HTTP connections open between requests (seconds of idle allowed; 0 = as the client asks)", "sockets",
       bare="1"),
    _o("http-timeout", "int", 60, "seconds an HTTP client may stay silent before the connection is closed", "sockets"),
    _o("protocol", "str", "uwsgi", "protocol spoken on --socket listeners: uwsgi or http", "sockets",
       aliases="socket-protocol"),
    _o("listen", "int", 100, "listen backlog of every socket", "sockets", short="l"),
    _o("reuse-port", "bool", False, "set SO_REUSEPORT on TCP listeners", "sockets"),
    _o("chmod-socket", "str", None, "chmod unix sockets to this octal mode; bare means 666", "sockets",
       short="C", aliases="chmod", bare="666"),
    _o("chown-socket", "str", None, "chown unix sockets to user[:group]", "sockets"),
    _o("buffer-size", "int", 4096, "largest request head / uwsgi vars block accepted, in bytes", "sockets",
       short="b", convert=to_size),
    _o("limit-post", "int", 0, "refuse request bodies larger than this many bytes (0 = no limit)", "sockets",
       convert=to_size),
    _o("post-buffering", "int", 0, "read request bodies up to this size before calling the app (0 = stream)", "sockets",
       convert=to_size),
    _o("socket-timeout", "int", 4, "seconds a socket read/write may block", "sockets", short="z"),
    _o("uwsgi-allow", "list", (), "satrap: allow only these peer addresses (IP or CIDR) on uwsgi-protocol sockets",
       "sockets", satrap_only=True),
    _o("dynamic-apps", "bool", False, "satrap: obey uWSGI's magic UWSGI_* vars in uwsgi packets (off: ignore them)",
       "sockets", satrap_only=True),
    # --- app loading -----------------------------------------------------------------------
    _o("module", "str", None, "import this WSGI module (pkg.mod or pkg.mod:callable)", "app", short="w", aliases="wsgi"),
    _o("callable", "str", "application", "name of the WSGI callable in the module or file", "app"),
    _o("wsgi-file", "str", None, "load the WSGI app from this .py/.wsgi file", "app", aliases="file"),
    _o("chdir", "str", None, "chdir here before loading the app", "app"),
    _o("chdir2", "str", None, "chdir here after loading the app", "app"),
    _o("pythonpath", "list", (), "prepend this directory (or glob) to sys.path; repeatable", "app",
       aliases="python-path pp"),
    _o("virtualenv", "str", None, "use this virtualenv's site-packages", "app", short="H", aliases="venv home pyhome"),
    _o("env", "list", (), "set KEY=VALUE in the environment; repeatable", "app"),
    _o("unenv", "list", (), "remove this variable from the environment; repeatable", "app"),
    _o("need-app", "bool", False, "exit at once (code 22) when the app cannot be loaded", "app"),
    _o("mount", "list", (), "mount an app at a prefix: /prefix=module:callable or /prefix=file.py; repeatable", "app"),
    _o("manage-script-name", "bool", False, "split PATH_INFO into SCRIPT_NAME by the longest mount prefix", "app"),
    _o("lazy-apps", "bool", False, "load the app in every worker after fork instead of once before", "app"),
    _o("lazy", "bool", False, "uWSGI's older lazy mode; satrap treats it as lazy-apps", "app"),
    _noop("single-interpreter", "bool", "satrap never uses sub-interpreters", "app", short="i",
          help="never create sub-interpreters"),
    _noop("enable-threads", "bool", "threads always work in satrap (the GIL is always initialised)", "app",
          short="T", help="let the app start its own threads"),
    _o("plugin", "list", (), "load uWSGI plugins (python/http are built in; others are reported)", "app",
       aliases="plugins", immediate=True),
    # --- processes -------------------------------------------------------------------------
    _o("master", "bool", False, "run a master process that supervises the workers", "processes", short="M"),
    _o("processes", "int", 1, "number of worker processes", "processes", short="p", aliases="workers"),
    _o("threads", "int", 1, "threads per worker", "processes", implies="enable-threads"),
    _noop("thunder-lock", "bool", "satrap's workers wait on the listening sockets with EPOLLEXCLUSIVE: the kernel "
          "wakes one idle worker per connection, which is the herd thunder-lock exists to tame", "processes"),
    _o("harakiri", "int", 0, "kill a worker whose request runs longer than this many seconds (0 = off)",
       "processes", short="t"),
    _o("offload-threads", "int", 0, "threads per worker that stream offloaded responses (the sse/sseraw routing "
       "actions of uWSGI's sse_offload plugin) so the worker is free at once; started on first use "
       "(0: the stream runs in the worker thread, which waits for it)", "processes", aliases="offload-thread"),
    _o("max-requests", "int", 0, "recycle a worker after this many requests (0 = never)", "processes", short="R"),
    _o("min-worker-lifetime", "int", 10, "seconds a worker must live before max-requests/reload-on-rss recycle it", "processes"),
    _o("limit-as", "int", 0, "limit the address space (RLIMIT_AS) of the master and every process it starts "
       "to this many megabytes (0 = no limit)", "processes"),
    _o("reload-on-rss", "int", 0, "recycle a worker whose RSS exceeds this many megabytes (0 = never)", "processes"),
    _o("worker-reload-mercy", "int", 60, "seconds a stopping worker gets before it is killed", "processes"),
    _o("reload-mercy", "int", 0, "seconds to wait for children on reload/shutdown (0 = built-in)", "processes"),
    _o("die-on-term", "bool", False, "SIGTERM stops the master instead of reloading it", "processes"),
    _o("vacuum", "bool", False, "remove unix sockets and pidfiles on exit", "processes"),
    _o("pidfile", "str", None, "write the master pid here (before dropping privileges)", "processes"),
    _o("pidfile2", "str", None, "write the master pid here (after dropping privileges)", "processes"),
    _o("uid", "str", None, "setuid to this user (name or number) after binding", "processes"),
    _o("gid", "str", None, "setgid to this group (name or number) after binding", "processes"),
    _o("daemonize", "str", None, "detach and log to this file", "processes", short="d"),
    _o("procname", "str", None, "process title of every process", "processes", implies="auto-procname"),
    _o("procname-prefix", "str", None, "prefix every process title", "processes", implies="auto-procname"),
    _o("procname-prefix-spaced", "str", None, "prefix every process title, followed by a space", "processes",
       implies="auto-procname"),
    _o("procname-append", "str", None, "append this to every process title", "processes", implies="auto-procname"),
    _o("auto-procname", "bool", False, "give processes descriptive titles (master, worker N)", "processes"),
    _o("py-autoreload", "int", 0, "check Python modules every N seconds and reload when one changes (dev)", "processes",
       aliases="python-autoreload py-auto-reload python-auto-reload", implies="master enable-threads"),
    _o("touch-reload", "list", (), "gracefully reload when this file's mtime changes; repeatable", "processes",
       implies=M),
    _o("touch-workers-reload", "list", (), "reload only the workers (all at once) when this file is touched",
       "processes", implies=M),
    _o("touch-chain-reload", "list", (), "chain-reload the workers (one at a time, each after its successor "
       "accepts) when this file is touched; use with lazy-apps", "processes", implies=M),
    _o("gevent", "int", 0, "uWSGI's gevent async cores: satrap has no gevent loop and runs this many "
       "threads per worker instead (at most 64), with a warning", "processes"),
    _o("server-name", "str", None, "satrap nginx: the server_name of this app's server block (default: the "
       "vassal file's name)", "nginx", aliases="domain"),
    _o("attach-daemon", "list", (), "run this shell command beside the workers; the master respawns it "
       "when it dies and stops it (SIGTERM) with the instance", "processes", implies=M),
    _o("touch-logreopen", "list", (), "re-open the log file (after logrotate renamed it) when this file is "
       "touched; SIGUSR2 to the master and the master-fifo command l do the same", "logging", implies=M),
    _o("cheaper", "int", 0, "adaptive workers: keep at least this many running (must be below processes; "
       "0 = off); more are spawned while all are busy", "processes", implies=M),
    _o("cheaper-initial", "int", 0, "workers started at boot in cheaper mode (default: cheaper)", "processes"),
    _o("cheaper-step", "int", 1, "workers added at once when all are busy", "processes"),
    _o("cheaper-overload", "int", 3, "seconds all workers must be busy (or one idle) before one is added "
       "(or stopped)", "processes"),
    _o("cheaper-algo", "str", "spare", "cheaper algorithm: satrap implements spare (others run as spare)",
       "processes"),
    _o("master-fifo", "list", (), "named pipe(s) taking one-letter master commands (r reload, q graceful stop, "
       "Q quick stop, c chain reload, w reload workers, s stats, + one worker more, - one less)", "processes",
       implies=M),
    _o("stop", "str", None, "stop the instance whose pidfile is given, then exit", "control"),
    _o("reload", "str", None, "gracefully reload the instance whose pidfile is given, then exit", "control"),
    _o("spooler", "list", (), "run a spooler process on this directory (tasks from uwsgi.spool and @spool); "
       "repeatable", "tasks", short="Q", implies=M),
    _o("spooler-frequency", "int", 30, "seconds between rescans of a spooler directory for tasks to retry "
       "(new tasks start at once)", "tasks", aliases="spooler-freq"),
    _o("spooler-import", "list", (), "import this module (or .py file) in the spooler process", "tasks",
       aliases="spooler-py-import"),
    _o("spooler-chdir", "str", None, "chdir here before running each spooler task", "tasks"),
    _o("spooler-quiet", "bool", False, "do not log each spooler task", "tasks"),
    _o("spooler-max-tasks", "int", 0, "recycle the spooler after this many tasks (0 = never)", "tasks"),
    _noop("spooler-ordered", "bool", "satrap's spooler always runs tasks in file-name order", "tasks"),
    _o("spooler-processes", "int", 1, "spooler processes per spooler directory (tasks are locked while they "
       "run, so each runs once)", "tasks"),
    _o("idle", "int", 0, "after this many idle seconds stop the workers until the next connection", "processes",
       implies=M),
    _o("die-on-idle", "bool", False, "with idle: exit instead of going cheap", "processes"),
    # --- logging ---------------------------------------------------------------------------
    _o("disable-logging", "bool", False, "do not log requests", "logging", short="L"),
    _o("logto", "str", None, "send logs to this file", "logging"),
    _o("logto2", "str", None, "send logs to this file (opened after dropping privileges)", "logging"),
    _o("log-format", "str", None, "request log line format with %(var) request variables", "logging",
       aliases="logformat", expand=False),
    _o("log-4xx", "bool", False, "log requests answered 4xx even with disable-logging", "logging"),
    _o("log-5xx", "bool", False, "log requests answered 5xx even with disable-logging", "logging"),
    _o("log-slow", "int", 0, "log requests slower than this many milliseconds even with disable-logging", "logging"),
    _o("log-zero", "bool", False, "log requests with an empty response body even with disable-logging", "logging"),
    _o("log-big", "int", 0, "log responses of at least this many body bytes even with disable-logging", "logging"),
    _o("log-micros", "bool", False, "report the request time of the default log line in microseconds", "logging"),
    _o("log-x-forwarded-for", "bool", False, "log the X-Forwarded-For header as the client address", "logging"),
    _o("stats", "str", None, "serve JSON stats on this address", "stats", aliases="stats-server", implies=M),
    _o("stats-http", "bool", False, "wrap the stats JSON in an HTTP response", "stats", implies=M),
    # --- static files ----------------------------------------------------------------------
    _o("static-map", "list", (), "serve /prefix=/docroot files before the app; repeatable", "static"),
    _o("static-index", "list", (), "file names tried when a static path is a directory", "static"),
    _o("static-expires", "list", (), "regexp seconds: Expires header for matching static files", "static"),
    _o("static-expires-uri", "list", (), "regexp seconds: Expires header for matching request URIs", "static"),
    _o("static-check", "list", (), "serve files from this docroot when they exist (as static-map /=DIR); "
       "uWSGI's check-static", "static", aliases="check-static"),
    _o("static-map2", "list", (), "like static-map, but the whole request path is looked up under the docroot", "static"),
    _o("static-expires-mtime", "list", (), "regexp seconds: Expires = file mtime + seconds for matching files", "static"),
    _o("static-expires-uri-mtime", "list", (), "regexp seconds: Expires = file mtime + seconds for matching URIs", "static"),
    _o("static-expires-path-info", "list", (), "regexp seconds: Expires header for matching PATH_INFO", "static"),
    _o("static-expires-path-info-mtime", "list", (), "regexp seconds: Expires = mtime + seconds for matching PATH_INFO",
       "static"),
    _o("static-expires-type", "list", (), "mime=seconds: Expires header for static files of this type", "static"),
    _o("static-expires-type-mtime", "list", (), "mime=seconds: Expires = file mtime + seconds for this type", "static"),
    _o("static-safe", "list", (), "directory static files may resolve into (through symlinks) besides the docroot",
       "static"),
    _o("static-skip-ext", "list", (), "never serve static files with this extension (they go to the app)", "static"),
    _o("static-gzip-all", "bool", False, "serve FILE.gz instead of FILE to clients accepting gzip", "static"),
    _o("static-gzip-dir", "list", (), "serve FILE.gz instead of FILE under this directory to clients accepting gzip",
       "static", aliases="static-gzip-prefix"),
    _noop("static-cache-paths", "int", "satrap resolves a static path with one realpath and one stat per request; "
          "there is no path cache to size", "static"),
    _noop("static-cache-paths-name", "str", "satrap keeps no static path cache", "static"),
    # --- emperor ---------------------------------------------------------------------------
    _o("emperor", "list", (), "run the Emperor watching this directory (or glob) of vassal configs", "emperor"),
    _o("vassal-set", "list", (), "key=value passed to every vassal as --set", "emperor", aliases="vassals-set"),
    _o("emperor-tyrant", "bool", False, "run each vassal as the owner of its config file", "emperor"),
    _o("emperor-throttle", "int", 1000, "milliseconds between respawns of a failing vassal", "emperor"),
    _o("emperor-on-demand-directory", "str", None, "start a vassal only when its socket in this directory gets a connection",
       "emperor", aliases="emperor-on-demand-dir"),
    _o("emperor-on-demand-extension", "str", None, "socket file extension for on-demand vassals", "emperor",
       aliases="emperor-on-demand-ext"),
    _o("emperor-stats", "str", None, "serve the Emperor's JSON stats (vassals) on this address", "emperor",
       aliases="emperor-stats-server"),
    _o("emperor-max-throttle", "int", 180000, "longest respawn back-off of a failing vassal, in milliseconds",
       "emperor"),
    _o("vassals-include", "list", (), "config file every vassal loads after its own (--include FILE after the "
       "vassal's config, as uWSGI)", "emperor"),
    _o("vassals-include-before", "list", (), "config file every vassal loads before its own (--include FILE)",
       "emperor"),
    _o("vassals-inherit", "list", (), "template every vassal inherits after its own config (--inherit FILE)",
       "emperor"),
    _o("vassals-inherit-before", "list", (), "template every vassal inherits before its own config "
       "(--inherit FILE)", "emperor"),
    # --- fastrouter and subscriptions (satrap.fastrouter) ----------------------------------
    _o("fastrouter", "list", (), "uwsgi-protocol listener of the \"fastrouter 1\" process: each request goes to a "
       "node picked by its key (UWSGI_FASTROUTER_KEY, else HTTP_HOST)", "routers"),
    _o("fastrouter-subscription-server", "list", (), "where the fastrouter takes subscriptions: a UDP host:port "
       "or a unix datagram socket path; nodes announce themselves there with subscribe-to", "routers"),
    _o("fastrouter-use-base", "list", (), "route key K to the unix socket DIR/K (no subscription needed)",
       "routers"),
    _o("fastrouter-use-pattern", "list", (), "route key K to the address made from this pattern (%s = K)",
       "routers"),
    _o("fastrouter-to", "list", (), "send every request to these nodes in turn, whatever its key", "routers"),
    _o("fastrouter-timeout", "int", 60, "seconds the fastrouter waits on a silent client or node", "routers"),
    _o("fastrouter-quiet", "bool", False, "do not log requests for unknown keys or dead nodes", "routers"),
    _o("subscription-tolerance", "int", 17, "seconds a subscribed node stays routable without a new announce",
       "cluster"),
    _o("subscribe-to", "list", (), "[addr=]server:key[,modifier1]: announce this instance's first uwsgi socket "
       "for key to a subscription server (UDP host:port or unix datagram path), every subscribe-freq seconds",
       "cluster", aliases="st subscribe", implies=M),
    _o("subscribe2", "list", (), "server=...,key=...[,addr=...,weight=...,modifier1=...,modifier2=...,check=FILE]: "
       "the key=value form of subscribe-to", "cluster", implies=M),
    _o("subscribe-freq", "int", 10, "seconds between two subscription announces", "cluster"),
    _o("subscription-notify-socket", "str", None, "unix datagram path sent with each announce: the subscription "
       "server acknowledges a new node there; the master logs the acknowledgements as [notify-socket] lines "
       "(binding the path only when no other process listens on it)", "cluster", implies=M),
    _o("notify-socket", "str", None, "unix datagram socket the master binds; each datagram received is logged "
       "as a [notify-socket] line (subscription acknowledgements come here when subscription-notify-socket "
       "is unset)", "cluster", implies=M),
    _o("weight", "int", 1, "this instance's weight in its subscription announces (load balancing)", "cluster"),
    _o("auto-weight", "bool", False, "announce processes x threads as this instance's weight", "cluster"),
    # --- config ----------------------------------------------------------------------------
    _o("ini", "list", (), "load an ini file (file.ini:section picks a section)", "config", immediate=True),
    _o("yaml", "list", (), "load a YAML file", "config", short="y", aliases="yml", immediate=True),
    _o("json", "list", (), "load a JSON file", "config", short="j", aliases="js", immediate=True),
    _o("xml", "list", (), "load an XML file", "config", short="x", immediate=True),
    _o("config", "list", (), "load a config file of any kind, picked by its extension", "config", immediate=True),
    _o("include", "list", (), "load a config file of any kind in place", "config", immediate=True),
    _o("inherit", "list", (), "load a config file as a template (its values can be overridden)", "config",
       immediate=True),
    _o("set", "list", (), "key=value: set an option or placeholder", "config", short="S", immediate=True),
    _o("set-placeholder", "list", (), "key=value: set a placeholder only", "config", aliases="set-ph", immediate=True),
    _o("declare-option", "list", (), "name=opt=value[;opt=value...]: declare a custom option; `name = a b` then sets "
       "each opt with $1, $2 ... the words of its value and $* all of it", "config", immediate=True),
    _o("declare-option2", "list", (), "like declare-option (uWSGI's non-immediate variant)", "config"),
    # --- hooks (satrap.hooks) ---------------------------------------------------------------
    *_HOOK_ROWS,
    # --- internal routing (satrap.routing) -------------------------------------------------
    *_ROUTE_ROWS,
    _o("add-header", "list", (), "add this 'Name: value' header to every response", "routing"),
    _o("del-header", "list", (), "remove this header (by name) from every response", "routing",
       aliases="rem-header"),
    _o("collect-header", "list", (), "'Header VAR': store a response header in a routing variable "
       "(${VAR} in response-route rules)", "routing", aliases="response-header-collect"),
    _o("pull-header", "list", (), "'Header VAR': like collect-header, and remove the header from the response",
       "routing"),
    # --- cron (satrap.cron, run by the master) ---------------------------------------------
    _o("cron", "list", (), "'min hour mday month wday command': run command with /bin/sh from the master "
       "(-1 = any, -N = every N)", "tasks", implies=M),
    _o("unique-cron", "list", (), "like cron, but never start the command while its previous run is alive",
       "tasks", implies=M),
    _o("cron2", "list", (), "key=value cron: minute=,hour=,day=,month=,week=,unique=1 then the command",
       "tasks", implies=M),
    # --- CGI (satrap.app.cgi: uWSGI's cgi plugin, modifier1 9) ---------------------------
    _o("cgi", "list", (), "[mountpoint=]directory or script run as CGI (uWSGI's cgi plugin): without a WSGI "
       "app every request goes to it, beside one only modifier1 9 requests (nginx uwsgi_modifier1 9)", "cgi"),
    _o("cgi-map-helper", "list", (), "ext=command: run scripts ending in ext with this interpreter "
       "(.py=python3); they need not be executable", "cgi", aliases="cgi-helper", convert=_ext_command),
    _o("cgi-from-docroot", "bool", False, "look scripts up under the request's DOCUMENT_ROOT (from nginx) "
       "instead of the cgi directories", "cgi"),
    _o("cgi-buffer-size", "int", 65536, "largest CGI header block read from a script, in bytes (more: 502)",
       "cgi", convert=to_size),
    _o("cgi-timeout", "int", 60, "seconds a CGI script may stay silent; then its process group is killed "
       "(504 when nothing was sent yet)", "cgi"),
    _o("cgi-index", "list", (), "file name tried when a CGI URL is a directory; repeatable", "cgi"),
    _o("cgi-allowed-ext", "list", (), "run only scripts ending in this suffix (others: 403); repeatable", "cgi"),
    _o("cgi-unset", "list", (), "remove this variable from every CGI script's environment; repeatable", "cgi"),
    _todo("cgi-loadlib", "list", "it dlopen()s a C optimizer into uWSGI; satrap runs no C plugins, remove it",
          "cgi"),
    _o("cgi-optimize", "bool", False, "resolve the cgi paths once at start-up (they must exist then) instead "
       "of per request", "cgi", aliases="cgi-optimized"),
    _noop("cgi-path-info", "bool", "uWSGI's cgi plugin declares it but never reads it: PATH_INFO is always "
          "what follows the script in the URL", "cgi"),
    _o("cgi-do-not-kill-on-error", "bool", False, "leave a CGI script running when its client goes away or it "
       "fails (it is still waited for)", "cgi"),
    _noop("cgi-async-max-attempts", "int", "satrap has no async mode: a CGI script is always waited for at "
          "the end of its request", "cgi"),
    _o("cgi-close-stdin-on-eof", "bool", False, "close a CGI script's stdin after the request body; satrap "
       "always does, so a script reading to EOF never hangs", "cgi"),
    _o("cgi-safe", "list", (), "a CGI script whose real path starts with this prefix may lie outside the "
       "docroot (a symlink's target); repeatable", "cgi"),
    _o("cgi-dontresolve", "bool", False, "run a symlinked CGI script by its link path (argv[0], SCRIPT_NAME), "
       "not its target, after the checks on the target (OpenWrt's patch)", "cgi"),
    _noop("cgi-mode", "bool", "uWSGI's cgi-mode writes \"Status: NNN\" instead of an HTTP status line on uwsgi "
          "sockets; nginx reads both, so satrap always writes the status line", "cgi", short="c"),
    _o("http-socket-modifier1", "int", 0, "modifier1 of the requests on http-socket listeners: 9 sends them "
       "to the CGI gateway even when a WSGI app is configured", "sockets"),
    _o("http-modifier1", "int", 0, "modifier1 the --http router puts in the uwsgi packets it sends to the "
       "workers: 9 sends every request to the CGI gateway even when a WSGI app is configured", "sockets",
       convert=_modifier),
    _o("http-modifier2", "int", 0, "modifier2 the --http router puts in the uwsgi packets it sends to the "
       "workers (satrap's workers do not use it)", "sockets", convert=_modifier),
    _o("strict", "bool", False, "unknown keys in config files are errors, not warnings", "config"),
    _o("print-config", "bool", False, "satrap: print the effective config with where each value came from, and exit",
       "control", satrap_only=True),
    _o("help", "bool", False, "show this help and exit", "control", short="h", aliases="usage"),
    _o("version", "bool", False, "print the version and exit", "control"),
)

#: plugins whose job satrap does itself; anything else named in plugin= is reported as unsupported
BUILTIN_PLUGINS = frozenset({
    "python", "python3", "python2", "http", "router_static", "corerouter", "logfile", "syslog",
    "ping", "stats_pusher_file", "transformation_chunked", "transformation_gzip",
    "router_redirect", "router_rewrite", "cgi", "sse_offload", "fastrouter", "netlink",
})

# prefix, support, category, reason -- first match wins (longest/specific prefixes first)
_STATUS_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("if-", "unsupported", "config", "this config conditional is not supported yet"),
    ("for", "unsupported", "config", "this config loop is not supported yet"),
    ("end", "unsupported", "config", "this config block terminator is not supported yet"),
    ("log-route", "noop", "logging", "log routing is not implemented; logs go to stderr or logto"),
    ("log-encoder", "noop", "logging", "log encoders are not implemented; lines are logged as is"),
    ("log", "noop", "logging", "logging nicety not implemented; logs go to stderr or logto"),
    ("req-logger", "noop", "logging", "request loggers are not implemented; requests are logged to stderr or logto"),
    ("logger", "noop", "logging", "pluggable loggers are not implemented; logs go to stderr or logto"),
    ("memory-report", "noop", "logging", "memory reports are not logged by satrap"),
    ("stats", "noop", "stats", "stats tuning knob not implemented"),
    ("carbon", "noop", "stats", "metrics pushing is not implemented"),
    ("metric", "noop", "stats", "metrics subsystem is not implemented"),
    ("statsd", "noop", "stats", "metrics pushing is not implemented"),
    ("harakiri", "noop", "processes", "harakiri tuning knob not implemented; plain harakiri is"),
    ("cheaper", "noop", "processes", "adaptive process spawning is not implemented; all processes run"),
    ("reload-on", "noop", "processes", "this recycling trigger is not implemented; reload-on-rss is"),
    ("evil-reload", "noop", "processes", "this recycling trigger is not implemented; reload-on-rss is"),
    ("max-worker-lifetime", "noop", "processes", "time-based recycling is not implemented yet"),
    ("max-requests-delta", "noop", "processes", "per-worker max-requests skew is not implemented"),
    ("thunder-lock", "noop", "processes", "accept serialisation tuning is not needed by satrap"),
    ("close-on-exec", "noop", "processes", "satrap's sockets are already close-on-exec for the app's children"),
    ("catch-exceptions", "noop", "app", "tracebacks are logged, never sent to clients"),
    ("so-", "noop", "sockets", "socket tuning knob not implemented"),
    ("socket-", "noop", "sockets", "socket tuning knob not implemented"),
    ("tcp-", "noop", "sockets", "socket tuning knob not implemented"),
    ("listen-", "noop", "sockets", "socket tuning knob not implemented"),
    ("max-fd", "noop", "processes", "file descriptor limit is left to the OS"),
    ("buffer-", "noop", "sockets", "buffer tuning knob not implemented"),
    ("post-buffering-", "noop", "sockets", "buffer tuning knob not implemented"),
    ("body-read-warning", "noop", "sockets", "warning threshold not implemented"),
    ("procname", "noop", "processes", "process title knob not implemented"),
    ("master-as-root", "noop", "processes", "satrap's master keeps the privileges it was started with"),
    ("no-orphans", "noop", "processes", "satrap workers always exit when the master dies"),
    ("skip-atexit", "noop", "processes", "atexit handling knob not implemented"),
    ("vacuum", "noop", "processes", "cleanup knob not implemented"),
    ("memory", "noop", "processes", "memory tuning knob not implemented"),
    ("ksm", "noop", "processes", "kernel memory tuning not implemented"),
    ("cpu-affinity", "noop", "processes", "CPU pinning not implemented"),
    ("auto-weight", "noop", "processes", "subscription weights are not used by satrap"),
    ("py-tracebacker", "noop", "app", "the tracebacker socket is not implemented"),
    ("py-call-osafterfork", "noop", "app", "satrap already runs os.register_at_fork hooks"),
    ("py-", "unsupported", "app", "this Python plugin option is not implemented yet"),
    ("python-", "unsupported", "app", "this Python plugin option is not implemented yet"),
    ("wsgi-", "unsupported", "app", "this WSGI option is not implemented yet"),
    ("http-", "noop", "sockets", "uWSGI HTTP router knob satrap's router does not use"),
    ("https", "unsupported", "sockets", "TLS is not implemented; terminate TLS in a proxy in front of satrap"),
    ("ssl", "unsupported", "sockets", "TLS is not implemented; terminate TLS in a proxy in front of satrap"),
    ("sni", "unsupported", "sockets", "TLS is not implemented; terminate TLS in a proxy in front of satrap"),
    ("route", "unsupported", "routing", "request routing rules are not implemented; do this in the app or proxy"),
    ("final-route", "unsupported", "routing", "request routing rules are not implemented"),
    ("error-route", "unsupported", "routing", "request routing rules are not implemented"),
    ("response-route", "unsupported", "routing", "request routing rules are not implemented"),
    ("add-header", "unsupported", "routing", "response header rules are not implemented; add headers in the app"),
    ("del-header", "unsupported", "routing", "response header rules are not implemented"),
    ("collect-header", "unsupported", "routing", "response header rules are not implemented"),
    ("pull-header", "unsupported", "routing", "response header rules are not implemented"),
    ("static", "unsupported", "static", "this static-file option is not implemented yet"),
    ("spooler", "unsupported", "tasks", "the spooler is not implemented; use a task queue"),
    ("spool", "unsupported", "tasks", "the spooler is not implemented; use a task queue"),
    ("cron", "unsupported", "tasks", "cron tasks are not implemented; use the system cron"),
    ("unique-cron", "unsupported", "tasks", "cron tasks are not implemented; use the system cron"),
    ("legion", "unsupported", "cluster", "legions are not implemented"),
    ("attach-", "unsupported", "tasks", "attached daemons are not implemented; use a process supervisor"),
    ("smart-attach", "unsupported", "tasks", "attached daemons are not implemented; use a process supervisor"),
    ("mule", "unsupported", "tasks", "mules are not implemented"),
    ("farm", "unsupported", "tasks", "mule farms are not implemented"),
    ("hook-", "unsupported", "hooks", "hooks are not implemented; run the action before starting satrap"),
    ("exec-", "unsupported", "hooks", "exec hooks are not implemented; run the command before starting satrap"),
    ("call-", "unsupported", "hooks", "call hooks are not implemented"),
    ("mount-", "unsupported", "hooks", "mount hooks are not implemented"),
    ("umount-", "unsupported", "hooks", "umount hooks are not implemented"),
    ("emperor", "unsupported", "emperor", "this Emperor option is not implemented yet"),
    ("vassal", "unsupported", "emperor", "this Emperor option is not implemented yet"),
    ("subscribe", "unsupported", "cluster", "subscriptions are not implemented"),
    ("subscription", "unsupported", "cluster", "subscriptions are not implemented"),
    ("fastrouter", "unsupported", "routers", "the fastrouter is not implemented"),
    ("rawrouter", "unsupported", "routers", "the rawrouter is not implemented"),
    ("sslrouter", "unsupported", "routers", "the sslrouter is not implemented"),
    ("forkpty", "unsupported", "routers", "the forkptyrouter is not implemented"),
    ("zerg", "unsupported", "processes", "zerg mode is not implemented"),
    ("cache", "noop", "tasks", "satrap's uwsgi.cache_* functions always work (one shared cache per instance, "
                              "SQLite in shared memory): no cache needs declaring"),
    ("queue", "unsupported", "tasks", "the uWSGI queue framework is not implemented"),
    ("sharedarea", "unsupported", "tasks", "shared areas are not implemented"),
    ("signal", "unsupported", "tasks", "uWSGI signals are not implemented"),
    ("jail", "unsupported", "security", "jails are not implemented; use a container"),
    ("chroot", "unsupported", "security", "chroot is not implemented; use a container"),
    ("unshare", "unsupported", "security", "namespaces are not implemented; use a container"),
    ("namespace", "unsupported", "security", "namespaces are not implemented; use a container"),
    ("pivot", "unsupported", "security", "pivot_root is not implemented; use a container"),
    ("cap", "unsupported", "security", "capabilities are not implemented"),
    ("cgroup", "unsupported", "security", "cgroups are not implemented"),
    ("setns", "unsupported", "security", "namespaces are not implemented"),
    ("tuntap", "unsupported", "security", "tuntap is not implemented"),
    ("immediate-", "unsupported", "security", "immediate privilege drop is not implemented; use uid/gid"),
)

_PLUGIN_RULES: dict[str, tuple[str, str, str]] = {
    "python": ("unsupported", "app", "this Python plugin option is not implemented yet"),
    "http": ("noop", "sockets", "uWSGI HTTP router knob satrap's router does not use"),
    "cheaper_busyness": ("noop", "processes", "adaptive process spawning is not implemented; all processes run"),
    "carbon": ("noop", "stats", "metrics pushing is not implemented"),
    "stats_pusher_statsd": ("noop", "stats", "metrics pushing is not implemented"),
    "rsyslog": ("noop", "logging", "pluggable loggers are not implemented"),
    "logzmq": ("noop", "logging", "pluggable loggers are not implemented"),
    "zabbix": ("noop", "stats", "metrics pushing is not implemented"),
}

_LANG_PLUGINS = frozenset({
    "php", "rack", "psgi", "lua", "jvm", "mono", "pypy", "jwsgi", "ring", "gccgo", "mongrel2",
    "rbthreads", "fiber", "v8", "xslt", "webdav", "pty", "symcall", "ldap", "geoip", "sqlite3",
    "rrdtool", "glusterfs", "rados", "pam", "nagios", "notfound", "dumbloop", "curl_cron",
})
_ASYNC_PLUGINS = frozenset({"gevent", "asyncio", "greenlet", "ugreen", "tornado", "stackless", "coroae"})


#: logic keys the loader (satrap.config.logic) implements
IMPLEMENTED_LOGIC = frozenset({
    "if-env", "if-not-env", "if-exists", "if-not-exists", "if-file", "if-not-file", "if-dir",
    "if-not-dir", "if-directory", "if-opt", "if-not-opt", "if-reload", "if-not-reload", "if-hostname",
    "if-not-hostname", "if-plugin", "if-not-plugin", "for", "for-glob", "for-times", "for-readline",
    "endif", "end-if", "endfor", "end-for",
})


#: options whose absence is harmless in satrap, with why (checked before the prefix rules)
_NOOP_NAMES: dict[str, tuple[str, str]] = {
    "ignore-sigpipe": ("processes", "Python ignores SIGPIPE already: a client gone mid-response ends that "
                       "response, never the worker"),
    "ignore-write-errors": ("logging", "a client gone mid-response is logged as one line, not a traceback"),
    "disable-write-exception": ("app", "satrap never raises write errors into the app: the app's body is "
                                "written by the server after the app returns each chunk"),
    "reaper": ("processes", "satrap's master always reaps every child it started"),
    "no-default-app": ("app", "satrap only falls back to the app mounted at the root, which is what "
                       "no-default-app leaves"),
    "show-config": ("control", "use --print-config to see the effective config with where each value came from"),
    "no-defer-accept": ("sockets", "satrap does not set TCP_DEFER_ACCEPT"),
    "wsgi-disable-file-wrapper": ("app", "apps fall back to iterating when wsgi.file_wrapper is absent, so "
                                  "offering it changes nothing but speed"),
    "binary-path": ("emperor", "satrap's vassals run the same satrap as the Emperor"),
    "early-emperor": ("emperor", "satrap's Emperor starts once the config is read; there is no jail to start before"),
    "emperor-required-heartbeat": ("emperor", "vassal heartbeats are not checked; a vassal that dies is still "
                                   "respawned"),
    "unsubscribe-on-graceful-reload": ("cluster", "a graceful reload keeps the listening sockets open, so "
                                       "satrap's subscriptions stay valid across it; they are withdrawn at shutdown"),
    "cheap": ("processes", "workers are started at once instead of at the first connection"),
}


def _status_for(name: str, plugin: str) -> tuple[str, str, str]:
    if name in IMPLEMENTED_LOGIC:
        return ("yes", "config", "")
    if name in _NOOP_NAMES:
        category, reason = _NOOP_NAMES[name]
        return ("noop", category, reason)
    if plugin in _LANG_PLUGINS:
        return ("unsupported", "other-plugins", f"uWSGI's {plugin} plugin is not part of satrap (WSGI only)")
    if plugin in _ASYNC_PLUGINS:
        return ("unsupported", "other-plugins", f"the {plugin} loop engine is not implemented; use processes and threads")
    for prefix, support, category, reason in _STATUS_RULES:
        if name.startswith(prefix):
            return (support, category, reason)
    if plugin in _PLUGIN_RULES:
        return _PLUGIN_RULES[plugin]
    return ("unsupported", "uwsgi-other", "this uWSGI option is not implemented yet")


_FLAG_IMPLIES = {"master": "master", "threads": "enable-threads", "procname": "auto-procname"}


def _generated_rows(taken: set[str], shorts: set[str], lines: Iterable[str]) -> list[Option]:
    """A row for each line of uWSGI's option list whose names satrap has no row of its own for."""
    rows: list[Option] = []
    for line in lines:
        if not line.strip():
            continue
        spell, kind, short, flags, plugin = line.split("|")
        names: list[str] = []
        for n in spell.split():
            if n.replace("_", "-") not in taken:  # pivot_root/pivot-root are one spelling here
                taken.add(n.replace("_", "-"))
                names.append(n)
        if not names:
            continue
        name = names[0]
        short = short if short != "-" and short not in shorts else ""
        if short:
            shorts.add(short)
        support, category, reason = _status_for(name, plugin)
        flag_set = set(flags.split(",")) - {"-"}
        implies = tuple(_FLAG_IMPLIES[f] for f in sorted(flag_set) if f in _FLAG_IMPLIES and _FLAG_IMPLIES[f] != name)
        rows.append(Option(
            name=name, kind=kind, aliases=tuple(names[1:]), short=short, support=support, reason=reason,
            category=category, implies=implies, immediate="immediate" in flag_set,
            expand=not name.startswith(("route", "response-route", "final-route", "error-route", "log-", "logformat")),
            help=f"uWSGI option ({plugin})",
        ))
    return rows


#: the uWSGI rows a running server reads: every logic key (``if-*``, ``for*``, ``end*``: the loader
#: needs them all, and they are the only generated rows satrap implements), and the few uWSGI
#: options the code asks about although they have no row of their own (a test finds those)
_CORE_LINES = re.compile(r"^(?:if-|for|end|(?:max-fd|no-defer-accept|stats-minified|stats-no-cores)[ |]).*$", re.MULTILINE)


def _rows(core_only: bool = False) -> tuple[Option, ...]:
    from .uwsgi_names import UWSGI_NAMES

    taken = {n.replace("_", "-") for o in _SATRAP_ROWS for n in o.spellings}
    shorts = {o.short for o in _SATRAP_ROWS if o.short}
    # only the matching lines become strings: splitting all 1,200 at import left about 0.1 MB more
    # heap behind in every process (tests/options checks both ways give the same rows)
    lines = _CORE_LINES.findall(UWSGI_NAMES) if core_only else UWSGI_NAMES.splitlines()
    return _SATRAP_ROWS + tuple(_generated_rows(taken, shorts, lines))


def all_options() -> tuple[Option, ...]:
    """The whole table in table order: satrap's rows, then every other uWSGI option."""
    return _rows()


#: what a running server reads: satrap's rows and the uWSGI rows matched by _CORE_LINES
REGISTRY: Registry = Registry(_rows(core_only=True), complete=all_options)

#: keys that open or close conditional/loop blocks; the loader handles them, never the table
LOGIC_KEYS = frozenset(o.name for o in REGISTRY.core if o.name.startswith(("if-", "for", "end")) and o.immediate)
