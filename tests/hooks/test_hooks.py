"""hook-<phase> / exec-<phase> / call-<phase>, end to end through the real command."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import free_port, http_request, wait_until

APP = "def application(e, s):\n    s('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok']\n"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(APP)
    (tmp_path / "hookmod.py").write_text(
        "import os\n"
        "def mark():\n    open(os.environ['HOOK_OUT'], 'a').write('called\\n')\n"
        "def bad():\n    return 3\n")
    return path


def test_phases_run_in_order_with_their_actions(satrap, tmp_path: Path, app: Path) -> None:
    out = tmp_path / "out.txt"
    port = free_port()
    proc = satrap(
        "--master", "--processes", "2", "--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app),
        "--pythonpath", str(tmp_path),
        "--hook-asap", f"mkdir:{tmp_path}/made",
        "--hook-asap", f"write:{tmp_path}/made/w.txt hello world",
        "--exec-asap", f"echo asap >> {out}",
        "--hook-as-user", f"exec:echo as-user >> {out}",
        "--exec-pre-app", f"echo pre-app >> {out}",
        "--hook-post-app", "print:post-app hook says hi",
        "--call-post-app", "hookmod.mark",
        "--hook-master-start", f"exec:echo master-start >> {out}",
        "--hook-post-fork", f"exec:echo post-fork >> {out}",
        "--hook-as-user-atexit", f"exec:echo atexit >> {out}",
        env={"HOOK_OUT": str(out)})
    proc.wait_http(port)
    assert http_request(port)[0] == 200
    wait_until(lambda: out.read_text().count("post-fork") == 2, 10)
    lines = out.read_text().split()
    assert lines[:5] == ["asap", "as-user", "pre-app", "called", "master-start"]
    assert (tmp_path / "made" / "w.txt").read_text() == "hello world"
    proc.wait_log(r"post-app hook says hi")
    proc.wait_log(r'running "exec:echo as-user')
    proc.signal(2)
    proc.wait_exit()
    assert "atexit" in out.read_text()


def test_failing_exec_hook_is_fatal(satrap, tmp_path: Path, app: Path) -> None:
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app), "--exec-asap", "exit 3")
    assert proc.wait_exit() != 0
    assert 'asap hook "exit 3" failed' in proc.log()


def test_failing_hook_action_in_pre_app_is_fatal(satrap, tmp_path: Path, app: Path) -> None:
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app), "--pythonpath", str(tmp_path),
                  "--hook-pre-app", "callret:hookmod.bad")
    assert proc.wait_exit() != 0
    assert "hookmod.bad returned 3" in proc.log()


def test_safeexec_and_atexit_failures_are_not_fatal(satrap, tmp_path: Path, app: Path) -> None:
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app),
                  "--hook-asap", "safeexec:exit 4", "--exec-as-user-atexit", "exit 5")
    proc.wait_http(port)
    assert http_request(port)[0] == 200


def test_exit_and_chdir_hooks(satrap, tmp_path: Path, app: Path) -> None:
    port = free_port()
    (tmp_path / "sub").mkdir()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app),
                  "--hook-asap", f"cd:{tmp_path}/sub", "--hook-asap", "write:here.txt x",
                  "--hook-as-user", "exit:7")
    assert proc.wait_exit() == 7
    assert (tmp_path / "sub" / "here.txt").read_text() == "x"


def test_unknown_hook_action_is_named(satrap, tmp_path: Path, app: Path) -> None:
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app), "--hook-asap", "frobnicate:x")
    assert proc.wait_exit() != 0
    assert "hook action not found: frobnicate" in proc.log()


def test_unix_signal_remaps_sigterm_to_graceful_stop(satrap, tmp_path: Path, app: Path) -> None:
    port = free_port()
    proc = satrap("--master", "--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app),
                  "--hook-master-start", "unix_signal:15 gracefully_kill_them_all")
    proc.wait_http(port)
    proc.signal(15)  # without the hook (and without die-on-term) SIGTERM would reload
    assert proc.wait_exit() == 0


def test_accepting_and_as_root_hooks_run_end_to_end(satrap, tmp_path):
    """``hook-accepting`` runs in each worker once it accepts; ``hook-as-root`` before the
    privilege drop."""
    import shutil

    from support import FIXTURE_APPS, free_port, http_request, wait_until

    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    marker = tmp_path / "accepting.txt"
    root_marker = tmp_path / "root.txt"
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "hello", "--master", "--processes", "2",
                  "--hook-accepting", f"exec:echo accepting >> {marker}",
                  "--hook-as-root", f"write:{root_marker} root")
    proc.wait_http(port)
    assert http_request(port)[0] == 200
    wait_until(lambda: marker.exists() and marker.read_text().count("accepting") == 2, 10,
               message="hook-accepting in both workers")
    assert root_marker.read_text().strip() == "root"
