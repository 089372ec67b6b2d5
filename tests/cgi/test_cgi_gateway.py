"""uWSGI's cgi plugin in satrap, end to end: the real ``satrap`` on an http-socket runs shell and
Python CGI scripts from temp directories, and every answer is checked on the wire.

One satrap per scenario (several checks each, to keep the suite light): the script mapping
(directory walk, PATH_INFO, index, redirects, mountpoints, a script file as the target), the
RFC 3875 environment, the body on stdin, Status/Location, the refusals (traversal, symlinks out of
the docroot, not executable, wrong extension), a crashing script, and ``cgi-timeout`` killing the
script's whole process group with no zombie left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import Satrap, free_port, http_request, read_until_eof, wait_until

ENV_SH = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\nX-Script: env\\r\\n\\r\\n'
for v in GATEWAY_INTERFACE REQUEST_METHOD SCRIPT_NAME PATH_INFO PATH_TRANSLATED QUERY_STRING \\
         REMOTE_ADDR SERVER_NAME SERVER_PORT SERVER_PROTOCOL SERVER_SOFTWARE HTTP_X_TOKEN HTTP_PROXY \\
         SCRIPT_FILENAME DOCUMENT_ROOT CONTENT_LENGTH SECRET_VAR; do
  eval "printf '%s=%s\\n' $v \\"\\$$v\\""
done
printf 'ARGS=%s\\n' "$*"
printf 'CWD=%s\\n' "$(pwd)"
printf 'ARGV0=%s\\n' "$0"
"""

ECHO_PY = """import os, sys
body = sys.stdin.buffer.read()
sys.stdout.write("Content-Type: application/octet-stream\\n")
sys.stdout.write("Content-Length: %d\\n\\n" % len(body))
sys.stdout.flush()
sys.stdout.buffer.write(body)
"""

STATUS_SH = """#!/bin/sh
printf 'Status: 418 I am a teapot\\nContent-Type: text/plain\\n\\nshort and stout\\n'
"""

REDIRECT_SH = """#!/bin/sh
printf 'Location: /elsewhere\\n\\n'
"""

CRASH_SH = """#!/bin/sh
echo "dying without a header" >&2
exit 3
"""

GARBAGE_SH = """#!/bin/sh
printf 'this is not a header line\\n\\nbody\\n'
"""

SLOW_SH = """#!/bin/sh
echo $$ > "$PIDFILE"
sleep 60 &
echo $! > "$PIDFILE.child"
wait
"""

INDEX_SH = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\nthe index\\n'
"""


def _script(path: Path, text: str, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def _proc_gone(pid: int) -> bool:
    """True once ``pid`` no longer exists at all (a zombie still has a /proc entry)."""
    return not os.path.exists(f"/proc/{pid}")


def _proc_dead(pid: int) -> bool:
    """Gone, or a zombie: a script's orphaned child is reaped by whoever adopts it, not by satrap."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _raw_get(port: int, target: str) -> bytes:
    """A request line sent as is (http.client would normalise a ``..`` path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        return read_until_eof(s)


@pytest.fixture
def killer() -> Iterator[Callable[[Path], None]]:
    """Pidfiles of scripts a test started: whatever is still alive at the end is killed by pid."""
    pidfiles: list[Path] = []
    yield pidfiles.append
    for pidfile in pidfiles:
        for path in (pidfile, Path(str(pidfile) + ".child")):
            try:
                os.kill(int(path.read_text().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def test_directory_mapping_environment_body_and_status(tmp_path: Path, satrap: Callable[..., Satrap]) -> None:
    www = tmp_path / "www"
    _script(www / "cgi-bin" / "env.sh", ENV_SH)
    _script(www / "cgi-bin" / "echo.py", ECHO_PY, 0o644)  # not executable: run by its cgi-helper
    _script(www / "cgi-bin" / "status.sh", STATUS_SH)
    _script(www / "cgi-bin" / "redirect.sh", REDIRECT_SH)
    _script(www / "cgi-bin" / "plain.sh", STATUS_SH, 0o644)  # neither executable nor helped
    _script(www / "docs" / "index.sh", INDEX_SH)
    other = tmp_path / "other"
    _script(other / "mounted.sh", ENV_SH)
    outside = _script(tmp_path / "outside" / "evil.sh", ENV_SH)
    (www / "cgi-bin" / "escape.sh").symlink_to(outside)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--cgi", str(www), "--cgi", f"/mnt={other}",
                  "--cgi-helper", f".py={sys.executable}", "--cgi-index", "index.sh",
                  "--cgi-unset", "SECRET_VAR", env={"SECRET_VAR": "leaked"})
    proc.wait_http(port, "/cgi-bin/env.sh")

    # GET: the directory walk stops at the script, the rest is PATH_INFO; RFC 3875 variables
    status, headers, body = http_request(port, "GET", "/cgi-bin/env.sh/extra/path?a=1&b=2",
                                         headers={"X-Token": "t0k", "Proxy": "http://evil:1"})
    assert status == 200 and headers["x-script"] == "env", body
    env = dict(line.split("=", 1) for line in body.decode().splitlines())
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == "/cgi-bin/env.sh"
    assert env["PATH_INFO"] == "/extra/path"
    assert env["PATH_TRANSLATED"] == str(www.resolve()) + "/extra/path"
    assert env["QUERY_STRING"] == "a=1&b=2"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(port) and env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_SOFTWARE"].startswith("satrap/")
    assert env["HTTP_X_TOKEN"] == "t0k"
    assert env["HTTP_PROXY"] == ""  # httpoxy: a client's Proxy header never becomes HTTP_PROXY
    assert env["SECRET_VAR"] == ""  # cgi-unset
    assert env["SCRIPT_FILENAME"] == str((www / "cgi-bin" / "env.sh").resolve())
    assert env["CWD"] == str((www / "cgi-bin").resolve())  # the script runs in its directory
    assert env["ARGS"] == ""  # a query with '=' is not an indexed query

    # an indexed query (no '=') becomes argv words, url-decoded
    _, _, body = http_request(port, "GET", "/cgi-bin/env.sh?one+tw%20o")
    assert "ARGS=one tw o" in body.decode()

    # POST: the body reaches the script's stdin, its Content-Length is kept
    payload = os.urandom(200_000)
    status, headers, body = http_request(port, "POST", "/cgi-bin/echo.py", body=payload,
                                         headers={"Content-Type": "application/octet-stream"})
    assert status == 200 and body == payload and headers["content-length"] == str(len(payload))

    # Status: and Location: headers
    status, _, body = http_request(port, "GET", "/cgi-bin/status.sh")
    assert status == 418 and body == b"short and stout\n"
    status, headers, _ = http_request(port, "GET", "/cgi-bin/redirect.sh")
    assert status == 302 and headers["location"] == "/elsewhere"

    # a directory: redirect to the slashed URL (query kept), then its cgi-index
    status, headers, _ = http_request(port, "GET", "/docs?x=1")
    assert status == 301 and headers["location"] == "/docs/?x=1"
    status, _, body = http_request(port, "GET", "/docs/")
    assert status == 200 and body == b"the index\n"

    # the mountpoint form: /mnt maps to another directory, SCRIPT_NAME keeps the mountpoint
    status, _, body = http_request(port, "GET", "/mnt/mounted.sh/pi")
    env = dict(line.split("=", 1) for line in body.decode().splitlines())
    assert status == 200 and env["SCRIPT_NAME"] == "/mnt/mounted.sh" and env["PATH_INFO"] == "/pi"
    assert env["SCRIPT_FILENAME"] == str((other / "mounted.sh").resolve())

    # refusals: missing, not executable, traversal (plain and encoded), a symlink out of the docroot
    assert http_request(port, "GET", "/cgi-bin/missing.sh")[0] == 404
    assert http_request(port, "GET", "/cgi-bin/plain.sh")[0] == 403
    for target in ("/cgi-bin/../../outside/evil.sh", "/cgi-bin/%2e%2e/%2e%2e/outside/evil.sh",
                   "/cgi-bin/..%2f..%2foutside/evil.sh"):
        reply = _raw_get(port, target)
        assert reply.split(b"\r\n", 1)[0] in (b"HTTP/1.0 403 Forbidden", b"HTTP/1.0 404 Not Found",
                                              b"HTTP/1.1 403 Forbidden", b"HTTP/1.1 404 Not Found"), reply
        assert b"ARGV0" not in reply
    status, _, body = http_request(port, "GET", "/cgi-bin/escape.sh")
    assert status == 403 and b"ARGV0" not in body
    log = proc.log()
    assert "CGI security error" in log and "Traceback" not in log


def test_crash_timeout_allowed_ext_script_file_and_dontresolve(
        tmp_path: Path, satrap: Callable[..., Satrap], killer: Callable[[Path], None]) -> None:
    www = tmp_path / "www"
    _script(www / "ok.cgi", INDEX_SH)
    _script(www / "crash.cgi", CRASH_SH)
    _script(www / "garbage.cgi", GARBAGE_SH)
    _script(www / "slow.cgi", SLOW_SH)
    _script(www / "other.sh", INDEX_SH)  # executable, but not an allowed extension
    safe = tmp_path / "libexec"
    _script(safe / "cgi-io.cgi", ENV_SH)  # (allowed-ext is checked on the target)
    (www / "upload.cgi").symlink_to(safe / "cgi-io.cgi")  # OpenWrt's cgi-io layout
    single = _script(tmp_path / "single" / "app.cgi", ENV_SH)
    pidfile = tmp_path / "slow.pid"
    killer(pidfile)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--master", "--processes", "1",
                  "--cgi", str(www), "--cgi", f"/single={single}", "--cgi-allowed-ext", ".cgi",
                  "--cgi-safe", str(safe.resolve()), "--cgi-dontresolve", "--cgi-timeout", "2",
                  env={"PIDFILE": str(pidfile)})
    proc.wait_http(port, "/ok.cgi")
    worker = proc.wait_workers(1)[0]

    assert http_request(port, "GET", "/ok.cgi")[2] == b"the index\n"
    assert http_request(port, "GET", "/other.sh")[0] == 403  # cgi-allowed-ext

    # a script dying before its header block, or writing garbage: 502, and the worker lives on
    assert http_request(port, "GET", "/crash.cgi")[0] == 502
    assert http_request(port, "GET", "/garbage.cgi")[0] == 502
    assert http_request(port, "GET", "/ok.cgi")[0] == 200
    assert proc.workers() == [worker]

    # a symlink into cgi-safe runs by its link name (cgi-dontresolve), from outside the docroot
    status, _, body = http_request(port, "GET", "/upload.cgi")
    env = dict(line.split("=", 1) for line in body.decode().splitlines())
    assert status == 200 and env["ARGV0"] == str(www.resolve() / "upload.cgi"), body

    # a script file as the target: every URL under its mountpoint runs it
    status, _, body = http_request(port, "GET", "/single/any/thing")
    env = dict(line.split("=", 1) for line in body.decode().splitlines())
    assert status == 200 and env["SCRIPT_NAME"] == "/single" and env["PATH_INFO"] == "/any/thing"

    # cgi-timeout: a silent script gets 504, and its whole process group is killed and reaped
    status, _, _ = http_request(port, "GET", "/slow.cgi", timeout=20)
    assert status == 504
    script_pid = int(pidfile.read_text())
    grandchild = int(Path(str(pidfile) + ".child").read_text())
    wait_until(lambda: _proc_gone(script_pid) and _proc_dead(grandchild), 10,
               message="the timed-out script and its child gone (killed and reaped)")
    assert http_request(port, "GET", "/ok.cgi")[0] == 200
    assert proc.workers() == [worker]
    assert "CGI timeout" in proc.log()
