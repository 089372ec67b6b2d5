"""The response writer's head cache: a head validated once is reused, never confused with another.

The worker answers most requests with the same few heads, so ``app.invoke`` keeps the encoded
status and header lines per distinct (version, status, headers). These tests pin what must never
happen because of that cache: a stale head, a server-added line leaking between requests, a
refused head getting in, or the cache growing without bound.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from satrap.app import invoke
from satrap.app.invoke import Response


def _run(app: Callable[..., Any], keep_alive: bool = True, version: str = "HTTP/1.1") -> bytes:
    out: list[bytes] = []
    resp = Response(out.append, version, keep_alive, False, True)
    resp.run(app, {"REQUEST_METHOD": "GET", "PATH_INFO": "/"})
    return b"".join(out)


def _app(status: str, headers: Any, body: bytes = b"hi") -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response(status, headers)
        return [body]

    return app


def test_same_head_twice_is_byte_identical_and_served_from_the_cache() -> None:
    invoke._HEADS.clear()
    headers = [("Content-Type", "text/plain"), ("Content-Length", "2")]
    first = _run(_app("200 OK", list(headers)))
    assert len(invoke._HEADS) == 1
    second = _run(_app("200 OK", list(headers)))
    assert first == second == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
    assert len(invoke._HEADS) == 1


def test_a_different_value_or_status_is_a_different_head() -> None:
    invoke._HEADS.clear()
    a = _run(_app("200 OK", [("X-Id", "1")]))
    b = _run(_app("200 OK", [("X-Id", "2")]))
    c = _run(_app("201 Created", [("X-Id", "2")]))
    assert b"X-Id: 1\r\n" in a and b"X-Id: 2\r\n" in b
    assert c.startswith(b"HTTP/1.1 201 Created\r\n")
    assert len(invoke._HEADS) == 3


def test_server_added_lines_are_not_cached_with_the_app_head() -> None:
    invoke._HEADS.clear()
    headers = [("Content-Type", "text/plain")]
    kept = _run(_app("200 OK", list(headers)), keep_alive=True)
    closed = _run(_app("200 OK", list(headers)), keep_alive=False)
    old = _run(_app("200 OK", list(headers)), version="HTTP/1.0")
    assert b"Connection: close" not in kept and b"Content-Length: 2\r\n" in kept
    assert b"Connection: close\r\n" in closed
    assert old.startswith(b"HTTP/1.0 200 OK\r\n")


def test_content_length_and_connection_close_come_from_the_cached_scan() -> None:
    invoke._HEADS.clear()
    headers = [("Content-Length", "2"), ("Connection", "close")]
    for _ in range(2):
        out: list[bytes] = []
        resp = Response(out.append, "HTTP/1.1", True, False, True)
        resp.run(_app("200 OK", list(headers)), {})
        assert resp.keep_alive is False and resp.length == 2 and resp.code == 200


def test_unhashable_headers_work_every_time() -> None:
    invoke._HEADS.clear()
    for _ in range(2):
        raw = _run(_app("200 OK", [["X-List", "ok"]]))
        assert raw.startswith(b"HTTP/1.1 200 OK\r\nX-List: ok\r\n")
    assert not invoke._HEADS


@pytest.mark.parametrize("headers", [[("X-Bad", "a\r\nSet-Cookie: evil=1")], [("Content-Length", "two")]])
def test_a_refused_head_is_a_500_and_never_enters_the_cache(headers: list[tuple[str, str]]) -> None:
    invoke._HEADS.clear()
    for _ in range(2):
        raw = _run(_app("200 OK", headers))
        assert raw.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        assert b"evil" not in raw
    assert all(key[2] != tuple(headers) for key in invoke._HEADS)


def test_a_big_head_is_served_but_not_kept() -> None:
    invoke._HEADS.clear()
    big = "x" * (invoke._HEAD_CACHED_MAX + 1)
    for _ in range(2):
        raw = _run(_app("200 OK", [("Content-Security-Policy", big)]))
        assert f"Content-Security-Policy: {big}\r\n".encode() in raw
    assert not invoke._HEADS


def test_the_cache_is_bounded() -> None:
    invoke._HEADS.clear()
    for i in range(invoke._HEADS_MAX * 2 + 3):
        raw = _run(_app("200 OK", [("Set-Cookie", f"s={i}")]))
        assert f"Set-Cookie: s={i}\r\n".encode() in raw
        assert len(invoke._HEADS) <= invoke._HEADS_MAX
