"""A 64 KiB response: exercises the write path (one large send vs many small ones)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

_BODY = b"x" * 65536
_HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(_BODY)))]


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", _HEADERS)
    return [_BODY]


app = application
