"""Config, app loading, logging and bad input through the real command (issue 2)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from support import FIXTURE_APPS, free_port, http_request

SATRAP = [sys.executable, "-m", "satrap"]


def run(*args, cwd=None, env=None, timeout=30):
    return subprocess.run([*SATRAP, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    return lines[0]


def test_help_is_generated_from_the_registry():
    out = run("--help")
    assert out.returncode == 0
    for flag in ("--http-socket", "--processes", "--master", "--wsgi-file", "--lazy-apps"):
        assert flag in out.stdout
    assert "single-interpreter" in out.stdout  # listed as accepted with no effect


def test_unknown_option_names_the_closest(tmp_path):
    out = run("--processess", "2", cwd=tmp_path)
    assert out.returncode == 2
    line = _one_line(out.stderr)
    assert "--processess" in line and "--processes" in line
    assert "Traceback" not in out.stderr


def test_bad_type_in_config_file(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text("[uwsgi]\nhttp-socket = :0\nprocesses = two\n")
    out = run(str(ini), cwd=tmp_path)
    assert out.returncode == 2
    line = _one_line(out.stderr)
    assert "bad.ini" in line and "processes" in line and "two" in line


def test_missing_config_file(tmp_path):
    out = run("--ini", str(tmp_path / "nope.ini"), cwd=tmp_path)
    assert out.returncode == 2
    assert "nope.ini" in _one_line(out.stderr)


def test_typo_in_config_file_warns_and_strict_refuses(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    ini = tmp_path / "typo.ini"
    ini.write_text(f"[uwsgi]\nhttp-socket = 127.0.0.1:{port}\nmodule = hello\nprocessess = 4\n")
    proc = satrap(str(ini))
    proc.wait_http(port)
    proc.wait_log(r"typo\.ini.*processess.*processes")
    strict = run(str(ini), "--strict", cwd=tmp_path)
    assert strict.returncode == 2
    assert "processess" in strict.stderr


def test_print_config_shows_effective_values_and_origin(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\nprocesses = 3\nsocket = %d%n.sock\nmy-key = value\nchdir = %(my-key)\n")
    out = run(str(ini), "--print-config", "--processes", "4", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert re.search(r"processes\s*=\s*4", out.stdout)
    assert f"{tmp_path}/app.sock" in out.stdout
    assert re.search(r"chdir\s*=\s*value", out.stdout)


def test_env_vars_configure_satrap(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    proc = satrap(env={"UWSGI_HTTP_SOCKET": f"127.0.0.1:{port}", "UWSGI_MODULE": "hello"})
    proc.wait_http(port)
    assert http_request(port)[2] == b"Hello World\n"


def test_module_that_does_not_exist_with_need_app(tmp_path):
    out = run("--http-socket", "127.0.0.1:0", "--module", "nosuchmodule", "--need-app", cwd=tmp_path)
    assert out.returncode == 22
    assert "nosuchmodule" in out.stderr
    assert "satrap/" not in out.stderr.replace("satrap/app", "")  # no satrap frames


def test_module_raising_at_import_shows_the_apps_traceback(tmp_path):
    shutil.copy(FIXTURE_APPS / "crash_import.py", tmp_path)
    out = run("--http-socket", "127.0.0.1:0", "--module", "crash_import", "--need-app", cwd=tmp_path)
    assert out.returncode == 22
    assert "RuntimeError: this app fails at import on purpose" in out.stderr
    assert 'crash_import.py", line 1' in out.stderr


def test_missing_callable_without_need_app_serves_500(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "hello", "--callable", "nothere")
    proc.wait_http(port)
    status, _, body = http_request(port)
    assert status == 500
    proc.wait_log(r"nothere")


def test_app_loading_forms(satrap, tmp_path):
    pkg = tmp_path / "lib" / "mypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "web.py").write_text(
        "import os\n"
        "def make():\n"
        "    def app(e, s):\n"
        "        s('200 OK', [('Content-Type', 'text/plain')])\n"
        "        return [os.environ.get('GREETING', 'none').encode() + b' ' + os.getcwd().encode()]\n"
        "    return app\n"
        "myapp = make()\n")
    workdir = tmp_path / "work"
    workdir.mkdir()
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--pythonpath", str(tmp_path / "lib"),
                  "--module", "mypkg.web:make()", "--env", "GREETING=hi", "--chdir", str(workdir))
    proc.wait_http(port)
    assert http_request(port)[2] == f"hi {workdir}".encode()
    port2 = free_port()
    proc2 = satrap("--http-socket", f"127.0.0.1:{port2}", "--pythonpath", str(tmp_path / "lib"),
                   "--module", "mypkg.web", "--callable", "myapp")
    proc2.wait_http(port2)
    assert http_request(port2)[2].startswith(b"none ")


def test_wsgi_file_respects_main_guard_and_mounts(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "flaskapp.py", tmp_path / "site.py")
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path / "hello.py")
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", "site.py", "--callable", "app")
    proc.wait_http(port)
    assert http_request(port)[2] == b"hello v1\n"
    port2 = free_port()
    proc2 = satrap("--http-socket", f"127.0.0.1:{port2}", "--mount", "/site=site.py",
                   "--mount", "/hello=hello:application", "--callable", "app", "--manage-script-name")
    proc2.wait_http(port2, "/hello")
    assert http_request(port2, "GET", "/hello/x")[2] == b"Hello World\n"
    import json

    env = json.loads(http_request(port2, "GET", "/site/environ")[2])
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/site", "/environ")


def test_request_log_line_in_uwsgi_format_and_banner(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "hello")
    proc.wait_http(port)
    http_request(port, "GET", "/hello?x=1")
    line = proc.wait_log(
        r"\[pid: \d+\|app: 0\|req: \d+/\d+\] 127\.0\.0\.1 \(\) \{\d+ vars in \d+ bytes\} "
        r"\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] GET /hello\?x=1 => generated 12 bytes in \d+ msecs "
        r"\(HTTP/1\.1 200\) 1 headers in \d+ bytes \(1 switches on core 0\)")
    assert line
    log = proc.log()
    assert f"bound to TCP address 127.0.0.1:{port}" in log
    assert "WSGI app 0 (mountpoint='') ready" in log


def test_disable_logging_and_logto(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    logfile = tmp_path / "out.log"
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "hello", "--logto", str(logfile))
    proc.wait_http(port)
    http_request(port, "GET", "/logged")
    from support import wait_until

    wait_until(lambda: logfile.exists() and "GET /logged" in logfile.read_text(), 5, message="logto")
    port2 = free_port()
    quiet = satrap("--http-socket", f"127.0.0.1:{port2}", "--module", "hello", "--disable-logging")
    quiet.wait_http(port2)
    http_request(port2, "GET", "/quiet")
    http_request(port2, "GET", "/quiet2")
    assert "GET /quiet" not in quiet.log()
    assert "bound to" in quiet.log()  # only request lines are off


@pytest.mark.parametrize("argv", [["--master", "-p", "2"], ["-M", "--processes=2"]])
def test_short_flags_and_equals_forms(satrap, tmp_path, argv):
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    proc = satrap("-w", "hello", "--http-socket", f"127.0.0.1:{port}", *argv)
    proc.wait_http(port)
    assert len(proc.wait_workers(2)) == 2


def test_virtualenv_packages_come_first(satrap, tmp_path):
    """``--virtualenv DIR`` (``-H``, ``home``): the app imports what that venv holds, even when
    the same module is also importable from elsewhere."""
    import venv

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = next(env_dir.glob("lib/python*/site-packages"))
    (site / "venvonly.py").write_text("WHERE = b'from the venv'\n")
    shadow = tmp_path / "elsewhere"
    shadow.mkdir()
    (shadow / "venvonly.py").write_text("WHERE = b'from elsewhere'\n")
    (tmp_path / "vapp.py").write_text(
        "import venvonly\n"
        "def application(e, s):\n"
        "    s('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [venvonly.WHERE]\n")
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "-H", str(env_dir), "--module", "vapp",
                  env={"PYTHONPATH": str(shadow)})
    proc.wait_http(port)
    assert http_request(port)[2] == b"from the venv"
