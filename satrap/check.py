"""``satrap check FILE... [--emperor DIR] [--import]``: would these configs start? (like ``nginx -t``)

Why a separate command: people arrive with folders of uWSGI files written over years; before a
deploy (or in CI) they need to know, without starting anything, whether satrap runs each file and
what every option in it means to satrap. So each file is loaded exactly as ``satrap --ini FILE``
loads it (:func:`satrap.config.load_config`: includes, placeholders, ``if-*``/``for`` logic), and
then judged the way a real start judges it: a config error or an unsupported option stops a
start, so it is a failure here too; warnings (typos, inline comments) are shown but pass.

Nothing is imported unless ``--import`` is given; then the app is loaded in a child process
(``chdir``, ``virtualenv``, ``pythonpath`` applied there), so a broken app cannot take the checker
down and its side effects stay out of this process.

Exit status: 0 every file would start, 1 at least one would not, 2 usage error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from satrap.config.sources import CONFIG_EXTENSIONS

USAGE = """\
usage: satrap check [-q] [--import] FILE... | --emperor DIR

Load each uWSGI/satrap config as a real start would (includes, placeholders, if-*/for logic),
import nothing, and report every option: supported, accepted with no effect (why), or
unsupported (and what to use instead), plus warnings. One summary line per file, like nginx -t.

  FILE            an .ini/.yml/.yaml/.json/.xml config (other names are read as ini)
  --emperor DIR   check every vassal file in DIR (.ini .yml .yaml .json .xml)
  --import        also import the WSGI app (in a child process) and report whether it loads
  -q, --quiet     only the summary line of each file
  --env-clean     ignore UWSGI_*/SATRAP_* variables of this shell (check the files alone)

exit status: 0 every file would start, 1 at least one would not, 2 usage error
"""

#: vassal extensions the Emperor picks up (its scanner also takes .js; the brief's list is these)
VASSAL_EXTENSIONS = (".ini", ".yml", ".yaml", ".json", ".xml")

#: what to use instead, for unsupported options whose catalog reason names no alternative
_ALTERNATIVES: tuple[tuple[str, str], ...] = (
    ("plugin cgi", "a CGI server (or keep uWSGI) for this app: satrap runs Python WSGI apps only"),
    ("plugin ", "remove the plugin line if the app does not use it (python and http are built in); "
               "an app that needs it needs uWSGI"),
    ("@(exec://", "compute the value before start (an environment variable read as $(VAR))"),
    ("declare-option", "write the options out in full"),
    ("route", "do it in nginx (location, rewrite, return) or in the app"),
    ("response-route", "do it in nginx (add_header, proxy_hide_header) or in the app"),
    ("add-header", "nginx add_header, or a response header set by the app"),
    ("collect-header", "do it in the app, or with nginx"),
    ("pull-header", "do it in the app, or with nginx"),
    ("spooler", "a task queue (Celery, RQ, Dramatiq) run as its own service"),
    ("cron", "a systemd timer or the system cron"),
    ("unique-cron", "a systemd timer or the system cron"),
    ("hook-", "ExecStartPre=/ExecStartPost= in the systemd unit, or the container entrypoint"),
    ("exec-", "ExecStartPre=/ExecStartPost= in the systemd unit, or the container entrypoint"),
    ("fastrouter", "nginx or HAProxy upstreams over the satrap instances (docs/deployment.md)"),
    ("subscri", "nginx or HAProxy upstreams; a static list of backends (docs/deployment.md)"),
    ("legion", "keepalived or your orchestrator for failover"),
    ("gevent", "processes and threads (processes = N, threads = M)"),
    ("async", "processes and threads (processes = N, threads = M)"),
    ("cgi", "a CGI server; satrap only runs WSGI apps"),
    ("limit-as", "MemoryMax= in the systemd unit, or reload-on-rss"),
    ("cheap", "start the workers at once (drop the option), or idle = N for cheap mode"),
    ("emperor-required-heartbeat", "drop it: vassal liveness is tracked through the Emperor's socketpair"),
    ("vassals-include", "vassal-set for single options, or an include line in each vassal file"),
    ("check-static", "static-map = /=DIR (files first, misses go to the app)"),
    ("static-gzip", "static-gzip-all / static-gzip-dir, or nginx gzip_static"),
    ("ignore-sigpipe", "drop it: satrap never dies of SIGPIPE and logs client disconnects as one line"),
    ("ignore-write-errors", "drop it: a client that goes away is logged as one line, not a traceback"),
    ("disable-write-exception", "drop it: satrap never raises client write errors into the app"),
    ("reaper", "drop it: satrap's master always reaps its children"),
    ("show-config", "satrap --print-config FILE"),
    ("no-defer-accept", "drop it (a socket tuning knob)"),
    ("binary-path", "drop it: vassals are started as python -m satrap"),
    ("early-emperor", "run the Emperor on its own (satrap --emperor DIR)"),
    ("wsgi-disable-file-wrapper", "drop it, or remove wsgi.file_wrapper in a WSGI middleware"),
    ("no-default-app", "mount the apps you want; requests outside every mount get a 500"),
    ("if-", "an environment variable read as $(VAR), or one config file per case"),
    ("chroot", "a container, or RootDirectory= in the systemd unit"),
    ("jail", "a container"), ("unshare", "a container"), ("namespace", "a container"),
    ("cap", "AmbientCapabilities= in the systemd unit"),
    ("cgroup", "the systemd unit's resource controls (MemoryMax=, CPUQuota=)"),
    ("mule", "a separate worker service (a task queue, or a systemd unit)"),
    ("cache", "an external cache (Redis, memcached)"),
    ("https", "terminate TLS in nginx or HAProxy in front of satrap"),
    ("ssl", "terminate TLS in nginx or HAProxy in front of satrap"),
)

_UNSUPPORTED_MSG = re.compile(r"^(?P<where>.*?): '(?P<key>.+?)' is not supported by satrap yet "
                              r"\((?P<reason>.*)\); satrap will not start with it")


def _kind_flag(path: str) -> str:
    """The flag a real start would load this file with; unknown extensions are ini (uWSGI's default)."""
    return "--" + CONFIG_EXTENSIONS.get(os.path.splitext(path)[1].lower(), "ini")


def alternative(key: str, reason: str = "") -> str:
    """What to use instead of an unsupported option: from the reason when it names one."""
    if ";" in reason or "use " in reason or "instead" in reason:
        return ""
    for prefix, hint in _ALTERNATIVES:
        if key.startswith(prefix) or key == prefix.strip():
            return hint
    return ""


@dataclass
class OptionLine:
    """One option as the file set it, and what satrap makes of it."""

    name: str
    value: str
    support: str  # yes / noop / unsupported
    reason: str = ""
    where: str = ""


@dataclass
class Unsupported:
    """One thing that stops a start: option name (or ``plugin X``, a logic block, ``@(...)``)."""

    key: str
    reason: str
    where: str
    instead: str = ""


@dataclass
class FileReport:
    """The verdict on one file."""

    path: str
    options: list[OptionLine] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    role: str = "app"  # app / emperor / fragment
    imported: str = ""  # result of --import

    @property
    def starts(self) -> bool:
        return not self.errors and not self.unsupported

    @property
    def noop(self) -> list[OptionLine]:
        return [o for o in self.options if o.support == "noop"]

    def verdict(self) -> str:
        """The summary after ``file:``; short enough for a table cell."""
        if self.errors:
            return "error: " + self.errors[0]
        if self.unsupported:
            n = len(self.unsupported)
            return f"{n} unsupported option{'s' if n != 1 else ''}"
        extra = []
        if self.role == "emperor":
            extra.append("emperor")
        if self.role == "no-socket":
            extra.append("needs a socket from the command line or environment")
        if self.noop:
            extra.append(f"{len(self.noop)} accepted with no effect")
        if self.warnings:
            extra.append(f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}")
        return "ok" + (f" ({', '.join(extra)})" if extra else "")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_file(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None,
               do_import: bool = False, vassal: bool = False) -> FileReport:
    """Judge one config file. Never raises: every failure becomes an error line of the report.

    ``vassal``: the file is started by an Emperor, which gives it nothing but the file, so a
    missing socket is an error; a file checked alone may get its socket from the command line or
    ``UWSGI_SOCKET`` (Docker images do), so there it is only a note."""
    from satrap.errors import ConfigError, SatrapError

    full = os.path.abspath(os.fspath(path))
    report = FileReport(full)
    env = dict(os.environ if environ is None else environ)
    try:
        if not os.path.exists(full):
            report.errors.append("no such file")
            return report
        if os.path.isdir(full):
            report.errors.append("is a directory (use --emperor DIR to check a vassal directory)")
            return report
        from satrap.config import load_config

        template = _template_line(full)
        if template:
            report.role = "template"
            report.errors.append(f"a template (Jinja2/Django syntax on line {template}): render it, "
                                 "then check the rendered file")
            return report
        try:
            cfg = load_config([_kind_flag(full), full], env)
        except ConfigError as err:
            report.errors.append(str(err).replace(full + ":", "line ").replace(full, "this file"))
            return report
        _describe(cfg, report)
        _judge_start(cfg, env, report, vassal)
        if do_import and report.starts and report.role == "app":
            report.imported = _try_import(full, env)
            if not report.imported.startswith("ok"):
                report.errors.append("the app does not load: " + report.imported)
    except (SatrapError, ValueError, OSError) as err:
        report.errors.append(f"{type(err).__name__}: {err}".replace("\n", " "))
    except RecursionError:
        report.errors.append("the config nests too deeply (an include loop?)")
    except Exception as err:  # noqa: BLE001 - a bug in satrap must still give one clear line, never a traceback
        report.errors.append(f"internal error while checking ({type(err).__name__}: {err}); "
                             "please report it with this file")
    return report


def _describe(cfg: Any, report: FileReport) -> None:
    from satrap.options.catalog import REGISTRY

    for name, value in cfg.items():
        opt = REGISTRY[name]
        origins = cfg.origins(name)
        values = value if isinstance(value, list) else [value]
        for n, item in enumerate(values):
            where = origins[n] if n < len(origins) else (origins[-1] if origins else "")
            if where.startswith("command line"):
                continue  # the --ini FILE the checker itself passed
            report.options.append(OptionLine(name, _shown(item), opt.support, opt.reason, where))
    for line in cfg.unsupported:
        m = _UNSUPPORTED_MSG.match(line)
        if m is None:
            report.unsupported.append(Unsupported(line, "", ""))
            continue
        key, reason = m.group("key"), m.group("reason")
        report.unsupported.append(Unsupported(key, reason, m.group("where"), alternative(key, reason)))
    report.warnings.extend(cfg.warnings)


_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def _template_line(path: str) -> int:
    """Line number of the first Jinja2/Django tag outside a comment (0: none). Such a file is
    an input of Ansible or Django, not a config: uWSGI would read ``{{ x }}`` literally."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                stripped = line.strip()
                if stripped.startswith(("#", ";", "<!--")):
                    continue
                if _TEMPLATE.search(stripped):
                    return n
    except OSError:
        return 0
    return 0


def _judge_start(cfg: Any, env: Mapping[str, str], report: FileReport, vassal: bool = False) -> None:
    """The checks ``satrap`` makes after loading and before binding, minus the machine's state."""
    from satrap.errors import ConfigError

    if cfg.emperor:
        report.role = "emperor"
        return
    if cfg.stop or cfg.reload or cfg.help or cfg.version or cfg.print_config:
        report.role = "command"
        return
    try:
        from satrap.net.listeners import has_listeners

        listening = has_listeners(cfg, dict(env))
    except ConfigError as err:
        report.errors.append(str(err))
        return
    try:
        from satrap.app.static import static_layer

        static_layer(cfg, lambda environ, start_response: [], warn=None)
    except ConfigError as err:
        report.errors.append(str(err))
    if not listening:
        report.role = "no-socket"
        if vassal:
            report.errors.append("no socket to listen on (socket, http-socket, http or uwsgi-socket): "
                                 "the Emperor gives a vassal only its file")
        else:
            report.notes.append("no socket in this file: it starts only with one given on the command line "
                                "(--socket/--http-socket ADDR) or in the environment (UWSGI_SOCKET=ADDR)")
        return
    if not (cfg.module or cfg.wsgi_file or cfg.mount):
        if cfg.cgi or cfg.cgi_from_docroot:
            report.notes.append("no WSGI app configured: every request goes to the CGI gateway (cgi)")
        else:
            report.notes.append("no app configured (module, wsgi-file or mount): every request would get a 500")


_IMPORT_SCRIPT = """\
import os, sys
from satrap.config import load_config
from satrap.app.loader import prepare_process, load_app
cfg = load_config(sys.argv[1:], os.environ)
prepare_process(cfg)
app = load_app(cfg)
print("ok" if app is not None else "no app configured")
"""


def _try_import(path: str, env: Mapping[str, str]) -> str:
    """Load the app in a child process: its imports, chdir and sys.path changes stay there."""
    try:
        proc = subprocess.run([sys.executable, "-c", _IMPORT_SCRIPT, _kind_flag(path), path],
                              capture_output=True, text=True, timeout=120, env=dict(env),
                              cwd=os.path.dirname(path), stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return "importing the app took longer than 120 s"
    except OSError as exc:
        return f"cannot run {sys.executable}: {exc}"
    out = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and out and out[-1] in ("ok", "no app configured"):
        return "ok: the app loads" if out[-1] == "ok" else "ok: no app configured"
    lines = [ln for ln in (proc.stderr or "").strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else f"exit status {proc.returncode}"
    return last.removeprefix("satrap: ")


# -- output -------------------------------------------------------------------------------------
_LABEL = {"yes": "supported", "noop": "accepted, no effect", "unsupported": "UNSUPPORTED"}


def render(report: FileReport, name: str, out: TextIO, quiet: bool = False) -> None:
    """The details of one file (unless quiet), then its summary line."""
    if not quiet:
        for o in report.options:
            if o.support == "unsupported":
                continue  # listed below with the alternative
            value = o.value if len(o.value) <= 60 else o.value[:57] + "..."
            line = f"  {o.name} = {value}"
            tail = _LABEL[o.support] + (f": {o.reason}" if o.support == "noop" and o.reason else "")
            out.write(f"{line:<50} {tail}\n")
        for u in report.unsupported:
            instead = f"; instead: {u.instead}" if u.instead else ""
            where = f" ({u.where})" if u.where else ""
            out.write(f"  {u.key}: UNSUPPORTED{where}: {u.reason}{instead}\n")
        out.writelines(f"  warning: {w}\n" for w in report.warnings)
        out.writelines(f"  note: {n}\n" for n in report.notes)
        if report.imported:
            out.write(f"  import: {report.imported}\n")
    out.write(f"{name}: {report.verdict()}\n")


def _vassals(directory: str) -> list[str]:
    return sorted(os.path.join(directory, n) for n in os.listdir(directory)
                  if n.lower().endswith(VASSAL_EXTENSIONS) and os.path.isfile(os.path.join(directory, n)))


def main(args: Sequence[str]) -> int:
    """``satrap check``: the CLI routes here with everything after ``check``."""
    files: list[str] = []
    emperor_dirs: list[str] = []
    vassal_files: set[str] = set()
    quiet = do_import = clean = False
    it = iter(args)
    for arg in it:
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--import":
            do_import = True
        elif arg == "--env-clean":
            clean = True
        elif arg == "--emperor" or arg.startswith("--emperor="):
            value = arg.partition("=")[2] if "=" in arg else next(it, None)
            if not value:
                sys.stderr.write("satrap check: --emperor needs a directory\n" + USAGE)
                return 2
            emperor_dirs.append(value)
        elif arg.startswith("-") and arg != "-":
            sys.stderr.write(f"satrap check: unknown option {arg}\n" + USAGE)
            return 2
        else:
            files.append(arg)
    for d in emperor_dirs:
        if not os.path.isdir(d):
            sys.stderr.write(f"satrap check: --emperor {d}: not a directory\n")
            return 2
        found = _vassals(d)
        vassal_files.update(found)
        if not found:
            sys.stderr.write(f"satrap check: --emperor {d}: no vassal files (*{' *'.join(VASSAL_EXTENSIONS)})\n")
        files.extend(found)
    if not files:
        if emperor_dirs:
            return 0
        sys.stderr.write("satrap check: no config file given\n" + USAGE)
        return 2
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UWSGI_", "SATRAP_"))} if clean else None
    failed = 0
    for f in files:
        report = check_file(f, env, do_import, vassal=f in vassal_files)
        try:
            render(report, f, sys.stdout, quiet)
            sys.stdout.flush()
        except BrokenPipeError:
            return 1
        failed += not report.starts
    if len(files) > 1:
        sys.stdout.write(f"{len(files)} files checked: {len(files) - failed} would start, {failed} would not\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
