"""Unit tests of satrap.protocol.http11: one test per rule, with the RFC section it comes from."""

from __future__ import annotations

import dataclasses

import pytest

from satrap.protocol import errors, http11
from satrap.protocol.errors import ProtocolError
from satrap.protocol.http11 import (
    LAST_CHUNK,
    ChunkedDecoder,
    Limits,
    RequestHead,
    encode_chunk,
    error_response,
    parse_head,
    response_head,
)

H = b"Host: example.com\r\n"


def req(line: bytes = b"GET / HTTP/1.1", *headers: bytes) -> bytes:
    return line + b"\r\n" + b"".join(headers) + b"\r\n"


DEFAULT = Limits()


def head(raw: bytes, limits: Limits = DEFAULT) -> RequestHead:
    result = parse_head(raw, limits)
    assert result is not None
    assert result[1] == len(raw)
    return result[0]


def status(raw: bytes, limits: Limits = DEFAULT) -> int:
    with pytest.raises(ProtocolError) as info:
        parse_head(raw, limits)
    return info.value.status


# ---------------------------------------------------------------------------- errors
def test_error_statuses() -> None:
    assert errors.ProtocolError("x").status == 400
    assert errors.PayloadTooLarge().status == 413
    assert errors.URITooLong().status == 414
    assert errors.HeadersTooLarge().status == 431
    assert errors.NotImplementedMethod().status == 501
    assert errors.UnsupportedTransferCoding().status == 501
    assert errors.VersionNotSupported().status == 505
    err = errors.HeadersTooLarge("too big")
    assert isinstance(err, ProtocolError)
    assert err.status_hint == 431 and err.message == "too big" and str(err) == "too big"
    assert errors.PayloadTooLarge().message == "Content Too Large"
    assert "431" in repr(err)


def test_error_response() -> None:
    raw = error_response(errors.VersionNotSupported("HTTP/2.0 not supported"))
    head_, _, body = raw.partition(b"\r\n\r\n")
    assert head_.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n")
    assert b"Connection: close" in head_
    assert f"Content-Length: {len(body)}".encode() in head_
    assert body.startswith(b"505 ")


# ---------------------------------------------------------------------------- Limits
def test_limits_defaults_and_frozen() -> None:
    lim = Limits()
    assert (lim.max_head, lim.max_headers, lim.max_uri, lim.limit_post) == (4096, 100, 8190, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lim.max_head = 1  # type: ignore[misc]


# ---------------------------------------------------------------------------- incremental
def test_need_more_bytes_then_head_and_consumed() -> None:
    raw = req(b"POST /p HTTP/1.1", H, b"Content-Length: 3\r\n") + b"abcGET"
    end = raw.index(b"\r\n\r\n") + 4
    for i in range(end):
        assert parse_head(raw[:i]) is None
    result = parse_head(raw)
    assert result is not None
    assert result[1] == end and raw[end:] == b"abcGET"


def test_bytearray_input() -> None:
    assert head(bytearray(req(b"GET / HTTP/1.1", H))).method == "GET"


def test_leading_empty_lines_ignored() -> None:
    """RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request-line."""
    raw = b"\r\n\r\n\r\n" + req(b"GET / HTTP/1.1", H)
    result = parse_head(raw)
    assert result is not None and result[1] == len(raw)
    assert parse_head(b"\r\n") is None and parse_head(b"\r\n\r") is None


def test_never_hangs_on_bare_lf() -> None:
    """uWSGI waits forever on LF-only heads; satrap refuses them as soon as the LF arrives."""
    assert status(b"GET / HTTP/1.1\n") == 400
    assert status(b"GET / HTTP/1.1\r\nHost: x\n") == 400
    assert status(b"G\n") == 400
    assert parse_head(b"GET / HTTP/1.1\r") is None


def test_garbage_refused_at_once() -> None:
    assert status(b"\x16") == 400  # TLS handshake on a plain HTTP port
    assert status(b"\x00") == 400  # a uwsgi packet on an HTTP port
    assert status(b" ") == 400
    assert parse_head(b"GE") is None


def test_head_too_large_431_and_line_too_long_414() -> None:
    lim = Limits(max_head=64)
    assert status(b"GET /" + b"a" * 70, lim) == 414  # the request line never ended
    assert status(b"GET / HTTP/1.1\r\nX: " + b"a" * 70, lim) == 431
    # the end of the head just past the limit: still too large, even with the end in the buffer
    raw = req(b"GET / HTTP/1.1", b"Host: " + b"a" * 40 + b"\r\n")
    assert len(raw) > 64
    assert status(raw + b"body", lim) == 431
    # exactly at the limit is fine
    exact = req(b"GET / HTTP/1.1", b"Host: " + b"a" * (64 - len(req(b"GET / HTTP/1.1", b"Host: \r\n"))) + b"\r\n")
    assert len(exact) == 64
    assert head(exact, lim).environ["HTTP_HOST"].startswith("aaa")


def test_max_uri() -> None:
    lim = Limits(max_head=20000, max_uri=100)
    assert head(req(b"GET /" + b"a" * 99 + b" HTTP/1.1", H), lim).target == "/" + "a" * 99
    assert status(req(b"GET /" + b"a" * 100 + b" HTTP/1.1", H), lim) == 414
    assert status(b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n", lim) == 414  # known before the head ends


def test_max_headers() -> None:
    lim = Limits(max_headers=3)
    assert head(req(b"GET / HTTP/1.1", H, b"A: 1\r\n", b"B: 2\r\n"), lim).header_count == 3
    assert status(req(b"GET / HTTP/1.1", H, b"A: 1\r\n", b"B: 2\r\n", b"C: 3\r\n"), lim) == 431
    # a bare LF among too many fields is still the 400 a stream would have met first
    assert status(req(b"GET / HTTP/1.1", H, b"A: 1\n", b"B: 2\r\n", b"C: 3\r\n"), lim) == 400


# ---------------------------------------------------------------------------- request line
@pytest.mark.parametrize(
    "line, code",
    [
        (b"GET / HTTP/1.2", 505),
        (b"GET / HTTP/2.0", 505),
        (b"GET / HTTP/1.1x", 400),
        (b"GET / http/1.1", 400),
        (b"GET / HTTP/11", 400),
        (b"GET /", 400),
        (b"GET", 400),
        (b"GET / HTTP/1.1 extra", 400),
        (b"G@T / HTTP/1.1", 400),
        (b"GET /\xff\x01 HTTP/1.1", 400),
        (b"GET * HTTP/1.1", 400),
        (b"CONNECT example.com:443 HTTP/1.1", 501),
        (b"CONNECT / HTTP/1.1", 501),
        (b"GET example.com HTTP/1.1", 400),
        (b"GET http://ex ample HTTP/1.1", 400),
        (b"GET http://[::1/ HTTP/1.1", 400),
        (b"GET http:/example.com/ HTTP/1.1", 400),
        (b"GET mailto:a@b HTTP/1.1", 400),
    ],
)
def test_bad_request_lines(line: bytes, code: int) -> None:
    assert status(req(line, H)) == code


def test_request_line_fields() -> None:
    h = head(req(b"GET /a/b%20c?x=1&y=%20 HTTP/1.1", H))
    assert (h.method, h.target, h.version) == ("GET", "/a/b%20c?x=1&y=%20", "HTTP/1.1")
    env = h.environ
    assert env["REQUEST_METHOD"] == "GET"
    assert env["REQUEST_URI"] == "/a/b%20c?x=1&y=%20"
    assert env["PATH_INFO"] == "/a/b c"
    assert env["QUERY_STRING"] == "x=1&y=%20"  # the query is left encoded (PEP 3333)
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"


def test_path_info_is_bytes_as_latin1() -> None:
    """PEP 3333: PATH_INFO is the decoded bytes shown as latin-1 text; apps re-decode as UTF-8."""
    h = head(req(b"GET /%E2%82%ac/\xe2\x82\xac/%2f/%zz/%4 HTTP/1.1", H))
    path = h.environ["PATH_INFO"]
    assert path == "/\xe2\x82\xac/\xe2\x82\xac///%zz/%4"
    assert path.encode("latin-1").decode("utf-8") == "/€/€///%zz/%4"


def test_question_mark_only() -> None:
    env = head(req(b"GET /p? HTTP/1.1", H)).environ
    assert (env["PATH_INFO"], env["QUERY_STRING"]) == ("/p", "")


def test_absolute_form_sets_host_from_target() -> None:
    """RFC 9112 3.2.2: the target's authority replaces Host."""
    env = head(req(b"GET HTTP://a.example:81/x%41?q=1 HTTP/1.1", b"Host: b.example\r\n")).environ
    assert env["HTTP_HOST"] == "a.example:81"
    assert env["PATH_INFO"] == "/xA" and env["QUERY_STRING"] == "q=1"
    assert env["REQUEST_URI"] == "HTTP://a.example:81/x%41?q=1"
    env10 = head(req(b"GET http://a.example HTTP/1.0")).environ
    assert env10["HTTP_HOST"] == "a.example" and env10["PATH_INFO"] == "/"


def test_asterisk_form_options() -> None:
    env = head(req(b"OPTIONS * HTTP/1.1", H)).environ
    assert env["PATH_INFO"] == "*" and env["QUERY_STRING"] == ""


# ---------------------------------------------------------------------------- header fields
def test_environ_names() -> None:
    env = head(req(b"POST / HTTP/1.1", H, b"Content-Type: text/plain\r\n", b"Content-Length: 2\r\n",
                   b"X-Request-ID: 7\r\n", b"accept-LANGUAGE: fr\r\n")).environ
    assert env["CONTENT_TYPE"] == "text/plain" and env["CONTENT_LENGTH"] == "2"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_X_REQUEST_ID"] == "7" and env["HTTP_ACCEPT_LANGUAGE"] == "fr"


def test_no_content_type_or_length_when_not_sent() -> None:
    env = head(req(b"GET / HTTP/1.1", H)).environ
    assert "CONTENT_TYPE" not in env and "CONTENT_LENGTH" not in env


def test_repeated_fields_joined() -> None:
    """RFC 9110 5.3: combine with commas; Cookie with "; " (RFC 6265 5.4)."""
    env = head(req(b"GET / HTTP/1.1", H, b"X-A: 1\r\n", b"x-a: 2\r\n", b"X-A: 3\r\n",
                   b"Cookie: a=1\r\n", b"Cookie: b=2\r\n")).environ
    assert env["HTTP_X_A"] == "1,2,3"
    assert env["HTTP_COOKIE"] == "a=1; b=2"


def test_underscore_names_dropped() -> None:
    h = head(req(b"GET / HTTP/1.1", H, b"X_Forwarded_For: 6.6.6.6\r\n", b"Content_Length: 5\r\n"))
    assert "HTTP_X_FORWARDED_FOR" not in h.environ
    assert "CONTENT_LENGTH" not in h.environ and h.content_length is None
    assert h.header_count == 3


def test_ows_stripped_inner_kept() -> None:
    env = head(req(b"GET / HTTP/1.1", b"Host: \t example.com \t\r\n", b"X-A:  a \t b  \r\n",
                   b"X-E: \r\n", b"X-F:\t\r\n")).environ
    assert env["HTTP_HOST"] == "example.com"
    assert env["HTTP_X_A"] == "a \t b"
    assert env["HTTP_X_E"] == "" and env["HTTP_X_F"] == ""


def test_obs_text_kept_as_latin1() -> None:
    env = head(req(b"GET / HTTP/1.1", H, b"X-U: \xc3\xa9t\xe9\r\n")).environ
    assert env["HTTP_X_U"] == "\xc3\xa9t\xe9"


@pytest.mark.parametrize(
    "field",
    [
        b"X-A : b",  # RFC 9112 5.1: no whitespace between name and colon
        b"X-A\t: b",
        b" X-A: b",  # RFC 9112 5.2: obs-fold
        b"\tX-A: b",
        b"X-A",
        b": b",
        b"X[A]: b",
        b"X-A: b\x00",
        b"X-A: b\x01",
        b"X-A: b\x1f",
        b"X-A: b\x7f",
        b"X-A: a\rb",
        b"X-\x80: b",
    ],
)
def test_bad_field_lines(field: bytes) -> None:
    assert status(req(b"GET / HTTP/1.1", H, field + b"\r\n")) == 400


def test_htab_allowed_in_value() -> None:
    assert head(req(b"GET / HTTP/1.1", H, b"X-T: a\tb\r\n")).environ["HTTP_X_T"] == "a\tb"


# ---------------------------------------------------------------------------- Host
def test_host_rules() -> None:
    """RFC 9112 3.2: 1.1 needs exactly one valid Host; 1.0 may omit it."""
    assert status(req(b"GET / HTTP/1.1")) == 400
    assert "HTTP_HOST" not in head(req(b"GET / HTTP/1.0")).environ
    assert status(req(b"GET / HTTP/1.1", H, b"host: example.com\r\n")) == 400
    assert status(req(b"GET / HTTP/1.0", H, H)) == 400
    assert status(req(b"GET / HTTP/1.1", b"Host: a b\r\n")) == 400
    assert status(req(b"GET / HTTP/1.1", b"Host: a@b\r\n")) == 400
    for good in (b"example.com", b"example.com:8080", b"127.0.0.1", b"[::1]", b"[::1]:80", b"xn--e-1ga.example", b""):
        assert head(req(b"GET / HTTP/1.1", b"Host: " + good + b"\r\n")).environ["HTTP_HOST"] == good.decode()


# ---------------------------------------------------------------------------- framing
def test_content_length_rules() -> None:
    """RFC 9110 8.6 / RFC 9112 6.3."""
    def cl(value: bytes) -> RequestHead:
        return head(req(b"POST / HTTP/1.1", H, b"Content-Length: " + value + b"\r\n"))

    assert cl(b"0").content_length == 0
    assert cl(b"42").content_length == 42
    assert cl(b"007").content_length == 7
    h = cl(b"42, 42,42")
    assert h.content_length == 42 and h.environ["CONTENT_LENGTH"] == "42"
    assert h.has_body and not cl(b"0").has_body
    for bad in (b"-1", b"+1", b"1.0", b"0x1", b"1 2", b"", b"4 2", b"42, 43", b",42", b"\xb9", b"\xd9\xa3"):
        assert status(req(b"POST / HTTP/1.1", H, b"Content-Length: " + bad + b"\r\n")) == 400, bad
    assert status(req(b"POST / HTTP/1.1", H, b"Content-Length: 1\r\n", b"Content-Length: 2\r\n")) == 400
    h2 = head(req(b"POST / HTTP/1.1", H, b"Content-Length: 3\r\n", b"Content-Length: 3\r\n"))
    assert h2.content_length == 3 and h2.environ["CONTENT_LENGTH"] == "3"


def test_limit_post() -> None:
    lim = Limits(limit_post=10)
    assert head(req(b"POST / HTTP/1.1", H, b"Content-Length: 10\r\n"), lim).content_length == 10
    assert status(req(b"POST / HTTP/1.1", H, b"Content-Length: 11\r\n"), lim) == 413
    assert status(req(b"POST / HTTP/1.1", H, b"Content-Length: " + b"9" * 30 + b"\r\n")) == 413


def test_transfer_encoding_rules() -> None:
    """RFC 9112 6.1 and 6.3."""
    def te(value: bytes, line: bytes = b"POST / HTTP/1.1", *more: bytes) -> bytes:
        return req(line, H, b"Transfer-Encoding: " + value + b"\r\n", *more)

    h = head(te(b"chunked"))
    assert h.chunked and h.content_length is None and h.has_body
    assert h.environ["HTTP_TRANSFER_ENCODING"] == "chunked"
    assert head(te(b"CHUNKED")).chunked
    assert head(te(b" , chunked ,")).chunked
    assert status(te(b"chunked", b"POST / HTTP/1.1", b"Content-Length: 0\r\n")) == 400
    assert status(te(b"chunked", b"POST / HTTP/1.0")) == 400
    assert status(te(b"gzip")) == 400
    assert status(te(b"chunked, gzip")) == 400
    assert status(te(b"gzip, chunked")) == 501
    assert status(te(b"deflate,chunked")) == 501
    assert status(te(b"chunked, chunked")) == 400
    assert status(te(b"chunked", b"POST / HTTP/1.1", b"Transfer-Encoding: chunked\r\n")) == 400
    assert status(te(b"")) == 400


def test_no_framing_means_no_body() -> None:
    h = head(req(b"POST / HTTP/1.1", H))
    assert h.content_length is None and not h.chunked and not h.has_body


# ---------------------------------------------------------------------------- connection
@pytest.mark.parametrize(
    "version, conn, expected",
    [
        (b"HTTP/1.1", None, True),
        (b"HTTP/1.1", b"close", False),
        (b"HTTP/1.1", b"Close", False),
        (b"HTTP/1.1", b"keep-alive", True),
        (b"HTTP/1.1", b"Upgrade, close", False),
        (b"HTTP/1.1", b"upgrade", True),
        (b"HTTP/1.0", None, False),
        (b"HTTP/1.0", b"keep-alive", True),
        (b"HTTP/1.0", b"Keep-Alive, foo", True),
        (b"HTTP/1.0", b"keep-alive, close", False),
        (b"HTTP/1.0", b"foo", False),
    ],
)
def test_keep_alive(version: bytes, conn: bytes | None, expected: bool) -> None:
    """RFC 9112 9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive"."""
    headers = [H] + ([b"Connection: " + conn + b"\r\n"] if conn is not None else [])
    assert head(req(b"GET / " + version, *headers)).keep_alive is expected


def test_expect_continue() -> None:
    """RFC 9110 10.1.1: only for 1.1; the value is case-insensitive."""
    assert head(req(b"PUT / HTTP/1.1", H, b"Expect: 100-continue\r\n")).expect_continue
    assert head(req(b"PUT / HTTP/1.1", H, b"Expect: 100-CONTINUE\r\n")).expect_continue
    assert not head(req(b"PUT / HTTP/1.0", b"Expect: 100-continue\r\n")).expect_continue
    assert not head(req(b"PUT / HTTP/1.1", H, b"Expect: something\r\n")).expect_continue
    assert not head(req(b"PUT / HTTP/1.1", H)).expect_continue


def test_repr_and_key_cache_bound() -> None:
    h = head(req(b"GET /r HTTP/1.1", H))
    assert "GET /r HTTP/1.1" in repr(h)
    for i in range(3000):
        head(req(b"GET / HTTP/1.1", H, b"X-Unique-%d: 1\r\n" % i))
    assert len(http11._KEY_CACHE) <= http11._KEY_CACHE_MAX
    assert head(req(b"GET / HTTP/1.1", H, b"X-Unique-2999: 1\r\n")).environ["HTTP_X_UNIQUE_2999"] == "1"


# ---------------------------------------------------------------------------- chunked
def decode(body: bytes, limit: int = 0) -> tuple[bytes, ChunkedDecoder]:
    dec = ChunkedDecoder(limit)
    out = dec.feed(body)
    return out, dec


def test_chunked_basic_and_unused() -> None:
    out, dec = decode(b"5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\nNEXT")
    assert out == b"hello!" and dec.done and dec.unused == b"NEXT"
    assert dec.feed(b"MORE") == b"" and dec.unused == b"NEXTMORE"


def test_chunked_incremental_never_done_early() -> None:
    body = b"3\r\nabc\r\n0\r\n\r\n"
    dec = ChunkedDecoder()
    got = b""
    for i in range(len(body)):
        assert not dec.done
        got += dec.feed(body[i : i + 1])
    assert dec.done and got == b"abc" and dec.unused == b""


def test_chunked_large_chunk_passthrough() -> None:
    data = bytes(range(256)) * 4096
    dec = ChunkedDecoder()
    out = dec.feed(b"%x\r\n" % len(data))
    assert out == b""
    out = dec.feed(data)
    assert out == data
    assert dec.feed(b"\r\n0\r\n\r\n") == b"" and dec.done


def test_chunked_limit() -> None:
    _, dec = decode(b"a\r\n0123456789\r\n0\r\n\r\n", limit=10)
    assert dec.done
    with pytest.raises(errors.PayloadTooLarge):
        decode(b"a\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n", limit=10)
    with pytest.raises(errors.PayloadTooLarge):
        ChunkedDecoder(10).feed(b"b\r\n")  # refused before any data is buffered


@pytest.mark.parametrize(
    "body",
    [
        b"x\r\n", b"-1\r\n", b"0x1\r\n", b" 1\r\n", b"1 \r\n", b"\r\n", b"+1\r\n",
        b"10000000001\r\n", b"1\r\nab", b"1\r\na\n", b"1\r\na\r\r", b"1\nx",
        b"1;\r\n", b"1;a=\r\n", b"1;a b\r\n", b"1;a=\"x\r\n", b"1;a=\"\x00\"\r\n",
        b"0\r\n: x\r\n", b"0\r\n x\r\n", b"0\r\nX\r\n", b"0\r\nX: \x01\r\n", b"0\r\n\n",
        b"0\r\nX: a\rb\r\n",
        b"1" * 1100,
    ],
)
def test_chunked_malformed(body: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(body)
    assert info.value.status == 400


def test_chunked_good_extensions() -> None:
    out, dec = decode(b'3 ;a ; b = c;d="q \\" x"\r\nabc\r\n0;z\r\n\r\n')
    assert out == b"abc" and dec.done


def test_chunked_trailer_bounds() -> None:
    many = b"".join(b"X-T%d: %s\r\n" % (i, b"v" * 100) for i in range(100))
    with pytest.raises(ProtocolError):
        decode(b"0\r\n" + many + b"\r\n")
    dec = ChunkedDecoder(max_trailer=100000)
    assert dec.feed(b"0\r\n" + many + b"\r\n") == b"" and dec.done


def test_chunk_line_limit_is_an_argument() -> None:
    line = b"1;" + b"a" * 50 + b"\r\nx\r\n0\r\n\r\n"
    assert ChunkedDecoder().feed(line) == b"x"
    with pytest.raises(ProtocolError):
        ChunkedDecoder(max_line=20).feed(line)


def test_encode_chunk() -> None:
    assert encode_chunk(b"hello") == b"5\r\nhello\r\n"
    assert encode_chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"
    assert encode_chunk(b"") == b""  # an empty chunk would end the body
    assert LAST_CHUNK == b"0\r\n\r\n"
    out, dec = decode(encode_chunk(b"ab") + encode_chunk(b"c") + LAST_CHUNK)
    assert out == b"abc" and dec.done


# ---------------------------------------------------------------------------- responses
def test_response_head() -> None:
    raw = response_head("200 OK", [("Content-Type", "text/plain"), ("X-A", "b")])
    assert raw == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: b\r\n\r\n"
    raw = response_head("404 Not Found", [], version="HTTP/1.0", extra=b"Connection: close\r\n")
    assert raw == b"HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\n"
    assert response_head("204 ", []) == b"HTTP/1.1 204 \r\n\r\n"
    assert response_head("200 OK", [("X-L", "caf\xe9")]).endswith(b"X-L: caf\xe9\r\n\r\n")
    assert response_head("200 OK", [["X-List", "ok"]]) .startswith(b"HTTP/1.1 200 OK\r\nX-List: ok")  # type: ignore[list-item]


@pytest.mark.parametrize(
    "status_, headers",
    [
        ("200", []),
        ("OK", []),
        ("2000 OK", []),
        ("200 OK\r\nX: y", []),
        ("200 O\x00K", []),
        ("200 OK", [("X-A", "a\r\nSet-Cookie: evil")]),
        ("200 OK", [("X-A", "a\nb")]),
        ("200 OK", [("X-A", "a\rb")]),
        ("200 OK", [("X-A", "a\x00b")]),
        ("200 OK", [("X-A\r\nEvil", "b")]),
        ("200 OK", [("X A", "b")]),
        ("200 OK", [("", "b")]),
        ("200 OK", [("X-A", "\u20ac")]),
        ("200 OK", [("X-A",)]),  # type: ignore[list-item]
    ],
)
def test_response_head_refuses_splitting(status_: str, headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError):
        response_head(status_, headers)


def test_host_validation_cache_never_admits_a_bad_host() -> None:
    """Validated Host values are remembered (a set lookup instead of a regex); a bad one is
    refused every time, and the cache stays bounded whatever hosts clients send."""
    from satrap.protocol import http11

    good = b"GET / HTTP/1.1\r\nHost: cached.example:8080\r\n\r\n"
    bad = b"GET / HTTP/1.1\r\nHost: bad host\r\n\r\n"
    for _ in range(2):
        assert http11.parse_head(good) is not None
        with pytest.raises(http11.ProtocolError):
            http11.parse_head(bad)
    assert "cached.example:8080" in http11._VALID_HOSTS and "bad host" not in http11._VALID_HOSTS
    for i in range(http11._VALID_HOSTS_MAX * 2):
        http11.parse_head(b"GET / HTTP/1.1\r\nHost: h%d.example\r\n\r\n" % i)
    assert len(http11._VALID_HOSTS) <= http11._VALID_HOSTS_MAX
