"""What a worker has imported before the app asks for anything: every module satrap loads in
the master is mapped by every worker (and counted in its PSS), so features that most apps never
use (the shared cache's sqlite3, hooks' subprocess, cookie routes, temp-dir clean-up) load their
modules on first use, not at start-up."""

from __future__ import annotations

import subprocess
import sys

from support import free_port, http_request

# what satrap itself used to pull in at start-up, and a plain WSGI app does not need
HEAVY = ("sqlite3", "subprocess", "shutil", "tempfile", "http.cookies", "getpass", "secrets",
         "hmac", "lzma", "bz2", "zipfile", "random")

APP = f'''
import sys

HEAVY = {HEAVY!r}


def application(environ, start_response):
    if environ["PATH_INFO"] == "/cache":
        import uwsgi

        uwsgi.cache_set("k", b"v")
        body = uwsgi.cache_get("k")
    else:
        body = " ".join(m for m in HEAVY if m in sys.modules).encode() or b"none"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
'''


def _loaded_by_the_interpreter_itself() -> set[str]:
    """Modules a bare interpreter already has (``site`` and .pth files may import some of
    HEAVY on some machines): not satrap's doing."""
    out = subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_a_worker_starts_without_the_heavy_modules(satrap, tmp_path):
    baseline = _loaded_by_the_interpreter_itself()
    heavy = [m for m in HEAVY if m not in baseline]
    assert "sqlite3" in heavy  # the check below must have something to check
    (tmp_path / "app.py").write_text(APP.replace(repr(HEAVY), repr(tuple(heavy))))
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", "app.py", "--master",
                  "--processes", "1")
    proc.wait_http(port)
    status, _, body = http_request(port, "GET", "/")
    assert (status, body) == (200, b"none")
    # and the features behind them still work once asked for: the cache loads sqlite3 then
    assert http_request(port, "GET", "/cache")[2] == b"v"
    assert b"sqlite3" in http_request(port, "GET", "/")[2]


# satrap's own feature modules: loaded (in the master, before fork) only when the config asks
FEATURES = ("satrap.routing", "satrap.app.static", "satrap.worker.offload", "satrap.fastrouter.subscriber",
            "satrap.uwsgi_api.decorators_module")

FEATURE_APP = f'''
import sys

FEATURES = {FEATURES!r}


def application(environ, start_response):
    from satrap.options.catalog import REGISTRY

    if environ["PATH_INFO"] == "/decorators":
        from uwsgidecorators import postfork  # the stand-in loads the real module on first use

        body = postfork.__module__.encode()
    else:
        loaded = [m for m in FEATURES if m in sys.modules]
        body = (" ".join(loaded) or "none").encode() + b" whole=" + str(REGISTRY.whole).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
'''


def test_feature_modules_load_only_when_configured(satrap, tmp_path):
    (tmp_path / "app.py").write_text(FEATURE_APP)
    (tmp_path / "public").mkdir()
    port = free_port()
    # no-defer-accept and single-interpreter: a core row outside satrap's own, and a no-effect one
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", "app.py", "--master",
                  "--processes", "1", "--no-defer-accept", "--single-interpreter")
    proc.wait_http(port)
    assert http_request(port, "GET", "/")[2] == b"none whole=False"
    assert http_request(port, "GET", "/decorators")[2] == b"satrap.uwsgi_api.decorators_module"
    proc.stop()
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", "app.py", "--master",
                  "--processes", "1", "--static-map", "/static=public", "--route", "^/gone$ break:410")
    proc.wait_http(port)
    assert http_request(port, "GET", "/")[2] == b"satrap.routing satrap.app.static satrap.worker.offload whole=False"
    assert http_request(port, "GET", "/gone")[0] == 410
