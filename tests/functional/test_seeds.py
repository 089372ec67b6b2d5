"""The seeds' commands and ini files, with ``satrap`` in place of ``uwsgi`` (issue 2 and 3)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from support import FIXTURE_APPS, free_port, http_request, proc_title, wait_until

SEED_003_INI = """[uwsgi]
chdir={chdir}
wsgi-file=flask-demo.py
callable=app
http={http}
need-app=true
lazy-apps=true
master=true
processes=2
threads=2
single-interpreter=true
die-on-term=true
procname-prefix-spaced=flask demo
vacuum=true
pidfile=demo.pid
"""


def _flask_app(dest: Path, name: str) -> None:
    shutil.copy(FIXTURE_APPS / "flaskapp.py", dest / name)


def test_seed_002_http_command_line(satrap, tmp_path):
    """uwsgi --http 0.0.0.0:8081 --module flask-app:app --master --processes 2 --threads 2"""
    _flask_app(tmp_path, "flask-app.py")
    port = free_port()
    proc = satrap("--http", f"127.0.0.1:{port}", "--module", "flask-app:app", "--master",
                  "--processes", "2", "--threads", "2")
    proc.wait_http(port)
    status, _, body = http_request(port, "GET", "/")
    assert (status, body) == (200, b"hello v1\n")
    assert http_request(port, "GET", "/thread")[2] == b"thread ran"
    assert len(proc.wait_workers(3)) == 3  # two workers and the "http 1" router


def test_seed_002_socket_protocol_http(satrap, tmp_path):
    """uwsgi --socket 0.0.0.0:8081 --protocol=http --module flask-app:app"""
    _flask_app(tmp_path, "flask-app.py")
    port = free_port()
    proc = satrap("--socket", f"127.0.0.1:{port}", "--protocol=http", "--module", "flask-app:app")
    proc.wait_http(port)
    assert http_request(port, "GET", "/")[2] == b"hello v1\n"


def _seed_003(tmp_path: Path, port: int) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    _flask_app(project, "flask-demo.py")
    ini = tmp_path / "uwsgi.ini"
    ini.write_text(SEED_003_INI.format(chdir=project, http=f"127.0.0.1:{port}"))
    return ini


def test_seed_003_ini_with_dash_dash_ini_and_stop(satrap, tmp_path):
    port = free_port()
    ini = _seed_003(tmp_path, port)
    proc = satrap("--ini", str(ini))
    proc.wait_http(port)
    assert http_request(port, "GET", "/")[2] == b"hello v1\n"
    workers = proc.wait_workers(3)
    # process titles carry the prefix, as seed 002's ps listing shows
    assert proc_title(proc.pid) == "flask demo satrap master"
    assert sorted(proc_title(w) for w in workers) == ["flask demo satrap http 1",
                                                      "flask demo satrap worker 1",
                                                      "flask demo satrap worker 2"]
    pidfile = tmp_path / "demo.pid"  # relative pidfile: relative to where satrap started
    assert int(pidfile.read_text()) == proc.pid
    stopper = satrap("--stop", str(pidfile))
    assert stopper.wait_exit() == 0
    assert proc.wait_exit() == 0
    assert not pidfile.exists(), "vacuum must remove the pidfile"
    for pid in workers:
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
                   open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z", 5, message="worker gone")


def test_seed_003_ini_as_positional_argument(satrap, tmp_path):
    port = free_port()
    ini = _seed_003(tmp_path, port)
    proc = satrap(str(ini))
    proc.wait_http(port)
    assert http_request(port, "GET", "/")[0] == 200
    proc.signal(signal.SIGTERM)  # die-on-term: a graceful stop
    assert proc.wait_exit() == 0
    proc.wait_log("goodbye to satrap")
