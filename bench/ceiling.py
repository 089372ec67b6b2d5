"""In-process call rate of each bench app: the ceiling no server can beat.

Run with the bench venv's python (Flask lives there). Calls ``application(environ,
start_response)`` in a loop with a typical GET environ, joins the body and calls ``close()``
like a server would, and prints JSON ``{app: {"calls_per_s": .., "us_per_call": ..}}``.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import time
from pathlib import Path

APPS = {"plain": "hello.py", "flask": "flask_hello.py", "64k": "big.py", "echo1m": "echo.py"}


def _environ(body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST" if body else "GET", "SCRIPT_NAME": "", "PATH_INFO": "/",
        "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "9000",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1:9000", "HTTP_USER_AGENT": "wrk",
        "CONTENT_LENGTH": str(len(body)) if body else "", "CONTENT_TYPE": "",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def measure(app_path: Path, seconds: float) -> dict[str, float]:
    spec = importlib.util.spec_from_file_location(app_path.stem, app_path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    application = mod.application
    body = b"x" * 1048576 if app_path.stem == "echo" else b""

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        return None

    def once() -> None:
        env = _environ(body)
        it = application(env, start_response)
        b"".join(it)
        close = getattr(it, "close", None)
        if close:
            close()

    for _ in range(200):   # warm-up (imports, caches)
        once()
    n, t0 = 0, time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(100):
            once()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            break
    return {"calls_per_s": n / (now - t0), "us_per_call": (now - t0) / n * 1e6}


def main() -> None:
    apps_dir = Path(__file__).resolve().parent / "apps"
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    sys.path.insert(0, str(apps_dir))
    print(json.dumps({key: measure(apps_dir / f, seconds) for key, f in APPS.items()}))


if __name__ == "__main__":
    main()
