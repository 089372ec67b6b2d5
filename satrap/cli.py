"""``satrap``: the command line. Reads the config, then becomes a master, a single worker, or
runs one of the immediate commands (``--stop``, ``--reload``, ``--help``, ``--print-config``).

Every failure a user can cause ends here as one line on stderr and a non-zero exit status:
no traceback from satrap's own code ever reaches a user.
"""

from __future__ import annotations

import grp
import os
import pwd
import signal
import sys
from collections.abc import Sequence
from typing import Any

from satrap import __version__
from satrap.errors import ConfigError, ExitCode, SatrapError
from satrap.log import log, redirect_to_file


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "nginx":
        return _nginx_command(args[1:])
    if args and args[0] == "check":
        from satrap.check import main as check_main

        return check_main(args[1:])
    if args and args[0] == "top":
        from satrap.stats.top import main as top_main

        return top_main(args[1:])
    try:
        return _run(args)
    except SatrapError as err:
        sys.stderr.write(f"satrap: {err}\n")
        return int(err.exit_code)
    except KeyboardInterrupt:
        return int(ExitCode.OK)


def _run(args: list[str]) -> int:
    from satrap.config import load_config

    cfg = load_config(args, os.environ)
    if cfg.help:
        from satrap.options.help import format_help

        sys.stdout.write(format_help())
        return 0
    if cfg.version:
        print(f"satrap {__version__}")
        return 0
    if cfg.print_config:
        sys.stdout.write(cfg.describe().rstrip("\n") + "\n")
        return 0
    if cfg.stop:
        return _signal_pidfile(cfg.stop, signal.SIGINT, "stop")
    if cfg.reload:
        return _signal_pidfile(cfg.reload, signal.SIGHUP, "reload")
    for warning in cfg.warnings:
        sys.stderr.write(f"satrap: warning: {warning}\n")
    if cfg.unsupported:
        for line in cfg.unsupported:
            sys.stderr.write(f"satrap: {line}\n")
        return int(ExitCode.USAGE)
    from satrap.options.catalog import REGISTRY

    REGISTRY.shed()  # the rows satrap never reads leave before the app loads and workers fork
    if cfg.emperor:
        from satrap.emperor.emperor import run_emperor

        return run_emperor(cfg)
    return _serve(cfg)


def _signal_pidfile(path: str, sig: int, what: str) -> int:
    try:
        with open(path) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--{what} {path}: cannot read a pid from it ({exc})") from None
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise ConfigError(f"--{what} {path}: no process with pid {pid} (stale pidfile?)") from None
    return 0


def _serve(cfg: Any) -> int:
    from satrap.app.loader import prepare_process
    from satrap.net.listeners import has_listeners, is_loopback, open_listeners

    reloading = "SATRAP__RELOADS" in os.environ
    start_cwd = os.getcwd()
    os.environ.setdefault("SATRAP__START_CWD", start_cwd)
    if not has_listeners(cfg, dict(os.environ)):
        raise ConfigError("no socket to listen on: give --http-socket ADDR, --http ADDR or "
                          "--socket ADDR (e.g. --http-socket 127.0.0.1:8000)")
    if cfg.daemonize and not reloading:
        _daemonize(cfg.daemonize)
    elif cfg.logto and not reloading:
        redirect_to_file(os.path.abspath(cfg.logto))
    if not reloading:
        log(f"*** Starting satrap {__version__} (uWSGI-compatible application server) ***")
    from satrap.hooks import run_phase

    run_phase(cfg, "asap")
    pidfile = os.path.abspath(cfg.pidfile) if cfg.pidfile else None
    if pidfile:
        _write_pidfile(pidfile)
    prepare_process(cfg)
    if cfg.limit_as:
        _limit_address_space(int(cfg.limit_as))
    environ = os.environ
    listeners = open_listeners(cfg, environ)  # type: ignore[arg-type]
    for i, lst in enumerate(listeners):
        if lst.role != "worker":
            log(f"{'http router' if lst.role == 'router' else lst.role} bound on {lst.describe()} "
                f"fd {lst.sock.fileno()}")
            continue
        log(f"{lst.proto} socket {i} bound to {lst.describe()} fd {lst.sock.fileno()}")
        if lst.proto == "uwsgi" and not is_loopback(lst):
            log(f"!!! WARNING: uwsgi-protocol socket {lst.address} listens on a non-loopback address: "
                "anyone who reaches it talks to your app as if they were nginx; bind it to "
                "127.0.0.1 or a unix socket, or restrict peers with uwsgi-allow !!!")
    # import what the rest of the start needs while we may still read everything
    from satrap.master.master import Master
    from satrap.uwsgi_api import install as install_uwsgi_api
    from satrap.worker.process import load_app_or_report, run_worker

    install_uwsgi_api(cfg)  # before the privilege drop: it may create the shared cache's files
    run_phase(cfg, "as-root")
    _drop_privileges(cfg)
    run_phase(cfg, "as-user")
    if cfg.logto2 and not reloading:
        redirect_to_file(os.path.abspath(cfg.logto2))
    pidfile2 = os.path.abspath(cfg.pidfile2) if cfg.pidfile2 else None
    if pidfile2:
        _write_pidfile(pidfile2)
    vacuum_paths = [lst.unix_path for lst in listeners if lst.unix_path and cfg.vacuum]

    def on_exit() -> None:
        run_phase(cfg, "as-user-atexit")
        if cfg.vacuum:
            for path in vacuum_paths:
                _unlink(path)
            for pid_path in (pidfile, pidfile2):
                if pid_path:
                    _unlink(pid_path)
                    log("VACUUM: pidfile removed.")

    lazy = bool(cfg.lazy_apps or cfg.lazy)
    processes = int(cfg.processes or 1)
    from satrap.emperor.wire import EMPEROR_FD_ENV

    vassal = EMPEROR_FD_ENV in os.environ  # a vassal is always a master, as in uWSGI
    routed = any(lst.role == "router" for lst in listeners)  # the router needs a supervisor
    master = bool(cfg.master) or processes > 1 or vassal or routed
    if not cfg.master and processes > 1:
        log("satrap: processes > 1 without master: starting a master anyway, so dead workers are "
            "replaced (uWSGI would leave them dead)")
    app = None
    if not lazy or not master:
        app, code = load_app_or_report(cfg)
        if code:
            on_exit()
            return code
    if cfg.chdir2:
        try:
            os.chdir(cfg.chdir2)
        except OSError as exc:
            raise ConfigError(f"chdir2 = {cfg.chdir2}: {exc.strerror}") from None
    if not master:
        log(f"satrap is running in single-process mode (pid: {os.getpid()})")
        code = run_worker(cfg, listeners, 1, app, False, None, None)
        log("goodbye to satrap.")
        on_exit()
        return code
    return Master(cfg, listeners, app, run_worker, start_cwd, on_exit).run()


def _limit_address_space(megabytes: int) -> None:
    """``limit-as``: RLIMIT_AS for the master and so every process it forks, as uWSGI sets it
    (a runaway worker gets MemoryError instead of taking the machine down)."""
    import resource

    limit = megabytes * 1024 * 1024
    log("limiting address space of processes...")
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError) as exc:
        raise ConfigError(f"limit-as = {megabytes}: cannot set the address space limit ({exc})") from None
    log(f"your process address space limit is {limit} bytes ({megabytes} MB)")


def _write_pidfile(path: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as exc:
        raise ConfigError(f"pidfile {path}: cannot write it ({exc.strerror})") from None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _daemonize(logfile: str) -> None:
    """``--daemonize LOGFILE``: detach from the terminal and log to the file, as uWSGI does."""
    path = os.path.abspath(logfile)
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    redirect_to_file(path)


def _drop_privileges(cfg: Any) -> None:
    """``uid``/``gid``: after binding (so privileged ports work), before loading the app."""
    uid, gid = cfg.uid, cfg.gid
    if os.geteuid() != 0:
        return
    if not uid and not gid:
        log("*** WARNING: you are running satrap as root !!! (use the uid and gid options) ***")
        return
    try:
        if gid:
            gid_num = int(gid) if str(gid).isdigit() else grp.getgrnam(str(gid)).gr_gid
            os.setgroups([])
            os.setgid(gid_num)
            log(f"setgid() to {gid_num}")
        if uid:
            uid_num = int(uid) if str(uid).isdigit() else pwd.getpwnam(str(uid)).pw_uid
            os.setuid(uid_num)
            log(f"setuid() to {uid_num}")
    except KeyError as exc:
        raise ConfigError(f"uid/gid: unknown user or group {exc}") from None


def _nginx_command(args: list[str]) -> int:
    """``satrap nginx [options as for satrap]``: print an nginx server block for this config.

    With an Emperor config (``--emperor DIR``, or ``emperor = DIR`` in the ini given), one server
    block per vassal file (see :func:`satrap.nginx.sites_from_emperor`). ``--server-name NAME``
    names the single site of a plain config; ``--nginx-listen ADDR`` is the ``listen`` of every
    block (default 80)."""
    from dataclasses import replace

    from satrap.config import load_config
    from satrap.nginx import render_nginx, sites_from_config, sites_from_emperor

    server_name = None
    listen = "80"
    rest = []
    it = iter(args)
    for arg in it:
        if arg == "--server-name":
            server_name = next(it, None)
        elif arg.startswith("--server-name="):
            server_name = arg.split("=", 1)[1]
        elif arg == "--nginx-listen":
            listen = next(it, None) or listen
        elif arg.startswith("--nginx-listen="):
            listen = arg.split("=", 1)[1] or listen
        else:
            rest.append(arg)
    try:
        cfg = load_config(rest, os.environ)
        if cfg.emperor:
            skipped: list[str] = []
            sites = sites_from_emperor(cfg, listen, os.environ, skipped)
            for line in skipped:
                sys.stderr.write(f"satrap: nginx: vassal skipped: {line}\n")
            if not sites:
                sys.stderr.write("satrap: nginx: no vassal with a socket nginx can reach\n")
                return int(ExitCode.USAGE)
        else:
            sites = [replace(site, listen=listen) for site in sites_from_config(cfg, server_name)]
        sys.stdout.write(render_nginx(sites))
    except SatrapError as err:
        sys.stderr.write(f"satrap: {err}\n")
        return int(err.exit_code)
    return 0


__all__ = ["main"]
