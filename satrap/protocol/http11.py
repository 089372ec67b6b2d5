"""HTTP/1.1 request heads, chunked bodies and response heads, sans-IO (RFC 9110 / RFC 9112).

Theory of operation
-------------------
The connection code keeps one growing buffer per connection and calls :func:`parse_head` after
every ``recv``. It answers ``None`` ("need more bytes") until the blank line that ends the head
has arrived, then returns a :class:`RequestHead` and how many bytes it used; the body (or the next
pipelined request) starts at that offset. Errors are :class:`~satrap.protocol.errors.ProtocolError`
values carrying the status to answer with; the caller answers it and closes the connection.

Invariants
~~~~~~~~~~
* Bounded work: nothing past ``limits.max_head`` bytes is ever scanned for the end of the head, so
  a client cannot make a worker buffer or search without limit (uWSGI ``buffer-size``).
* Never a hang: a head using bare LF or bare CR line ends is refused with 400 as soon as the bad
  byte arrives (uWSGI waits forever on LF-only requests, reference section 9).
* Same answer however the bytes arrive: the errors that can be raised before the head is complete
  (bare CR/LF, a bad request line, a head over ``max_head``) are checked in stream order both on a
  partial buffer and on a complete one, so feeding a request whole, byte by byte or in random
  chunks gives the same status. The tests hold this for every vector in ``tests/protocol``.
* Strict framing (RFC 9112 section 6.3, request smuggling): a body length comes from exactly one
  place, and anything ambiguous is a 400.

Speed
~~~~~
This runs once per request in a pure-Python server, so the common path is a handful of C-level
operations: one bounded ``find`` for the end of the head, one latin-1 decode, one regex for the
request line, one ``count`` and one ``findall`` for all header lines (anchored at line starts, so
the number of matches equals the number of lines exactly when every line is well formed), and one
dict lookup per header name (a bounded cache of name -> environ key). Diagnosis of *why* something
is malformed happens only on the error path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from satrap.protocol.errors import (
    HeadersTooLarge,
    NotImplementedMethod,
    PayloadTooLarge,
    ProtocolError,
    UnsupportedTransferCoding,
    URITooLong,
    VersionNotSupported,
)

__all__ = [
    "LAST_CHUNK",
    "ChunkedDecoder",
    "Limits",
    "RequestHead",
    "encode_chunk",
    "error_response",
    "parse_head",
    "response_head",
    "response_lines",
]

# --------------------------------------------------------------------------------------------
# Grammar (RFC 9110 5.6.2 token, 5.5 field values; all on latin-1 text, one char == one byte)
# --------------------------------------------------------------------------------------------
_TCHAR = r"!#$%&'*+\-.^_`|~0-9A-Za-z"
_VCHAR = r"\x21-\x7e\x80-\xff"  # VCHAR / obs-text
_TOKEN = re.compile(f"[{_TCHAR}]+")

# request-line = method SP request-target SP HTTP-version (RFC 9112 3): single spaces, and the
# target holds no whitespace, control byte, DEL or "#" (a fragment is never sent, RFC 9112 3.2).
_TARGET_CHARS = r"\x21\x22\x24-\x7e\x80-\xff"
_REQUEST_LINE = re.compile(rf"([{_TCHAR}]+) ([{_TARGET_CHARS}]+) (HTTP/1\.[01])")
_BTOKEN_RE = re.compile(f"[{_TCHAR}]+".encode())
_TARGET = re.compile(f"[{_TARGET_CHARS}]+")
_ANY_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")

# field-line = field-name ":" OWS field-value OWS (RFC 9112 5). The second alternative swallows
# any other line (up to an LF), so findall walks the block line by line without scanning, and a
# line the fast pattern does not take shows up as an ("", "") tuple (a valid line never has an
# empty name). The fast pattern is possessive (no backtracking) and so refuses trailing OWS;
# such lines, and all malformed ones, go through _slow_fields, which accepts or diagnoses.
_FIELD_LINE = re.compile(
    rf"([{_TCHAR}]+):[ \t]*([\t {_VCHAR}]*+)(?<![ \t])\r\n|[^\n]*\n"
)
_FIELD_VALUE = re.compile(rf"[\t {_VCHAR}]*")
_BAD_LINE = ("", "")

# Host = uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2): IP-literal or reg-name.
_AUTHORITY = re.compile(r"(?:\[[0-9A-Za-z:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?")
# absolute-form (RFC 9112 3.2.2): only http and https URIs name something we can serve.
_ABSOLUTE = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://([^/?]*)(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a peer may make the parser accept. Arguments, not config: the worker builds
    one from ``--buffer-size``/``--limit-post`` once at start-up.

    ``max_head`` is uWSGI's ``buffer-size`` (request line + header fields + the blank line);
    ``limit_post`` 0 means unlimited, as in uWSGI.
    """

    max_head: int = 4096
    max_headers: int = 100
    max_uri: int = 8190
    limit_post: int = 0


DEFAULT_LIMITS = Limits()


class RequestHead:
    """A parsed request head. ``environ`` is ready to merge into a WSGI environ (PEP 3333)."""

    __slots__ = (
        "chunked",
        "content_length",
        "environ",
        "expect_continue",
        "header_count",
        "keep_alive",
        "method",
        "target",
        "version",
    )

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        environ: dict[str, str],
        content_length: int | None,
        chunked: bool,
        keep_alive: bool,
        expect_continue: bool,
        header_count: int,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.environ = environ
        self.content_length = content_length
        self.chunked = chunked
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.header_count = header_count

    @property
    def has_body(self) -> bool:
        """Whether a body follows the head (RFC 9112 6.3: requests without framing have none)."""
        return self.chunked or bool(self.content_length)

    def __repr__(self) -> str:
        return (
            f"RequestHead({self.method} {self.target} {self.version}, "
            f"content_length={self.content_length}, chunked={self.chunked}, "
            f"keep_alive={self.keep_alive}, expect_continue={self.expect_continue})"
        )


# --------------------------------------------------------------------------------------------
# Header name -> environ key
# --------------------------------------------------------------------------------------------
# A bounded memo: the same few dozen spellings ("Host", "host", "User-Agent", ...) arrive on every
# request, so converting each once saves an upper()+replace()+concat per header. It is bounded so
# a peer inventing names cannot grow it; a miss is merely slower. _KEY_CACHE_HIT holds only the
# names that are kept (the fast path indexes it and falls back on KeyError).
_KEY_CACHE_MAX = 1024
_KEY_CACHE: dict[str, str | None] = {}
_KEY_CACHE_HIT: dict[str, str] = {}


def _environ_key(name: str) -> str | None:
    """CGI/WSGI key of a header name (RFC 3875 4.1.18), or None to drop it.

    Names holding "_" are dropped: after "-" -> "_" they would collide with the hyphenated
    spelling (``X_Forwarded_For`` would pass as ``X-Forwarded-For``), which is a header spoofing
    vector behind proxies that only strip the hyphenated form (nginx and gunicorn drop them too).
    """
    key = _KEY_CACHE.get(name, "")
    if key != "":
        return key
    if "_" in name:
        key = None
    else:
        upper = name.upper().replace("-", "_")
        key = upper if upper in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + upper
    if len(_KEY_CACHE) < _KEY_CACHE_MAX:
        _KEY_CACHE[name] = key
        if key is not None:
            _KEY_CACHE_HIT[name] = key
    return key


def _fields_environ(fields: list[tuple[str, str]]) -> dict[str, str]:
    """The general case of turning header fields into environ entries: drop names with "_",
    combine repeats (RFC 9110 5.3: a comma-separated list; Cookie joins with "; ", RFC 6265
    5.4), and refuse a second Host (RFC 9112 3.2)."""
    environ: dict[str, str] = {}
    for name, value in fields:
        key = _environ_key(name)
        if key is None:
            continue
        if key in environ:
            if key == "HTTP_HOST":
                raise ProtocolError("multiple Host header fields")
            sep = "; " if key == "HTTP_COOKIE" else ","
            environ[key] = environ[key] + sep + value
        else:
            environ[key] = value
    return environ


for _name in (
    "Host", "User-Agent", "Accept", "Accept-Language", "Accept-Encoding", "Connection", "Cookie",
    "Referer", "Content-Type", "Content-Length", "Transfer-Encoding", "Upgrade-Insecure-Requests",
    "Cache-Control", "Origin", "Authorization", "X-Forwarded-For", "X-Forwarded-Proto",
    "X-Real-IP", "Expect", "If-None-Match", "If-Modified-Since", "Pragma", "Sec-Fetch-Dest",
    "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "DNT", "Range", "TE", "Priority",
):
    _environ_key(_name)
    _environ_key(_name.lower())
del _name


# --------------------------------------------------------------------------------------------
# The head
# --------------------------------------------------------------------------------------------
def _check_bare(region: bytes | bytearray, partial: bool) -> None:
    """400 on a CR or LF that is not part of a CRLF (RFC 9112 2.2: bare CR MUST be rejected;
    satrap also refuses bare LF rather than guess, so a front proxy and satrap can never disagree
    about where a line ends). ``partial``: a CR at the very end may still be followed by LF."""
    crlf = region.count(b"\r\n")
    if region.count(b"\n") != crlf:
        raise ProtocolError("bare LF line ending (CRLF required)")
    cr = region.count(b"\r")
    if cr != crlf and not (partial and cr == crlf + 1 and region.endswith(b"\r")):
        raise ProtocolError("bare CR in request head")


def _diagnose_request_line(line: str) -> ProtocolError:
    """Say why ``line`` failed the fast regex (error path only)."""
    if "\r" in line or "\n" in line:
        return ProtocolError("bare CR or LF in request line")
    parts = line.split(" ")
    if len(parts) != 3:
        return ProtocolError("malformed request line")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        return ProtocolError("invalid method")
    if not target or not _TARGET.fullmatch(target):
        return ProtocolError("invalid character in request target")
    if _ANY_VERSION.fullmatch(version):
        return VersionNotSupported(f"HTTP version {version} not supported")
    return ProtocolError("invalid HTTP version")


_HEXCHR = {f"{b:02x}": chr(b) for b in range(256)}  # lowercase keys: escapes are looked up lowered


def _unquote(path: str) -> str:
    """Percent-decode to bytes shown as latin-1 chars (PEP 3333 PATH_INFO); an invalid escape
    ("%zz", a trailing "%") is kept as is, as CGI servers do. A table lookup per escape instead
    of urllib's general (and much slower) unquote."""
    parts = path.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        ch = _HEXCHR.get(part[:2].lower())
        out.append(ch + part[2:] if ch is not None else "%" + part)
    return "".join(out)


def _parse_request_line(line: str, limits: Limits) -> tuple[str, str, str, str, str, str | None]:
    """-> method, target, version, PATH_INFO, QUERY_STRING, authority (absolute-form only)."""
    m = _REQUEST_LINE.fullmatch(line)
    if m is None:
        raise _diagnose_request_line(line)
    method, target, version = m.groups()
    if len(target) > limits.max_uri:
        raise URITooLong("request target too long")
    authority = None
    if target[0] == "/":
        # origin-form (RFC 9112 3.2.1), the common case
        path, _, query = target.partition("?")
    elif method == "CONNECT":
        # authority-form (RFC 9112 3.2.3) is only for CONNECT, a tunnel a WSGI server does not do
        raise NotImplementedMethod("CONNECT not supported")
    elif target == "*":
        # asterisk-form (RFC 9112 3.2.4) is only for a server-wide OPTIONS
        if method != "OPTIONS":
            raise ProtocolError("asterisk-form target is only valid with OPTIONS")
        return method, target, version, "*", "", None
    else:
        am = _ABSOLUTE.fullmatch(target)
        if am is None:
            raise ProtocolError("invalid request target")
        authority, rest = am.groups()
        # RFC 9110 4.2.1: an http(s) URI with an empty host is invalid; 4.2.4: userinfo is
        # deprecated and a recipient should treat it as an error ("@" is not in _AUTHORITY).
        if not _AUTHORITY.fullmatch(authority):
            raise ProtocolError("invalid authority in absolute-form target")
        path, _, query = rest.partition("?")
        if not path:
            path = "/"
        elif path[0] != "/":
            raise ProtocolError("invalid request target")
    if method == "CONNECT":
        raise NotImplementedMethod("CONNECT not supported")
    # PEP 3333: PATH_INFO is the percent-decoded path, bytes shown as latin-1 text. unquote with
    # latin-1 maps each %XX to the char of that byte and leaves raw (latin-1) chars alone.
    if "%" in path:
        path = _unquote(path)
    return method, target, version, path, query, authority


def _slow_fields(block: str) -> list[tuple[str, str]]:
    """Line by line: the fields of ``block``, or the ProtocolError saying which line is bad.
    Only reached when the fast pattern declined a line (trailing OWS, or an error)."""
    fields = []
    for line in block.split("\r\n")[:-1]:
        if "\n" in line or "\r" in line:
            raise ProtocolError("bare CR or LF in header section")
        if line[:1] in (" ", "\t"):
            raise ProtocolError("obsolete line folding in header field")  # RFC 9112 5.2
        name, colon, value = line.partition(":")
        if not colon:
            raise ProtocolError("header line without a colon")
        if name[-1:] in (" ", "\t"):
            raise ProtocolError("whitespace before colon in header field")  # RFC 9112 5.1
        if not _TOKEN.fullmatch(name):
            raise ProtocolError("invalid header field name")
        if "\x00" in value:
            raise ProtocolError("NUL in header field value")
        if not _FIELD_VALUE.fullmatch(value):
            raise ProtocolError("control character in header field value")
        fields.append((name, value.strip(" \t")))
    return fields


def _content_length(value: str, limits: Limits) -> int:
    """Content-Length = 1*DIGIT (RFC 9110 8.6). A list of identical values ("42, 42", or the
    field repeated, which the caller joined with ",") is accepted as one; anything else is a 400:
    a differing or signed length is the classic request smuggling vector (RFC 9112 6.3 rule 5)."""
    if not (value.isascii() and value.isdigit()):
        first = None
        for item in value.split(","):
            item = item.strip(" \t")
            if not (item.isascii() and item.isdigit()):
                raise ProtocolError("invalid Content-Length")
            if first is None:
                first = item
            elif item != first:
                raise ProtocolError("conflicting Content-Length values")
        assert first is not None
        value = first
    if len(value) > 18:
        raise PayloadTooLarge("Content-Length too large")
    length = int(value)
    if limits.limit_post and length > limits.limit_post:
        raise PayloadTooLarge("request body over limit-post")
    return length


def _is_chunked(value: str) -> bool:
    """Transfer-Encoding (RFC 9112 6.1): the final coding of a request MUST be chunked (else the
    length is unknowable: 400, 6.3 rule 4); chunked MUST NOT be applied twice; any other coding
    is one satrap does not implement (501)."""
    if value == "chunked":
        return True
    codings = [c.strip(" \t").lower() for c in value.split(",")]
    codings = [c for c in codings if c]  # RFC 9110 5.6.1: empty list elements are ignored
    if not codings or codings[-1] != "chunked":
        raise ProtocolError("Transfer-Encoding must end with chunked")
    if "chunked" in codings[:-1]:
        raise ProtocolError("chunked applied more than once")
    if len(codings) > 1:
        raise UnsupportedTransferCoding("unsupported transfer coding")
    return True


def _too_large(region: bytes | bytearray) -> ProtocolError:
    """A head that does not end within max_head: 414 if even the request line did not end
    (the target is what made it long), else 431."""
    if b"\r\n" not in region:
        return URITooLong("request line longer than buffer-size")
    return HeadersTooLarge("request head larger than buffer-size")


def _incomplete(buf: bytes | bytearray, start: int, limits: Limits) -> None:
    """The end of the head is not (yet) within max_head: check what can already be known, in
    stream order, so a partial buffer fails exactly as the complete one would."""
    max_head = limits.max_head
    region = buf[start:max_head]
    eol = region.find(b"\r\n")
    if eol == -1:
        _check_bare(region, True)
        # Refuse what cannot be the start of a request line (a TLS hello, a uwsgi packet) now
        # rather than after a timeout: everything up to the first SP must be a token.
        sp = region.find(b" ")
        method = region[:sp] if sp != -1 else region.rstrip(b"\r")
        if method and not _BTOKEN_RE.fullmatch(method) or sp == 0:
            raise ProtocolError("invalid method")
        if len(buf) >= max_head:
            raise _too_large(region)
        return
    _check_bare(region[:eol], False)
    _parse_request_line(region[:eol].decode("latin-1"), limits)
    _check_bare(region[eol + 2 :], True)
    if len(buf) >= max_head:
        raise _too_large(region)
    return


#: Host values already validated: a server sees the same few, and a set lookup is a fraction of
#: the regex. Bounded, so a client sending random hosts only stops the cache from growing.
_VALID_HOSTS: set[str] = set()
_VALID_HOSTS_MAX = 64


def parse_head(
    buf: bytes | bytearray, limits: Limits = DEFAULT_LIMITS
) -> tuple[RequestHead, int] | None:
    """Parse the request head at the start of ``buf``.

    Returns ``(head, consumed)`` (the body starts at ``buf[consumed:]``) or ``None`` when more
    bytes are needed. Raises :class:`ProtocolError` (with ``.status``) for a request that must be
    refused; the connection must then be closed, since framing can no longer be trusted.
    """
    max_head = limits.max_head
    # RFC 9112 2.2: a server SHOULD ignore at least one empty line received before the
    # request-line (old clients send CRLF after a POST body). They count against max_head.
    start = 0
    while buf.startswith(b"\r\n", start) and start < max_head:
        start += 2
    idx = buf.find(b"\r\n\r\n", start, max_head)
    if idx == -1:
        _incomplete(buf, start, limits)
        return None

    text = buf[start : idx + 2].decode("latin-1")
    eol = text.find("\r\n")
    method, target, version, path, query, authority = _parse_request_line(text[:eol], limits)

    # ---- header fields
    block = text[eol + 2 :]
    fields = _FIELD_LINE.findall(block) if block else []
    count = len(fields)
    if count > limits.max_headers:
        _check_bare(block.encode("latin-1"), False)  # a bare CR/LF was refused earlier in a stream
        raise HeadersTooLarge(f"more than {limits.max_headers} header fields")
    if _BAD_LINE in fields:
        fields = _slow_fields(block)

    # Fast path: every name already in the key cache and no repeats -> one dict comprehension.
    # A cache miss, a dropped name or a repeated header takes the general loop instead.
    try:
        environ = {_KEY_CACHE_HIT[name]: value for name, value in fields}
    except KeyError:
        environ = _fields_environ(fields)
    else:
        if len(environ) != count:
            environ = _fields_environ(fields)
    environ["REQUEST_METHOD"] = method
    environ["REQUEST_URI"] = target
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = query
    environ["SERVER_PROTOCOL"] = version

    http11 = version == "HTTP/1.1"
    host = environ.get("HTTP_HOST")
    if host is None:
        if http11:
            raise ProtocolError("missing Host header")  # RFC 9112 3.2
    elif host and host not in _VALID_HOSTS:
        if not _AUTHORITY.fullmatch(host):
            raise ProtocolError("invalid Host header")
        if len(_VALID_HOSTS) < _VALID_HOSTS_MAX:
            _VALID_HOSTS.add(host)
    if authority is not None:
        # RFC 9112 3.2.2: with an absolute-form target, the target's authority wins over Host.
        environ["HTTP_HOST"] = authority

    # ---- framing (RFC 9112 6.3)
    content_length = None
    chunked = False
    te = environ.get("HTTP_TRANSFER_ENCODING")
    cl = environ.get("CONTENT_LENGTH")
    if te is not None:
        if not http11:
            # RFC 9112 6.1: Transfer-Encoding in 1.0 means faulty framing
            raise ProtocolError("Transfer-Encoding in an HTTP/1.0 request")
        if cl is not None:
            raise ProtocolError("both Transfer-Encoding and Content-Length")  # 6.3 rule 3
        chunked = _is_chunked(te)
    elif cl is not None:
        content_length = _content_length(cl, limits)
        if not cl.isdigit():  # a list of identical values ("5, 5") becomes the one value
            environ["CONTENT_LENGTH"] = str(content_length)

    # ---- connection management (RFC 9112 9.3)
    conn = environ.get("HTTP_CONNECTION")
    if conn is None:
        keep_alive = http11
    else:
        tokens = conn.lower()
        if tokens == "close":
            keep_alive = False
        elif tokens == "keep-alive":
            keep_alive = True
        else:
            tset = {t.strip(" \t") for t in tokens.split(",")}
            keep_alive = "close" not in tset and (http11 or "keep-alive" in tset)

    expect = environ.get("HTTP_EXPECT")
    expect_continue = http11 and expect is not None and expect.strip(" \t").lower() == "100-continue"

    head = RequestHead(
        method, target, version, environ, content_length, chunked, keep_alive, expect_continue, count
    )
    return head, idx + 4


# --------------------------------------------------------------------------------------------
# Chunked request bodies (RFC 9112 7.1)
# --------------------------------------------------------------------------------------------
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_BTOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
_CHUNK_EXT = re.compile(
    rb"(?:[ \t]*;[ \t]*" + _BTOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _BTOKEN + rb"|" + _QUOTED + rb"))?)*"
)
_TRAILER_LINE = re.compile(
    _BTOKEN + rb":[ \t]*[\t \x21-\x7e\x80-\xff]*"
)
_MAX_CHUNK_SIZE = 1 << 40

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkedDecoder:
    """Incremental decoder of a chunked request body.

    ``feed(data)`` returns the payload bytes decoded so far; after the last-chunk and the
    trailer section ``done`` is True and ``unused`` holds whatever followed (the next pipelined
    request). Trailer fields are validated and discarded (WSGI has no way to pass them on).

    ``limit`` bounds the total payload (0 = unlimited, like ``limit-post``): the check happens
    when a chunk size is read, before its data is buffered.
    """

    __slots__ = (
        "_buf",
        "_remaining",
        "_state",
        "_trailer_size",
        "done",
        "limit",
        "max_line",
        "max_trailer",
        "total",
        "unused",
    )

    def __init__(self, limit: int = 0, *, max_line: int = 1024, max_trailer: int = 8192) -> None:
        self.limit = limit
        self.max_line = max_line
        self.max_trailer = max_trailer
        self.done = False
        self.unused = b""
        self.total = 0
        self._state = _SIZE
        self._remaining = 0
        self._buf = b""
        self._trailer_size = 0

    def _size_line(self, line: bytes) -> int:
        m = _HEX.match(line)
        if m is None:
            raise ProtocolError("invalid chunk size")
        end = m.end()
        if end != len(line) and not _CHUNK_EXT.fullmatch(line, end):
            raise ProtocolError("invalid chunk extension")
        size = int(m.group(), 16)
        if size > _MAX_CHUNK_SIZE:
            raise ProtocolError("chunk size too large")
        if self.limit and self.total + size > self.limit:
            raise PayloadTooLarge("chunked body over limit-post")
        return size

    def _line_end(self, buf: bytes, pos: int, limit: int) -> int:
        """Index of the CRLF ending the line at ``pos``, or -1 if it has not arrived (after
        refusing a line over ``limit`` bytes or a bare CR/LF as soon as either shows)."""
        eol = buf.find(b"\r\n", pos, pos + limit + 2)
        if eol == -1:
            tail = buf[pos : pos + limit + 2]
            if b"\n" in tail or b"\r" in tail[:-1]:
                raise ProtocolError("bare CR or LF in chunked body")
            if len(tail) > limit:
                raise ProtocolError("chunked body line too long")
            return -1
        line = buf[pos:eol]
        if b"\n" in line or b"\r" in line:
            raise ProtocolError("bare CR or LF in chunked body")
        return eol

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """Consume ``data``; return the payload it completes. Raises ProtocolError (400, or
        PayloadTooLarge) on a malformed or oversized body."""
        if self._state == _DONE:
            self.unused += bytes(data)
            return b""
        buf = self._buf + bytes(data) if self._buf else bytes(data)
        n = len(buf)
        pos = 0
        out: list[bytes] = []
        state = self._state
        try:
            while pos < n:
                if state == _DATA:
                    take = min(n - pos, self._remaining)
                    out.append(buf[pos : pos + take] if take != n else buf)
                    pos += take
                    self._remaining -= take
                    if not self._remaining:
                        state = _DATA_END
                elif state == _SIZE:
                    eol = self._line_end(buf, pos, self.max_line)
                    if eol == -1:
                        break
                    size = self._size_line(buf[pos:eol])
                    pos = eol + 2
                    if size:
                        self.total += size
                        self._remaining = size
                        state = _DATA
                    else:
                        state = _TRAILER
                elif state == _DATA_END:
                    # chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF: exactly CRLF
                    if buf[pos : pos + 2] != b"\r\n"[: n - pos]:
                        raise ProtocolError("chunk data not followed by CRLF")
                    if n - pos < 2:
                        break
                    pos += 2
                    state = _SIZE
                else:  # _TRAILER: trailer-section = *( field-line CRLF ) CRLF
                    budget = max(self.max_trailer - self._trailer_size, 0)
                    eol = self._line_end(buf, pos, min(budget, self.max_line * 8))
                    if eol == -1:
                        break
                    if eol == pos:
                        pos += 2
                        state = _DONE
                        self.unused = buf[pos:]
                        pos = n
                        break
                    if not _TRAILER_LINE.fullmatch(buf, pos, eol):
                        raise ProtocolError("invalid trailer field")
                    self._trailer_size += eol + 2 - pos
                    pos = eol + 2
        finally:
            self._state = state
        self.done = state == _DONE
        self._buf = buf[pos:] if pos < n else b""
        if len(out) == 1:
            return out[0]
        return b"".join(out)


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked message (for responses without a known length, and tests)."""
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


LAST_CHUNK = b"0\r\n\r\n"


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------
# One regex over the whole head: status-line = HTTP-version SP 3DIGIT SP reason (RFC 9112 4),
# then field lines whose names are tokens and whose values hold no CR, LF or NUL (response
# splitting, RFC 9110 5.5).
_RESPONSE_HEAD = re.compile(
    rf"HTTP/[0-9]\.[0-9] [0-9]{{3}} [^\x00\r\n]*\r\n(?:[{_TCHAR}]+: [^\x00\r\n]*\r\n)*"
)


def response_lines(status: str, headers: Sequence[tuple[str, str]], version: str = "HTTP/1.1") -> bytes:
    """The status line and the app's header lines, each ending CRLF, without the blank line:
    the part of a head that depends only on what the app gave, so the worker can validate it
    once and reuse it for every identical response. Raises ValueError on a malformed status, a
    non-token name, CR/LF/NUL in a name or value, or text not encodable in latin-1 (PEP 3333)."""
    if headers:
        text = f"{version} {status}\r\n" + "\r\n".join(map(": ".join, headers)) + "\r\n"
    else:
        text = f"{version} {status}\r\n"
    # the line count catches a CRLF smuggled into the status making a valid-looking extra line
    if _RESPONSE_HEAD.fullmatch(text) is None or text.count("\n") != len(headers) + 1:
        raise ValueError(f"invalid response status or header: {status!r} {headers!r}"[:300])
    return text.encode("latin-1")


def response_head(
    status: str,
    headers: Sequence[tuple[str, str]],
    *,
    version: str = "HTTP/1.1",
    extra: bytes = b"",
) -> bytes:
    """Encode a response head: status line, the app's headers, ``extra`` (pre-encoded lines the
    server adds, each ending CRLF), the blank line (see :func:`response_lines` for what is
    refused)."""
    return response_lines(status, headers, version) + extra + b"\r\n"


def error_response(err: ProtocolError, *, version: str = "HTTP/1.1") -> bytes:
    """A complete, connection-closing response for a refused request."""
    body = f"{err.status} {err.reason}: {err.message}\n".encode("latin-1", "replace")
    return (
        f"{version} {err.status} {err.reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("latin-1") + body
