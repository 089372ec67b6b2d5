"""Helpers shared by the app-loading tests (a plain module: conftest is not importable by name
when several test folders each have one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from wsgiref.util import setup_testing_defaults


def call(app: Callable[..., Any], path: str = "/", **extra: str) -> tuple[str, bytes, dict[str, Any]]:
    """Run one GET through a WSGI app; returns (status, body, the environ the app saw)."""
    environ: dict[str, Any] = {"PATH_INFO": path, "SCRIPT_NAME": ""}
    environ.update(extra)
    setup_testing_defaults(environ)
    captured: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = status
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], body, environ


#: a WSGI app that answers with its own name and what it saw of the path
ECHO_APP = '''
def make(name):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("%s %s %s" % (name, environ.get("SCRIPT_NAME", ""), environ["PATH_INFO"])).encode()]
    return app
'''
