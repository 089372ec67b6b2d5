"""The uwsgi binary protocol (what nginx's ``uwsgi_pass`` speaks), sans-IO.

A request packet is a 4-byte header, a block of vars, then the raw body::

    u8 modifier1 | u16le datasize | u8 modifier2 | vars[datasize] | body[CONTENT_LENGTH]
    vars = repeat { u16le key_len, key, u16le val_len, val }

(uwsgi-reference section 1.1; uWSGI ``proto/uwsgi.c``, ``core/protocol.c:uwsgi_parse_vars``.)
The answer is a plain HTTP response with no uwsgi framing, so nothing here encodes responses.

Everything a peer controls is checked: a zero-length key, a length running past the block, too
many vars, a block over ``buffer-size`` and an unknown modifier1 are all :class:`ProtocolError`.
Vars are decoded as latin-1 (PEP 3333 "bytes as latin-1 text"), which never fails and round-trips.
"""

from __future__ import annotations

import struct
from collections.abc import Container, Iterable, Mapping
from enum import IntEnum

from satrap.protocol.errors import HeadersTooLarge, ProtocolError

__all__ = [
    "HEADER",
    "WSGI_MODIFIERS",
    "Modifier1",
    "encode_packet",
    "encode_vars",
    "parse_header",
    "parse_packet",
    "parse_vars",
]

HEADER = struct.Struct("<BHB")
"""modifier1 (u8), datasize (u16 little-endian: size of the vars block only), modifier2 (u8)."""


class Modifier1(IntEnum):
    """Registered modifier1 values (uWSGI docs ``Protocol.rst``). satrap serves only WSGI (0)
    and WSGI_SCRIPT_NAME (30); the rest are named so logs and tests can say what arrived."""

    WSGI = 0
    PSGI = 5
    LUA = 6
    RACK = 7
    JVM = 8
    CGI = 9
    MANAGEMENT = 10
    PHP = 14
    SPOOLER = 17
    EVAL = 22
    WSGI_SCRIPT_NAME = 30  # WSGI with SCRIPT_NAME stripped from PATH_INFO (nginx uwsgi_modifier1 30)
    HTTP = 72
    PING = 100
    SIGNAL = 110
    CACHE = 111
    RPC = 173
    PERSISTENT_CLOSE = 200
    SUBSCRIPTION = 224
    RESPONSE = 255


WSGI_MODIFIERS: frozenset[int] = frozenset({Modifier1.WSGI, Modifier1.WSGI_SCRIPT_NAME})

_unpack_header = HEADER.unpack_from
_unpack_u16 = struct.Struct("<H").unpack_from


def parse_header(data: bytes | bytearray | memoryview) -> tuple[int, int, int]:
    """``(modifier1, datasize, modifier2)`` from the first 4 bytes of ``data``."""
    if len(data) < 4:
        raise ProtocolError("short uwsgi header")
    m1, size, m2 = _unpack_header(data)
    return m1, size, m2


def parse_vars(block: bytes | bytearray | memoryview, max_vars: int = 128) -> dict[str, str]:
    """Decode a vars block into a dict (latin-1 text).

    A repeated ``HTTP_*`` key (nginx before 1.23 sends one var per repeated request header) is
    joined with ", " (``; `` for cookies) as RFC 9110 5.3 and an HTTP server would: uWSGI keeps
    only the last one and so loses header values. Any other repeated key: the last one wins.

    ``max_vars`` bounds the number of key/value pairs (uWSGI: ``max-vars`` 64 gives room for 128
    pairs). The block is decoded to latin-1 text once, so every key and value is a str slice;
    each 16-bit length is two byte lookups, and a length field running past the end shows as
    an IndexError. No per-byte loop, no per-var bytes objects.
    """
    raw = block if isinstance(block, bytes) else bytes(block)
    s = raw.decode("latin-1")
    end = len(s)
    out: dict[str, str] = {}
    pos = 0
    count = 0
    try:
        while pos < end:
            # a u16le length is two byte lookups: cheaper than a struct call per field. Nothing
            # else is checked per var: a value running past the end ends the loop past the end,
            # and an empty key shows as "" in the dict, both checked once below
            kstart = pos + 2
            kend = kstart + raw[pos] + (raw[pos + 1] << 8)
            vend = kend + 2 + raw[kend] + (raw[kend + 1] << 8)
            out[s[kstart:kend]] = s[kend + 2 : vend]
            pos = vend
            count += 1
    except IndexError:
        raise ProtocolError("truncated uwsgi var (length past the end)") from None
    if pos != end:
        raise ProtocolError("truncated uwsgi var (value past the end)")
    if "" in out:
        raise ProtocolError("uwsgi key cannot be empty")
    if count > max_vars:
        # checked once at the end: the block is already bounded by buffer-size
        raise ProtocolError(f"more than {max_vars} uwsgi vars")
    if count != len(out):  # rare: some key came twice; the common path pays nothing for this
        return _join_repeats(raw, s)
    return out


def _join_repeats(raw: bytes, s: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos, end = 0, len(s)
    while pos < end:
        (klen,) = _unpack_u16(raw, pos)
        kend = pos + 2 + klen
        (vlen,) = _unpack_u16(raw, kend)
        vend = kend + 2 + vlen
        key, value = s[pos + 2 : kend], s[kend + 2 : vend]
        if key in out and key.startswith("HTTP_"):
            out[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            out[key] = value
        pos = vend
    return out


def parse_packet(
    buf: bytes | bytearray,
    max_size: int = 4096,
    max_vars: int = 128,
    modifiers: Container[int] = WSGI_MODIFIERS,
) -> tuple[int, int, dict[str, str], int] | None:
    """Incremental form for a connection buffer: ``None`` until the header and the whole vars
    block have arrived, then ``(modifier1, modifier2, vars, consumed)``; the body starts at
    ``buf[consumed:]``.

    ``max_size`` is ``buffer-size``: a bigger block is refused as soon as the header shows it
    (uWSGI logs "invalid request block size" - typically plain HTTP sent to a uwsgi socket, where
    ``"GET "`` reads as modifier1 71, size 21573). A modifier1 outside ``modifiers`` is refused
    too (uWSGI: "unavailable modifier requested").
    """
    if len(buf) < 4:
        return None
    m1, size, m2 = _unpack_header(buf)
    if m1 not in modifiers:
        raise ProtocolError(f"unavailable modifier1 requested: {m1}")
    if size > max_size:
        raise HeadersTooLarge(f"invalid request block size: {size} (max {max_size})")
    end = 4 + size
    if len(buf) < end:
        return None
    return m1, m2, parse_vars(memoryview(buf)[4:end], max_vars), end


def encode_vars(vars: Mapping[str, str] | Iterable[tuple[str, str]]) -> bytes:
    """Encode a vars block. ValueError on an empty key, a key or value over 65535 bytes, or text
    not encodable as latin-1 (our own misuse: peers never reach this)."""
    items = vars.items() if isinstance(vars, Mapping) else vars
    parts: list[bytes] = []
    for key, value in items:
        k = key.encode("latin-1")
        v = value.encode("latin-1")
        if not k:
            raise ValueError("uwsgi var key cannot be empty")
        if len(k) > 0xFFFF or len(v) > 0xFFFF:
            raise ValueError(f"uwsgi var {key[:40]!r} longer than 65535 bytes")
        parts.append(len(k).to_bytes(2, "little") + k + len(v).to_bytes(2, "little") + v)
    return b"".join(parts)


def encode_packet(
    vars: Mapping[str, str] | Iterable[tuple[str, str]],
    modifier1: int = 0,
    modifier2: int = 0,
) -> bytes:
    """A whole request packet header + vars (the body, if any, follows it unframed). For tests,
    benchmarks and the Emperor. ValueError when the vars block is over 65535 bytes (nginx:
    "uwsgi request is too big")."""
    block = encode_vars(vars)
    if len(block) > 0xFFFF:
        raise ValueError(f"uwsgi vars block of {len(block)} bytes (max 65535)")
    return HEADER.pack(modifier1, len(block), modifier2) + block
