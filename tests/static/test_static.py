"""``static-map`` end to end: the real ``satrap --http-socket ... --static-map`` over real sockets.

Why raw bytes for the traversal attempts: an HTTP client library normalises ``..`` and encodes
odd bytes before they reach the server; an attacker does not.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from support import free_port, http_request, raw_exchange

APP = '''
def application(environ, start_response):
    body = ("app:" + environ["PATH_INFO"]).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''
SECRET = b"TOP-SECRET-CONTENT"
BIG = 100 * 1024 * 1024


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """docroot with files, an index, a symlink out, and a secret next to (outside) the root."""
    (tmp_path / "app.py").write_text(APP)
    root = tmp_path / "public"
    (root / "css").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "index.html").write_bytes(b"<h1>home</h1>\n")
    (root / "css" / "site.css").write_bytes(b"body { color: red }\n")
    (root / "docs" / "index.html").write_bytes(b"<p>docs</p>\n")
    (root / "data.json").write_bytes(b'{"a": 1}\n')
    (root / "hello world.txt").write_bytes(b"spaces ok\n")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    (root / "escdir").symlink_to(tmp_path)
    (root / "inside-link.css").symlink_to(root / "css" / "site.css")
    big = root / "big.bin"
    with open(big, "wb") as f:  # sparse, then a few marked regions so ranges are checkable
        f.truncate(BIG)
        for off in (0, 1234567, BIG // 2, BIG - 4096):
            f.seek(off)
            f.write(hashlib.sha256(str(off).encode()).digest() * 128)
    return tmp_path


@pytest.fixture
def server(satrap, site: Path):
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", "app.py",
                  "--static-map", f"/static={site / 'public'}", "--static-map", f"/favicon.ico={site / 'public' / 'data.json'}",
                  "--static-index", "index.html", "--static-expires", r"\.css$ 3600",
                  "--static-expires-uri", r"^/static/data\.json 60", cwd=site)
    proc.wait_http(port, "/")
    proc.port = port  # type: ignore[attr-defined]
    return proc


def get(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    return http_request(port, method, path, headers=headers)


def test_serves_files_with_type_dates_and_index(server) -> None:
    port = server.port
    status, h, body = get(port, "/static/css/site.css")
    assert (status, body) == (200, b"body { color: red }\n")
    assert h["content-type"] == "text/css"
    assert h["content-length"] == "20"
    assert "last-modified" in h and "etag" in h and h["accept-ranges"] == "bytes"
    assert h["cache-control"] == "max-age=3600"
    assert "expires" in h
    assert get(port, "/static/data.json")[1]["content-type"] == "application/json"
    assert get(port, "/static/data.json")[1]["cache-control"].startswith("max-age=")
    assert get(port, "/static/")[2] == b"<h1>home</h1>\n"
    assert get(port, "/static")[2] == b"<h1>home</h1>\n"
    assert get(port, "/static/docs")[2] == b"<p>docs</p>\n"
    assert get(port, "/static/hello%20world.txt")[2] == b"spaces ok\n"
    assert get(port, "/favicon.ico")[2] == b'{"a": 1}\n'  # a mapping to one file
    assert get(port, "/static/inside-link.css")[0] == 200  # a symlink that stays inside


def test_misses_fall_through_to_the_app(server) -> None:
    port = server.port
    assert get(port, "/")[2] == b"app:/"
    assert get(port, "/static/nope.txt")[2] == b"app:/static/nope.txt"
    assert get(port, "/staticfoo")[2] == b"app:/staticfoo"  # prefix on a segment boundary only
    assert get(port, "/static/css")[2] == b"app:/static/css"  # a directory without an index
    status, _, body = http_request(port, "POST", "/static/css/site.css", body=b"x")
    assert body == b"app:/static/css/site.css"


def test_conditional_requests_304(server) -> None:
    port = server.port
    _, h, _ = get(port, "/static/css/site.css")
    status, h2, body = get(port, "/static/css/site.css", {"If-Modified-Since": h["last-modified"]})
    assert (status, body) == (304, b"")
    assert h2["etag"] == h["etag"]
    old = formatdate(time.time() - 10 * 86400, usegmt=True)
    assert get(port, "/static/css/site.css", {"If-Modified-Since": old})[0] == 200
    assert get(port, "/static/css/site.css", {"If-None-Match": h["etag"]})[0] == 304
    assert get(port, "/static/css/site.css", {"If-None-Match": '"other"', "If-Modified-Since": h["last-modified"]})[0] == 200
    assert get(port, "/static/css/site.css", {"If-Modified-Since": "garbage"})[0] == 200


def test_head_sends_headers_only(server) -> None:
    port = server.port
    status, h, body = get(port, "/static/big.bin", method="HEAD")
    assert (status, body) == (200, b"")
    assert h["content-length"] == str(BIG)


def test_ranges_on_small_file(server) -> None:
    port = server.port
    status, h, body = get(port, "/static/css/site.css", {"Range": "bytes=0-3"})
    assert (status, body, h["content-range"]) == (206, b"body", "bytes 0-3/20")
    assert get(port, "/static/css/site.css", {"Range": "bytes=-4"})[2] == b"d }\n"
    assert get(port, "/static/css/site.css", {"Range": "bytes=15-"})[2] == b"ed }\n"
    assert get(port, "/static/css/site.css", {"Range": "bytes=10-999"})[1]["content-range"] == "bytes 10-19/20"
    status, h, body = get(port, "/static/css/site.css", {"Range": "bytes=20-"})
    assert (status, h["content-range"]) == (416, "bytes */20")
    assert get(port, "/static/css/site.css", {"Range": "bytes=0-1,4-5"})[0] == 200  # several: whole file
    assert get(port, "/static/css/site.css", {"Range": "lines=1-2"})[0] == 200
    assert get(port, "/static/css/site.css", {"Range": "bytes=0-3", "If-Range": '"stale"'})[0] == 200


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def test_big_file_arrives_intact_with_sendfile_and_ranges(server, site: Path) -> None:
    port = server.port
    path = site / "public" / "big.bin"
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    pids = [server.pid, *server.workers()]
    cpu_before = _cpu_seconds(pids)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/static/big.bin")
    resp = conn.getresponse()
    digest = hashlib.sha256()
    got = 0
    while chunk := resp.read(1 << 20):
        digest.update(chunk)
        got += len(chunk)
    conn.close()
    assert resp.status == 200 and got == BIG and digest.hexdigest() == want
    used = _cpu_seconds(pids) - cpu_before
    # copying 100 MB through Python costs far more; sendfile leaves the worker almost idle
    assert used < 0.5, f"satrap used {used:.2f}s of CPU to send 100 MB: not sendfile?"
    data = path.read_bytes()
    for first, last in ((0, 99), (1234560, 1234567 + 8191), (BIG // 2 - 5, BIG // 2 + 70000), (BIG - 5000, BIG - 1)):
        status, h, body = get(port, "/static/big.bin", {"Range": f"bytes={first}-{last}"})
        assert status == 206 and h["content-range"] == f"bytes {first}-{last}/{BIG}"
        assert body == data[first:last + 1]
    status, _, body = get(port, "/static/big.bin", {"Range": "bytes=-4096"})
    assert body == data[-4096:]
    # keep-alive still works after a ranged sendfile: two ranged requests on one connection
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for first in (10, BIG - 100):
        conn.request("GET", "/static/big.bin", headers={"Range": f"bytes={first}-{first + 9}"})
        resp = conn.getresponse()
        assert resp.read() == data[first:first + 10]
    conn.close()


TRAVERSALS = [
    b"/static/../secret.txt",
    b"/static/css/../../secret.txt",
    b"/static/%2e%2e/secret.txt",
    b"/static/%2E%2E/secret.txt",
    b"/static/.%2e/secret.txt",
    b"/static/%2e./secret.txt",
    b"/static/%2e%2e%2fsecret.txt",
    b"/static/..%2fsecret.txt",
    b"/static/..%2Fsecret.txt",
    b"/static/%2e%2e%5csecret.txt",
    b"/static/..\\secret.txt",
    b"/static/css%2f..%2f..%2fsecret.txt",
    b"/static/secret.txt%00.css",
    b"/static/escape",
    b"/static/escdir/secret.txt",
    b"/static/./../secret.txt",
    b"/static//../secret.txt",
    b"/static/css/./../../secret.txt",
    b"/static/%252e%252e/secret.txt",
    b"/static/%c0%ae%c0%ae/secret.txt",
    b"/static/..;/secret.txt",
    b"/static/....//secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode("latin-1") for t in TRAVERSALS])
def test_traversal_attempts_are_refused(server, target: bytes) -> None:
    raw = raw_exchange(server.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert SECRET not in raw
    status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0
    # refused by the static layer (403), by the parser (400), or a miss the app answers (no secret)
    assert status in (400, 403, 404) or (status == 200 and b"app:" in raw), raw[:300]


def test_at_least_15_traversals_get_403_from_the_static_layer(server) -> None:
    refused = 0
    for target in TRAVERSALS:
        raw = raw_exchange(server.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        refused += raw.startswith(b"HTTP/1.1 403")
    assert refused >= 15, refused


def test_behind_the_uwsgi_protocol(satrap, site: Path) -> None:
    """REQUEST_URI comes raw from nginx; the static layer checks it too (uwsgi packet by hand)."""
    from satrap.protocol.uwsgi import encode_packet

    port = free_port()
    proc = satrap("--socket", f"127.0.0.1:{port}", "--wsgi-file", "app.py",
                  "--static-map", f"/static={site / 'public'}", cwd=site)
    proc.wait_port(port)

    def ask(uri: str, path: str) -> bytes:
        pkt = encode_packet({"REQUEST_METHOD": "GET", "REQUEST_URI": uri, "PATH_INFO": path, "QUERY_STRING": "",
                             "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "x", "SERVER_PORT": "80",
                             "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "x"})
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(pkt)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            return out

    assert b"body { color: red }" in ask("/static/css/site.css", "/static/css/site.css")
    refused = ask("/static/%2e%2e/secret.txt", "/static/../secret.txt")
    assert refused.split(b"\r\n", 1)[0].endswith(b"403 Forbidden") and SECRET not in refused
    assert SECRET not in ask("/static/..%2fsecret.txt", "/static/../secret.txt")
