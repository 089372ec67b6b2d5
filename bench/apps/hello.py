"""Plain WSGI hello: measures the server's per-request overhead with almost no app work."""

from __future__ import annotations

from collections.abc import Callable, Iterable

_BODY = b"Hello, World!"
_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(_BODY)))]


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", _HEADERS)
    return [_BODY]


app = application
