"""Micro-benchmark of the per-request protocol work (not collected by pytest).

    python tests/protocol/bench_protocol.py

Prints microseconds per call (best of 5 runs) for a typical 8-header browser GET, an nginx
uwsgi vars block, a response head and a chunked body.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from satrap.protocol.http11 import ChunkedDecoder, Limits, parse_head, response_head
from satrap.protocol.uwsgi import encode_packet, parse_packet, parse_vars

BROWSER_GET = (
    b"GET /search/results?q=python+wsgi&page=2 HTTP/1.1\r\n"
    b"Host: www.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Connection: keep-alive\r\n"
    b"Cookie: session=abc123; theme=dark\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n\r\n"
)
BROWSER_GET_PCT = BROWSER_GET.replace(b"/search/results", b"/caf%C3%A9/r%C3%A9sum%C3%A9")

NGINX_VARS = {
    "QUERY_STRING": "q=python", "REQUEST_METHOD": "GET", "CONTENT_TYPE": "", "CONTENT_LENGTH": "",
    "REQUEST_URI": "/search?q=python", "PATH_INFO": "/search", "DOCUMENT_ROOT": "/usr/share/nginx/html",
    "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_SCHEME": "http", "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "51234", "SERVER_PORT": "80", "SERVER_NAME": "localhost",
    "HTTP_HOST": "www.example.com", "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)",
    "HTTP_ACCEPT": "text/html,*/*;q=0.8", "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.5",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br", "HTTP_COOKIE": "session=abc123; theme=dark",
}
PACKET = encode_packet(NGINX_VARS)
CHUNKED = b"".join(b"%x\r\n%s\r\n" % (1000, b"x" * 1000) for _ in range(16)) + b"0\r\n\r\n"
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "1234"),
           ("Cache-Control", "no-cache"), ("Set-Cookie", "a=1; Path=/")]


def bench(name: str, fn: object, number: int = 50000) -> None:
    best = min(timeit.repeat(fn, number=number, repeat=5))  # type: ignore[arg-type]
    print(f"{name:44s} {best / number * 1e6:7.2f} us")


def main() -> None:
    limits = Limits()
    assert parse_head(BROWSER_GET, limits) is not None
    bench("parse_head, 8-header browser GET", lambda: parse_head(BROWSER_GET, limits))
    bench("parse_head, same with %-encoded UTF-8 path", lambda: parse_head(BROWSER_GET_PCT, limits))
    block = PACKET[4:]
    bench(f"parse_vars, nginx block ({len(NGINX_VARS)} vars)", lambda: parse_vars(block))
    bench("parse_packet, same", lambda: parse_packet(PACKET))
    bench("response_head, 4 headers + extra", lambda: response_head(
        "200 OK", HEADERS, extra=b"Connection: keep-alive\r\n"))
    bench("ChunkedDecoder, 16 x 1000-byte chunks", lambda: ChunkedDecoder().feed(CHUNKED), 10000)


if __name__ == "__main__":
    main()
