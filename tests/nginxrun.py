"""Run a real nginx for a test: its own nginx.conf, prefix, pid and temp paths, a loopback port.

    nr = NginxRun(servers="server { listen 127.0.0.1:@PORT@; ... }")
    nr.start()          # waits until the port answers; raises with nginx's error log otherwise
    ...
    nr.stop()           # SIGQUIT/SIGKILL by pid, reaped

``@PORT@`` in the server text is replaced by :attr:`NginxRun.port` (a free loopback port).
Everything lives in a fresh directory under the system temp dir, removed at stop. When the tests
run as root, nginx's workers run as ``nobody`` (as a packaged nginx runs as ``www-data``), so that
directory is made world-traversable, and unix sockets nginx must reach belong in
:func:`shared_tmpdir` directories rather than pytest's private ``tmp_path``.

:func:`nginx_binary` finds nginx on PATH or in /usr/sbin; tests call :func:`require_nginx` to skip
with a clear message when it is not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from support import free_port, require_binary, system_binary, wait_until

#: nginx's stock conf/uwsgi_params, used when the system copy is missing
STOCK_UWSGI_PARAMS = """\
uwsgi_param  QUERY_STRING       $query_string;
uwsgi_param  REQUEST_METHOD     $request_method;
uwsgi_param  CONTENT_TYPE       $content_type;
uwsgi_param  CONTENT_LENGTH     $content_length;

uwsgi_param  REQUEST_URI        $request_uri;
uwsgi_param  PATH_INFO          $document_uri;
uwsgi_param  DOCUMENT_ROOT      $document_root;
uwsgi_param  SERVER_PROTOCOL    $server_protocol;
uwsgi_param  REQUEST_SCHEME     $scheme;
uwsgi_param  HTTPS              $https if_not_empty;

uwsgi_param  REMOTE_ADDR        $remote_addr;
uwsgi_param  REMOTE_PORT        $remote_port;
uwsgi_param  SERVER_PORT        $server_port;
uwsgi_param  SERVER_NAME        $server_name;
"""

_SYSTEM_PARAMS = ("/etc/nginx/uwsgi_params", "/usr/local/nginx/conf/uwsgi_params",
                  "/usr/local/etc/nginx/uwsgi_params")


_NGINX_PATH = "/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin"


def nginx_binary() -> str | None:
    return system_binary("nginx", _NGINX_PATH)


def require_nginx() -> str:
    return require_binary("nginx", "nginx is not installed (apt-get install nginx; .ci/run installs it): "
                          "the uwsgi-protocol end-to-end tests need a real nginx", _NGINX_PATH)


def nginx_version() -> tuple[int, ...]:
    """(major, minor, patch) of the installed nginx, from ``nginx -v``."""
    out = subprocess.run([require_nginx(), "-v"], capture_output=True, text=True, timeout=30)
    text = (out.stderr + out.stdout).split("nginx/", 1)[-1].split()[0]
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def running_as_root() -> bool:
    return os.geteuid() == 0


def shared_tmpdir(prefix: str) -> Path:
    """A fresh temp directory nginx's workers can traverse (0755); the caller removes it."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def uwsgi_params_text() -> str:
    for candidate in _SYSTEM_PARAMS:
        if os.path.isfile(candidate):
            return Path(candidate).read_text()
    return STOCK_UWSGI_PARAMS


class NginxRun:
    """One nginx master (plus one worker) with a private config, started by pid, stopped by pid."""

    def __init__(self, servers: str = "", http_extra: str = "") -> None:
        self.binary = require_nginx()
        self.port = free_port()
        self.dir = shared_tmpdir("satrap-nginx-")
        (self.dir / "logs").mkdir()
        (self.dir / "uwsgi_params").write_text(uwsgi_params_text())
        self.conf = self.dir / "nginx.conf"
        self.error_log = self.dir / "logs" / "error.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.write(servers, http_extra)

    def write(self, servers: str, http_extra: str = "") -> None:
        d = self.dir
        (d / "servers.conf").write_text(servers.replace("@PORT@", str(self.port)))
        temp = "".join(f"    {kind}_temp_path {d / kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user nobody nogroup;\n" if running_as_root() else ""
        self.conf.write_text(
            f"{user}"
            "worker_processes 1;\n"
            f"pid {d / 'nginx.pid'};\n"
            f"error_log {self.error_log} info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    access_log {d / 'logs' / 'access.log'};\n"
            f"{temp}"
            "    client_max_body_size 64m;\n"
            "    uwsgi_read_timeout 20s;\n"
            "    uwsgi_send_timeout 20s;\n"
            f"{http_extra}"
            f"    include {d / 'servers.conf'};\n"
            "}\n")

    def _cmd(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.dir), "-e", str(self.error_log), "-c", str(self.conf), *extra]

    def test_config(self) -> subprocess.CompletedProcess[str]:
        """``nginx -t`` on the current config."""
        return subprocess.run(self._cmd("-t", "-q"), capture_output=True, text=True, timeout=30)

    def log(self) -> str:
        try:
            return self.error_log.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = 15.0) -> "NginxRun":
        checked = self.test_config()
        if checked.returncode != 0:
            raise AssertionError(f"nginx -t refused the config:\n{checked.stderr}\n{self.conf.read_text()}\n"
                                 f"{(self.dir / 'servers.conf').read_text()}")
        self.proc = subprocess.Popen(self._cmd("-g", "daemon off;"), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_until(up, timeout, message=f"nginx on port {self.port}")
        return self

    def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGQUIT)  # graceful; nginx's workers share the group
            except ProcessLookupError:
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        if proc is not None:
            # a worker may outlive the master by a moment: make sure the group is empty
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
        shutil.rmtree(self.dir, ignore_errors=True)
