"""The HTTP request vectors, as one table, and the writer of ``http_cases/{invalid,valid}/*.http``.

The ``.http`` files are the artefact (one raw request each, bytes exactly as sent, so the
functional suite can replay them at a live server); this table is where they are edited.
``test_http_cases.py`` fails when a file is missing or stale; regenerate with::

    python tests/protocol/protocol_cases.py

Naming: ``invalid/NNN-SSS-slug.http`` where SSS is the status a server with default limits
(buffer-size 4096, 100 headers, no limit-post) must answer; slugs starting ``chunk-`` are refused
while reading the body (the head is valid). ``valid/NNN-slug.http`` are requests that must be
served (``pipelined`` ones hold two requests).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "http_cases"

H = b"Host: example.com\r\n"


def get(line: bytes = b"GET / HTTP/1.1", *headers: bytes, body: bytes = b"") -> bytes:
    return line + b"\r\n" + b"".join(headers) + b"\r\n" + body


def chunked(body: bytes) -> bytes:
    return get(b"POST /upload HTTP/1.1", H, b"Transfer-Encoding: chunked\r\n", body=body)


# (slug, expected status, raw bytes)
INVALID: list[tuple[str, int, bytes]] = [
    # ---- request line (RFC 9112 3)
    ("lowercase-version", 400, get(b"GET / http/1.1", H)),
    ("http-2-0", 505, get(b"GET / HTTP/2.0", H)),
    ("http-0-9-version", 505, get(b"GET / HTTP/0.9", H)),
    ("http-3-0", 505, get(b"GET / HTTP/3.0", H)),
    ("version-missing", 400, get(b"GET /", H)),
    ("version-garbage", 400, get(b"GET / FOO/1.1", H)),
    ("version-two-digit-minor", 400, get(b"GET / HTTP/1.10", H)),
    ("version-no-minor", 400, get(b"GET / HTTP/1", H)),
    ("double-space-after-method", 400, get(b"GET  / HTTP/1.1", H)),
    ("trailing-space-after-version", 400, get(b"GET / HTTP/1.1 ", H)),
    ("leading-space", 400, get(b" GET / HTTP/1.1", H)),
    ("tab-separator", 400, get(b"GET\t/ HTTP/1.1", H)),
    ("method-paren", 400, get(b"G(ET / HTTP/1.1", H)),
    ("method-nul", 400, get(b"GE\x00T / HTTP/1.1", H)),
    ("method-non-ascii", 400, get(b"G\xc9T / HTTP/1.1", H)),
    ("target-space", 400, get(b"GET /a b HTTP/1.1", H)),
    ("target-control", 400, get(b"GET /a\x01b HTTP/1.1", H)),
    ("target-del", 400, get(b"GET /a\x7f HTTP/1.1", H)),
    ("target-nul", 400, get(b"GET /\x00 HTTP/1.1", H)),
    ("target-fragment", 400, get(b"GET /a#frag HTTP/1.1", H)),
    ("target-relative", 400, get(b"GET a/b HTTP/1.1", H)),
    ("target-asterisk-with-get", 400, get(b"GET * HTTP/1.1", H)),
    ("connect-authority-form", 501, get(b"CONNECT example.com:443 HTTP/1.1", H)),
    ("absolute-ftp-scheme", 400, get(b"GET ftp://example.com/ HTTP/1.1", H)),
    ("absolute-empty-host", 400, get(b"GET http:///path HTTP/1.1", H)),
    ("absolute-userinfo", 400, get(b"GET http://user@example.com/ HTTP/1.1", H)),
    ("absolute-bad-port", 400, get(b"GET http://example.com:8o/ HTTP/1.1", H)),
    ("request-line-too-long", 414, get(b"GET /" + b"a" * 5000 + b" HTTP/1.1", H)),
    ("tls-client-hello", 400, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32))),
    ("uwsgi-packet-to-http", 400, b"\x00\x0f\x00\x00\x0e\x00REQUEST_METHOD\x03\x00GET"),
    ("spaces-only-line", 400, get(b"   ", H)),
    # ---- line endings (RFC 9112 2.2)
    ("bare-lf-everywhere", 400, b"GET / HTTP/1.1\nHost: example.com\n\n"),
    ("bare-lf-after-request-line", 400, b"GET / HTTP/1.1\nHost: example.com\r\n\r\n"),
    ("bare-lf-final-blank-line", 400, b"GET / HTTP/1.1\r\nHost: example.com\r\n\n"),
    ("bare-lf-leading", 400, b"\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("bare-cr-request-line", 400, b"GET / HTTP/1.1\rHost: example.com\r\n\r\n"),
    ("bare-cr-in-value", 400, get(b"GET / HTTP/1.1", H, b"X-A: a\rb\r\n")),
    ("bare-lf-in-value", 400, get(b"GET / HTTP/1.1", H, b"X-A: a\nb\r\n")),
    ("bare-cr-blank-line", 400, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\r\n"),
    # ---- Host (RFC 9112 3.2)
    ("http11-without-host", 400, get(b"GET / HTTP/1.1")),
    ("multiple-host", 400, get(b"GET / HTTP/1.1", H, b"Host: evil.example\r\n")),
    ("multiple-host-same", 400, get(b"GET / HTTP/1.1", H, H)),
    ("host-with-space", 400, get(b"GET / HTTP/1.1", b"Host: exa mple.com\r\n")),
    ("host-with-slash", 400, get(b"GET / HTTP/1.1", b"Host: example.com/evil\r\n")),
    ("host-with-userinfo", 400, get(b"GET / HTTP/1.1", b"Host: user@example.com\r\n")),
    ("host-bad-port", 400, get(b"GET / HTTP/1.1", b"Host: example.com:80a\r\n")),
    # ---- field lines (RFC 9112 5, RFC 9110 5.5)
    ("space-before-colon", 400, get(b"GET / HTTP/1.1", b"Host : example.com\r\n")),
    ("tab-before-colon", 400, get(b"GET / HTTP/1.1", H, b"X-A\t: b\r\n")),
    ("obs-fold-space", 400, get(b"GET / HTTP/1.1", H, b"X-A: b\r\n c\r\n")),
    ("obs-fold-tab", 400, get(b"GET / HTTP/1.1", H, b"X-A: b\r\n\tc\r\n")),
    ("first-header-indented", 400, get(b"GET / HTTP/1.1", b" X-A: b\r\n", H)),
    ("header-no-colon", 400, get(b"GET / HTTP/1.1", H, b"X-A b\r\n")),
    ("header-empty-name", 400, get(b"GET / HTTP/1.1", H, b": b\r\n")),
    ("header-name-paren", 400, get(b"GET / HTTP/1.1", H, b"X(A): b\r\n")),
    ("header-name-non-ascii", 400, get(b"GET / HTTP/1.1", H, b"X-\xe9: b\r\n")),
    ("header-name-nul", 400, get(b"GET / HTTP/1.1", H, b"X-\x00A: b\r\n")),
    ("header-name-space-inside", 400, get(b"GET / HTTP/1.1", H, b"X A: b\r\n")),
    ("nul-in-value", 400, get(b"GET / HTTP/1.1", H, b"X-A: a\x00b\r\n")),
    ("soh-in-value", 400, get(b"GET / HTTP/1.1", H, b"X-A: a\x01b\r\n")),
    ("esc-in-value", 400, get(b"GET / HTTP/1.1", H, b"X-A: a\x1b[31mb\r\n")),
    ("del-in-value", 400, get(b"GET / HTTP/1.1", H, b"X-A: a\x7fb\r\n")),
    ("vertical-tab-in-value", 400, get(b"GET / HTTP/1.1", H, b"X-A: a\x0bb\r\n")),
    ("form-feed-in-value", 400, get(b"GET / HTTP/1.1", H, b"X-A: a\x0cb\r\n")),
    # ---- Content-Length (RFC 9110 8.6, RFC 9112 6.3)
    ("cl-non-numeric", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: abc\r\n")),
    ("cl-negative", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: -5\r\n", body=b"hello")),
    ("cl-plus-sign", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: +5\r\n", body=b"hello")),
    ("cl-empty", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: \r\n")),
    ("cl-hex", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: 0x5\r\n", body=b"hello")),
    ("cl-differing-list", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: 5, 6\r\n", body=b"hello!")),
    ("cl-differing-repeated", 400,
     get(b"POST / HTTP/1.1", H, b"Content-Length: 5\r\n", b"Content-Length: 6\r\n", body=b"hello!")),
    ("cl-space-inside", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: 1 0\r\n")),
    ("cl-decimal-point", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: 5.0\r\n", body=b"hello")),
    ("cl-superscript-digit", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: \xb2\r\n", body=b"hi")),
    ("cl-empty-list-element", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: 5,,5\r\n", body=b"hello")),
    # ---- Transfer-Encoding (RFC 9112 6.1, 6.3)
    ("cl-and-te", 400, get(b"POST / HTTP/1.1", H, b"Content-Length: 5\r\n",
                           b"Transfer-Encoding: chunked\r\n", body=b"0\r\n\r\n")),
    ("te-and-cl", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked\r\n",
                           b"Content-Length: 5\r\n", body=b"0\r\n\r\n")),
    ("te-gzip-only", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: gzip\r\n")),
    ("te-chunked-then-gzip", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked, gzip\r\n")),
    ("te-gzip-then-chunked", 501,
     get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: gzip, chunked\r\n", body=b"0\r\n\r\n")),
    ("te-chunked-twice", 400,
     get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked, chunked\r\n", body=b"0\r\n\r\n")),
    ("te-chunked-repeated-field", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked\r\n",
                                           b"Transfer-Encoding: chunked\r\n", body=b"0\r\n\r\n")),
    ("te-in-http10", 400,
     get(b"POST / HTTP/1.0", b"Transfer-Encoding: chunked\r\n", body=b"0\r\n\r\n")),
    ("te-empty", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: \r\n")),
    ("te-identity", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: identity\r\n")),
    ("te-chunked-with-param", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked;q=1\r\n")),
    ("te-xchunked", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: xchunked\r\n")),
    ("te-chunked-vertical-tab", 400, get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: \x0bchunked\r\n")),
    # ---- limits (buffer-size 4096, 100 fields)
    ("head-too-large", 431,
     get(b"GET / HTTP/1.1", H, *[b"X-Filler-%02d: %s\r\n" % (i, b"v" * 90) for i in range(50)])),
    ("too-many-headers", 431, get(b"GET / HTTP/1.1", H, *[b"X-%d: 1\r\n" % i for i in range(101)])),
    ("one-huge-header", 431, get(b"GET / HTTP/1.1", H, b"X-Big: " + b"a" * 5000 + b"\r\n")),
    ("endless-leading-crlf", 414, b"\r\n" * 2100),
    # ---- chunked bodies (RFC 9112 7.1): the head is valid, the body is not
    ("chunk-size-non-hex", 400, chunked(b"zz\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-negative", 400, chunked(b"-5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-0x-prefix", 400, chunked(b"0x5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-leading-space", 400, chunked(b" 5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-trailing-space", 400, chunked(b"5 \r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-plus", 400, chunked(b"+5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-empty", 400, chunked(b"\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-overflow", 400, chunked(b"ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-too-big", 400, chunked(b"10000000001\r\nhello\r\n0\r\n\r\n")),
    ("chunk-data-longer-than-size", 400, chunked(b"3\r\nhello\r\n0\r\n\r\n")),
    ("chunk-data-no-crlf", 400, chunked(b"5\r\nhelloXX0\r\n\r\n")),
    ("chunk-data-lf-only", 400, chunked(b"5\r\nhello\n0\r\n\r\n")),
    ("chunk-bare-lf-size-line", 400, chunked(b"5\nhello\r\n0\r\n\r\n")),
    ("chunk-bare-cr-size-line", 400, chunked(b"5\rhello\r\n0\r\n\r\n")),
    ("chunk-size-line-too-long", 400, chunked(b"5;" + b"a" * 2000 + b"\r\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-no-name", 400, chunked(b"5;=x\r\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-control", 400, chunked(b"5;a\x01\r\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-unterminated-quote", 400, chunked(b'5;a="x\r\nhello\r\n0\r\n\r\n')),
    ("chunk-trailer-obs-fold", 400, chunked(b"0\r\nX-T: a\r\n b\r\n\r\n")),
    ("chunk-trailer-no-colon", 400, chunked(b"0\r\nX-T a\r\n\r\n")),
    ("chunk-trailer-nul", 400, chunked(b"0\r\nX-T: a\x00\r\n\r\n")),
    ("chunk-trailer-space-before-colon", 400, chunked(b"0\r\nX-T : a\r\n\r\n")),
    ("chunk-last-bare-lf", 400, chunked(b"0\n\n")),
]

# (slug, raw bytes, expectations). "environ" lists a subset; "body" the decoded body;
# "consumed" is checked when given; "second" names the method of a pipelined second request.
VALID: list[tuple[str, bytes, dict[str, Any]]] = [
    ("simple-get", get(b"GET /hello?x=1&y=2 HTTP/1.1", H, b"User-Agent: t\r\n"),
     {"environ": {"REQUEST_METHOD": "GET", "PATH_INFO": "/hello", "QUERY_STRING": "x=1&y=2",
                  "REQUEST_URI": "/hello?x=1&y=2", "SERVER_PROTOCOL": "HTTP/1.1",
                  "HTTP_HOST": "example.com", "HTTP_USER_AGENT": "t"},
      "keep_alive": True, "content_length": None, "chunked": False}),
    ("http10-no-host", get(b"GET / HTTP/1.0"),
     {"environ": {"SERVER_PROTOCOL": "HTTP/1.0", "QUERY_STRING": ""}, "keep_alive": False}),
    ("http10-keep-alive", get(b"GET / HTTP/1.0", b"Connection: Keep-Alive\r\n"),
     {"keep_alive": True}),
    ("connection-close", get(b"GET / HTTP/1.1", H, b"Connection: close\r\n"), {"keep_alive": False}),
    ("connection-list-close", get(b"GET / HTTP/1.1", H, b"Connection: Upgrade, close\r\n"),
     {"keep_alive": False}),
    ("head-method", get(b"HEAD /x HTTP/1.1", H), {"environ": {"REQUEST_METHOD": "HEAD"}}),
    ("absolute-form", get(b"GET http://Other.Example:8080/p/a%2Fb?q=1 HTTP/1.1", H),
     {"environ": {"HTTP_HOST": "Other.Example:8080", "PATH_INFO": "/p/a/b", "QUERY_STRING": "q=1",
                  "REQUEST_URI": "http://Other.Example:8080/p/a%2Fb?q=1"}}),
    ("absolute-form-no-path", get(b"GET https://example.com?q HTTP/1.1", H),
     {"environ": {"PATH_INFO": "/", "QUERY_STRING": "q"}}),
    ("options-asterisk", get(b"OPTIONS * HTTP/1.1", H), {"environ": {"REQUEST_URI": "*"}}),
    ("leading-crlf", b"\r\n\r\n" + get(b"GET / HTTP/1.1", H), {"environ": {"PATH_INFO": "/"}}),
    ("post-content-length", get(b"POST /form HTTP/1.1", H,
                                b"Content-Type: application/x-www-form-urlencoded\r\n",
                                b"Content-Length: 7\r\n", body=b"a=1&b=2"),
     {"environ": {"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "7"},
      "content_length": 7, "body": b"a=1&b=2"}),
    ("cl-identical-list", get(b"POST / HTTP/1.1", H, b"Content-Length: 5, 5\r\n", body=b"hello"),
     {"environ": {"CONTENT_LENGTH": "5"}, "content_length": 5, "body": b"hello"}),
    ("cl-identical-repeated", get(b"POST / HTTP/1.1", H, b"Content-Length: 5\r\n",
                                  b"Content-Length: 5\r\n", body=b"hello"),
     {"content_length": 5, "body": b"hello"}),
    ("cl-zero", get(b"POST / HTTP/1.1", H, b"Content-Length: 0\r\n"),
     {"content_length": 0, "body": b""}),
    ("chunked-simple", chunked(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
     {"chunked": True, "body": b"hello world"}),
    ("chunked-extensions-trailers", chunked(
        b"5;name=value;flag\r\nhello\r\n6 ; q=\"a \\\"b\\\"\"\r\n world\r\n"
        b"0;last\r\nX-Checksum: abc\r\nX-Other:\r\n\r\n"),
     {"chunked": True, "body": b"hello world"}),
    ("chunked-uppercase-hex", chunked(b"A\r\n0123456789\r\n0000\r\n\r\n"),
     {"chunked": True, "body": b"0123456789"}),
    ("te-case-insensitive", get(b"POST / HTTP/1.1", H, b"Transfer-Encoding: Chunked\r\n",
                                body=b"3\r\nabc\r\n0\r\n\r\n"),
     {"chunked": True, "body": b"abc"}),
    ("expect-continue", get(b"PUT /f HTTP/1.1", H, b"Expect: 100-Continue\r\n",
                            b"Content-Length: 3\r\n", body=b"abc"),
     {"expect_continue": True, "content_length": 3, "body": b"abc"}),
    ("repeated-headers", get(b"GET / HTTP/1.1", H, b"Accept: a\r\n", b"Accept: b\r\n",
                             b"Cookie: a=1\r\n", b"Cookie: b=2\r\n"),
     {"environ": {"HTTP_ACCEPT": "a,b", "HTTP_COOKIE": "a=1; b=2"}}),
    ("underscore-header-dropped", get(b"GET / HTTP/1.1", H, b"X-Auth-User: real\r\n",
                                      b"X_Auth_User: spoofed\r\n"),
     {"environ": {"HTTP_X_AUTH_USER": "real"}, "header_count": 3}),
    ("percent-decoded-path", get(b"GET /caf%C3%A9/%7euser/%zz/r\xc3\xa9 HTTP/1.1", H),
     {"environ": {"PATH_INFO": "/caf\xc3\xa9/~user/%zz/r\xc3\xa9"}}),
    ("ows-around-values", get(b"GET / HTTP/1.1", b"Host:example.com\r\n", b"X-A: \t spaced \t \r\n",
                              b"X-B:\r\n", b"X-C: in ner\r\n"),
     {"environ": {"HTTP_HOST": "example.com", "HTTP_X_A": "spaced", "HTTP_X_B": "",
                  "HTTP_X_C": "in ner"}}),
    ("obs-text-value", get(b"GET / HTTP/1.1", H, b"X-Name: J\xfcrgen\r\n"),
     {"environ": {"HTTP_X_NAME": "J\xfcrgen"}}),
    ("header-name-case", get(b"GET / HTTP/1.1", b"hOsT: example.com\r\n", b"x-lower: 1\r\n"),
     {"environ": {"HTTP_HOST": "example.com", "HTTP_X_LOWER": "1"}}),
    ("ipv6-host", get(b"GET / HTTP/1.1", b"Host: [::1]:8080\r\n"), {"environ": {"HTTP_HOST": "[::1]:8080"}}),
    ("empty-host", get(b"GET / HTTP/1.1", b"Host:\r\n"), {"environ": {"HTTP_HOST": ""}}),
    ("custom-method", get(b"PROPFIND /dav HTTP/1.1", H), {"environ": {"REQUEST_METHOD": "PROPFIND"}}),
    ("hundred-headers", get(b"GET / HTTP/1.1", H, *[b"X-%d: 1\r\n" % i for i in range(99)]),
     {"header_count": 100}),
    ("pipelined", get(b"GET /1 HTTP/1.1", H) + get(b"GET /2 HTTP/1.1", H),
     {"environ": {"PATH_INFO": "/1"}, "second": "/2"}),
    ("pipelined-after-body", get(b"POST /1 HTTP/1.1", H, b"Content-Length: 2\r\n", body=b"ok")
     + get(b"GET /2 HTTP/1.1", H),
     {"content_length": 2, "body": b"ok", "second": "/2"}),
    ("pipelined-after-chunked", chunked(b"2\r\nok\r\n0\r\n\r\n") + get(b"GET /2 HTTP/1.1", H),
     {"chunked": True, "body": b"ok", "second": "/2"}),
]


def files() -> dict[str, bytes]:
    """Relative path -> bytes for every case file."""
    out: dict[str, bytes] = {}
    for i, (slug, status, raw) in enumerate(INVALID, 1):
        out[f"invalid/{i:03d}-{status}-{slug}.http"] = raw
    for i, (slug, raw, _) in enumerate(VALID, 1):
        out[f"valid/{i:03d}-{slug}.http"] = raw
    return out


def write_files(root: Path = HERE) -> None:
    """(Re)write the case files, removing stale ones."""
    wanted = files()
    for sub in ("invalid", "valid"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for old in (root / sub).glob("*.http"):
            if f"{sub}/{old.name}" not in wanted:
                old.unlink()
    for rel, raw in wanted.items():
        (root / rel).write_bytes(raw)


if __name__ == "__main__":
    write_files()
    print(f"wrote {len(files())} files under {HERE}", file=sys.stderr)
