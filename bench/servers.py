"""How each server is started, so every one runs the same app with the same process counts.

The command lines built here are also what ``docs/benchmarks.md`` prints under "exact options":
the table is only fair if a reader can see that nobody got a head start.

Modes:
- ``http-socket``: the workers speak HTTP themselves (uWSGI ``--http-socket``, gunicorn, granian);
- ``http``: uWSGI's ``--http`` runs a separate router process in front of the workers; satrap's
  ``--http`` currently serves HTTP directly in the workers (no router) and is labelled so;
- ``socket``: uwsgi protocol on a loopback port behind the bench's own nginx (``uwsgi_pass``).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

APPS: dict[str, tuple[str, str]] = {
    # key: (file in bench/apps, module name for module:callable servers)
    "plain": ("hello.py", "hello"),
    "flask": ("flask_hello.py", "flask_hello"),
    "64k": ("big.py", "big"),
    "echo1m": ("echo.py", "echo"),
}

SERVER_LABELS = {
    "satrap": "satrap",
    "satrap+log": "satrap (logging on)",
    "uwsgi": "uWSGI",
    "gunicorn": "gunicorn sync",
    "granian": "granian",
}


@dataclass(frozen=True)
class Launch:
    """A ready-to-run command: argv, the signal that stops it and where wrk should point."""

    argv: list[str]
    stop_signal: int
    backend_port: int          # the port the server itself listens on


def server_argv(kind: str, venv_bin: Path, apps_dir: Path, app: str, mode: str,
                procs: int, port: int) -> Launch:
    """Build the command line for ``kind`` (see SERVER_LABELS) serving ``app`` in ``mode``."""
    fname, module = APPS[app]
    addr = f"127.0.0.1:{port}"
    wsgi_file = str(apps_dir / fname)
    if kind in ("satrap", "satrap+log"):
        argv = [str(venv_bin / "satrap"), f"--{mode}", addr, "--wsgi-file", wsgi_file,
                "--master", "--processes", str(procs)]
        if kind == "satrap":
            argv.append("--disable-logging")
        return Launch(argv, signal.SIGTERM, port)
    if kind == "uwsgi":
        # uWSGI 2.0 treats SIGTERM as "reload" unless --die-on-term; SIGINT always means stop.
        argv = [str(venv_bin / "uwsgi"), f"--{mode}", addr, "--wsgi-file", wsgi_file,
                "--master", "--processes", str(procs), "--disable-logging", "--need-app"]
        return Launch(argv, signal.SIGINT, port)
    if kind == "gunicorn":
        if mode != "http-socket":
            raise ValueError("gunicorn only speaks HTTP")
        # --preload matches uWSGI's and satrap's default of loading the app before fork;
        # no --access-logfile means no access log (gunicorn's default)
        argv = [str(venv_bin / "gunicorn"), "-k", "sync", "-w", str(procs), "--threads", "1",
                "-b", addr, "--preload", f"{module}:application"]
        return Launch(argv, signal.SIGTERM, port)
    if kind == "granian":
        if mode != "http-socket":
            raise ValueError("granian only speaks HTTP")
        argv = [str(venv_bin / "granian"), "--interface", "wsgi", "--workers", str(procs),
                "--blocking-threads", "1", "--runtime-threads", "1", "--no-access-log",
                "--no-ws", "--host", "127.0.0.1", "--port", str(port),
                f"{module}:application"]
        return Launch(argv, signal.SIGTERM, port)
    raise ValueError(kind)


# the uwsgi_params nginx ships, written out so the bench does not depend on /etc/nginx
_UWSGI_PARAMS = """
    uwsgi_param QUERY_STRING $query_string;
    uwsgi_param REQUEST_METHOD $request_method;
    uwsgi_param CONTENT_TYPE $content_type;
    uwsgi_param CONTENT_LENGTH $content_length;
    uwsgi_param REQUEST_URI $request_uri;
    uwsgi_param PATH_INFO $document_uri;
    uwsgi_param DOCUMENT_ROOT $document_root;
    uwsgi_param SERVER_PROTOCOL $server_protocol;
    uwsgi_param REQUEST_SCHEME $scheme;
    uwsgi_param HTTPS $https if_not_empty;
    uwsgi_param REMOTE_ADDR $remote_addr;
    uwsgi_param REMOTE_PORT $remote_port;
    uwsgi_param SERVER_PORT $server_port;
    uwsgi_param SERVER_NAME $server_name;
"""


def nginx_conf(prefix: Path, routes: list[tuple[int, int]], run_as_root: bool) -> str:
    """nginx.conf with one ``server`` per (front port, uwsgi backend port), all on loopback.

    One worker process (the servers behind it get the other core); access log off; upstream
    connections are not kept alive (uWSGI's protocol closes after each request).
    """
    servers = []
    for front, back in routes:
        servers.append(f"""
  server {{
    listen 127.0.0.1:{front} backlog=1024;
    location / {{
{_UWSGI_PARAMS}
      uwsgi_pass 127.0.0.1:{back};
    }}
  }}""")
    user = "user root;\n" if run_as_root else ""
    return f"""{user}daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
{''.join(servers)}
}}
"""
