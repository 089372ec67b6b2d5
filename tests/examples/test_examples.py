"""Every example starts with its documented command and answers; then everything is stopped by pid.

The commands are the ones in examples/*/run.sh headers, docs/getting-started.md and README.md,
with the ports moved to free ones through the documented environment variables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


from nginxrun import require_nginx
from support import free_port, http_request, pgid_members, wait_until

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


class Started:
    """A documented command run in its own session; stopped by its pid, its group checked empty."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path = REPO) -> None:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("UWSGI_", "SATRAP_", "EXAMPLE_"))}
        full.update(env, PYTHON=sys.executable, PYTHONUNBUFFERED="1")
        full["PATH"] = os.path.dirname(sys.executable) + os.pathsep + full.get("PATH", "")
        self.log = log
        self._fh = open(log, "wb")
        self.proc = subprocess.Popen(argv, cwd=str(cwd), env=full, stdout=self._fh, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_http(self, port: int, headers: dict[str, str] | None = None, timeout: float = 30) -> None:
        def ok() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode}:\n{self.text()[-3000:]}")
            try:
                return http_request(port, "GET", "/", headers=headers, timeout=2)[0] == 200
            except OSError:
                return False

        try:
            wait_until(ok, timeout, interval=0.1, message=f"HTTP 200 on {port}")
        except AssertionError:
            raise AssertionError(f"no answer on {port}:\n{self.text()[-3000:]}") from None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """The documented way to stop (a signal to the script), then make sure nothing is left."""
        pgid = self.proc.pid
        try:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, sig)
                code = self.proc.wait(60)
            else:
                code = self.proc.returncode
            wait_until(lambda: not pgid_members(pgid), 30, message="every process of the example to exit")
            return code
        finally:
            if pgid_members(pgid):
                os.killpg(pgid, signal.SIGKILL)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self._fh.close()


def test_flask_example_readme_command(tmp_path: Path) -> None:
    """README: satrap --http 127.0.0.1:8081 --chdir examples/flask --module flask-app:app --master ..."""
    port = free_port()
    run = Started([sys.executable, "-m", "satrap", "--http", f"127.0.0.1:{port}", "--chdir", "examples/flask",
                   "--module", "flask-app:app", "--master", "--processes", "2", "--threads", "2"],
                  {}, tmp_path / "flask.log")
    try:
        run.wait_http(port)
        status, _, body = http_request(port, "GET", "/")
        assert status == 200 and body.startswith(b"Hello from satrap worker pid ")
    finally:
        assert run.stop(signal.SIGINT) == 0, run.text()[-2000:]


def test_nginx_uwsgi_example_run_sh(tmp_path: Path) -> None:
    """examples/nginx-uwsgi/run.sh: nginx -> uwsgi_pass -> satrap --socket 127.0.0.1:4242 (seed 001)."""
    require_nginx()
    http_port, app_port = free_port(), free_port()
    run = Started([str(EXAMPLES / "nginx-uwsgi" / "run.sh")],
                  {"EXAMPLE_HTTP_PORT": str(http_port), "EXAMPLE_APP_PORT": str(app_port)}, tmp_path / "run.log",
                  cwd=tmp_path)
    try:
        run.wait_http(http_port)
        status, _, body = http_request(http_port, "GET", "/")
        assert status == 200 and b"Hello from satrap" in body and b"behind nginx" in body
        assert http_request(http_port, "POST", "/echo", body=b"x" * 100000)[2] == b"x" * 100000
        assert f"uwsgi socket 0 bound to TCP address 127.0.0.1:{app_port}" in run.text()
    finally:
        assert run.stop() == 0, run.text()[-2000:]
    assert "goodbye to satrap." in run.text()


def test_emperor_example_run_sh(tmp_path: Path) -> None:
    """examples/emperor/run.sh: an Emperor, two vassals on unix sockets, nginx by domain (seed 000)."""
    require_nginx()
    http_port = free_port()
    run = Started([str(EXAMPLES / "emperor" / "run.sh")], {"EXAMPLE_HTTP_PORT": str(http_port)},
                  tmp_path / "run.log", cwd=tmp_path)
    try:
        for n in (1, 2):
            run.wait_http(http_port, {"Host": f"app{n}.example.test"})
            status, _, body = http_request(http_port, "GET", "/", headers={"Host": f"app{n}.example.test"})
            assert status == 200 and body.startswith(f"app{n} says hello".encode()), body
    finally:
        assert run.stop() == 0, run.text()[-2000:]
    assert "The Emperor is buried." in run.text()


def test_every_example_config_passes_satrap_check() -> None:
    configs = [EXAMPLES / "flask" / "uwsgi.ini", EXAMPLES / "nginx-uwsgi" / "satrap.ini",
               EXAMPLES / "emperor" / "emperor.ini"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UWSGI_", "SATRAP_", "EXAMPLE_"))}
    env["EXAMPLE_RUN_DIR"] = "/run/satrap"
    out = subprocess.run([sys.executable, "-m", "satrap", "check", "-q", *map(str, configs),
                          "--emperor", str(EXAMPLES / "emperor" / "vassals")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1] == "5 files checked: 5 would start, 0 would not"
