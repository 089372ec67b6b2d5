"""satrap.protocol.uwsgi: the packet nginx's uwsgi_pass sends (uwsgi-reference section 1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satrap.protocol.errors import HeadersTooLarge, ProtocolError
from satrap.protocol.uwsgi import (
    HEADER,
    WSGI_MODIFIERS,
    Modifier1,
    encode_packet,
    encode_vars,
    parse_header,
    parse_packet,
    parse_vars,
)

# what nginx's stock uwsgi_params sends for GET /hi?x=1 (reference 1.3), plus request headers
NGINX_VARS = {
    "QUERY_STRING": "x=1",
    "REQUEST_METHOD": "GET",
    "CONTENT_TYPE": "",
    "CONTENT_LENGTH": "",
    "REQUEST_URI": "/hi?x=1",
    "PATH_INFO": "/hi",
    "DOCUMENT_ROOT": "/usr/share/nginx/html",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REQUEST_SCHEME": "http",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "51234",
    "SERVER_PORT": "80",
    "SERVER_NAME": "localhost",
    "HTTP_HOST": "localhost",
    "HTTP_USER_AGENT": "curl/8.0",
    "HTTP_ACCEPT": "*/*",
}


def test_header_layout() -> None:
    assert HEADER.size == 4
    assert HEADER.pack(0, 0x1234, 0) == b"\x00\x34\x12\x00"  # little-endian datasize
    assert parse_header(b"\x1e\x34\x12\x05rest") == (30, 0x1234, 5)
    with pytest.raises(ProtocolError):
        parse_header(b"\x00\x01\x00")


def test_http_sent_to_uwsgi_socket() -> None:
    """The classic mistake from the reference: "GET " reads as modifier1 71, size 21573."""
    assert parse_header(b"GET / HTTP/1.1\r\n") == (ord("G"), 21573, ord(" "))
    with pytest.raises(ProtocolError):
        parse_packet(b"GET / HTTP/1.1\r\n")
    with pytest.raises(HeadersTooLarge) as info:
        parse_packet(b"GET / HTTP/1.1\r\n", modifiers=range(256))
    assert "21573" in info.value.message


def test_modifier1_names() -> None:
    assert Modifier1.WSGI == 0 and Modifier1.WSGI_SCRIPT_NAME == 30
    assert Modifier1(72) is Modifier1.HTTP
    assert WSGI_MODIFIERS == {0, 30}
    for m in Modifier1:
        assert Modifier1(int(m)) is m


def test_reference_example_bytes() -> None:
    """The exact bytes of reference section 1.2's example."""
    pkt = encode_packet([("QUERY_STRING", "x=1"), ("REQUEST_METHOD", "GET")])
    block = b"\x0c\x00QUERY_STRING\x03\x00x=1" + b"\x0e\x00REQUEST_METHOD\x03\x00GET"
    assert pkt == b"\x00" + len(block).to_bytes(2, "little") + b"\x00" + block


def test_nginx_vars_roundtrip() -> None:
    pkt = encode_packet(NGINX_VARS)
    m1, size, m2 = parse_header(pkt)
    assert (m1, m2, size) == (0, 0, len(pkt) - 4)
    assert parse_vars(pkt[4:]) == NGINX_VARS
    assert parse_vars(memoryview(pkt)[4:]) == NGINX_VARS
    assert parse_vars(bytearray(pkt[4:])) == NGINX_VARS


def test_parse_packet_incremental() -> None:
    pkt = encode_packet(NGINX_VARS, modifier1=30, modifier2=0)
    body = b"request body"
    for i in range(len(pkt)):
        assert parse_packet(pkt[:i]) is None
    result = parse_packet(pkt + body)
    assert result is not None
    m1, m2, vars_, consumed = result
    assert (m1, m2, vars_) == (30, 0, NGINX_VARS)
    assert (pkt + body)[consumed:] == body
    assert parse_packet(bytearray(pkt)) is not None


def test_parse_packet_limits() -> None:
    pkt = encode_packet({"K": "v" * 5000})
    with pytest.raises(HeadersTooLarge):
        parse_packet(pkt[:4])  # refused from the header alone
    assert parse_packet(pkt, max_size=8192) is not None
    with pytest.raises(ProtocolError):
        parse_packet(encode_packet({"K": "v"}, modifier1=5))  # PSGI: unavailable modifier
    with pytest.raises(ProtocolError):
        parse_packet(encode_packet({f"K{i}": "" for i in range(10)}), max_vars=9)


def test_vars_values_may_be_empty_keys_may_not() -> None:
    assert parse_vars(b"\x01\x00K\x00\x00") == {"K": ""}
    with pytest.raises(ProtocolError):
        parse_vars(b"\x00\x00\x01\x00v")
    assert parse_vars(b"") == {}


def test_repeated_header_vars_are_joined_other_keys_last_wins() -> None:
    block = encode_vars([("HTTP_X", "1"), ("PATH_INFO", "/a"), ("HTTP_X", "2"), ("PATH_INFO", "/b"),
                         ("HTTP_COOKIE", "a=1"), ("HTTP_COOKIE", "b=2")])
    assert parse_vars(block) == {"HTTP_X": "1, 2", "PATH_INFO": "/b", "HTTP_COOKIE": "a=1; b=2"}


def test_max_vars() -> None:
    block = encode_vars([(f"K{i}", "v") for i in range(129)])
    assert len(parse_vars(block, max_vars=129)) == 129
    with pytest.raises(ProtocolError):
        parse_vars(block)  # default 128


@pytest.mark.parametrize(
    "block",
    [
        b"\x01",
        b"\x05\x00KEY",
        b"\x03\x00KEY",
        b"\x03\x00KEY\x01",
        b"\x03\x00KEY\x05\x00val",
        b"\x03\x00KEY\x03\x00val\x01",
        b"\xff\xff",
    ],
)
def test_truncated_vars(block: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_vars(block)


def test_latin1_bytes_survive() -> None:
    vars_ = {"PATH_INFO": "/caf\xc3\xa9", "HTTP_X": "\x00\xff"}
    assert parse_vars(encode_vars(vars_)) == vars_


def test_encode_refuses_what_cannot_be_sent() -> None:
    with pytest.raises(ValueError):
        encode_vars({"": "x"})
    with pytest.raises(ValueError):
        encode_vars({"K": "x" * 65536})
    with pytest.raises(ValueError):
        encode_vars({"K": "\u20ac"})
    with pytest.raises(ValueError):
        encode_packet({f"K{i}": "x" * 1000 for i in range(70)})  # block over 65535
    assert len(encode_vars({"K": "x" * 65535})) == 2 + 1 + 2 + 65535


# ---------------------------------------------------------------------------- properties
latin1 = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=40)
var_items = st.lists(st.tuples(latin1.filter(bool), latin1), max_size=30)


@settings(max_examples=300, deadline=None)
@given(var_items, st.integers(0, 255), st.integers(0, 255))
def test_roundtrip(items: list[tuple[str, str]], m1: int, m2: int) -> None:
    pkt = encode_packet(items, m1, m2)
    assert parse_header(pkt) == (m1, len(pkt) - 4, m2)
    assert parse_vars(pkt[4:]) == dict(items)
    result = parse_packet(pkt, max_size=65535, modifiers=range(256))
    assert result is not None and result[2] == dict(items) and result[3] == len(pkt)


@settings(max_examples=100, deadline=None)
@given(var_items.filter(bool))
def test_cut_at_every_offset(items: list[tuple[str, str]]) -> None:
    """A packet cut anywhere: parse_packet waits; the cut vars block is a ProtocolError or (cut
    exactly between vars) the vars before the cut; never another exception."""
    pkt = encode_packet(items)
    boundaries = {}
    pos = 0
    seen: dict[str, str] = {}
    for k, v in items:
        pos += 4 + len(k.encode("latin-1")) + len(v.encode("latin-1"))
        seen[k] = v
        boundaries[pos] = dict(seen)
    block = pkt[4:]
    for cut in range(len(pkt)):
        assert parse_packet(pkt[:cut], max_size=65535) is None
    for cut in range(1, len(block)):
        try:
            got = parse_vars(block[:cut])
        except ProtocolError:
            assert cut not in boundaries
        else:
            assert got == boundaries[cut]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 200))
def test_random_blocks_only_protocol_errors(block: bytes, max_vars: int) -> None:
    try:
        vars_ = parse_vars(block, max_vars)
    except ProtocolError:
        return
    assert len(vars_) <= max_vars
    assert all(k for k in vars_)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_packets_only_protocol_errors(data: bytes) -> None:
    try:
        parse_packet(data, max_size=256)
    except ProtocolError:
        pass
