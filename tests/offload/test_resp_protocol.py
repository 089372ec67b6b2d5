"""The sans-IO halves of the sse offload: the RESP parser (redis's bytes are never trusted) and
the SSE framing (byte for byte what uWSGI's sse_offload plugin sends)."""

from __future__ import annotations

import random

import pytest

from satrap.protocol.resp import (
    RespError,
    RespParser,
    RespProtocolError,
    encode_command,
    pubsub_payload,
)
from satrap.protocol.sse import sse_event

SUBSCRIBED = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
MESSAGE = b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$12\r\nhello\r\nworld\r\n"


def test_every_resp2_type() -> None:
    parser = RespParser()
    values = parser.feed(b"+OK\r\n-ERR wrong\r\n:-42\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n")
    assert values == [b"OK", RespError(b"ERR wrong"), -42, b"abc", None, None, [], b""]
    assert isinstance(values[1], RespError)
    assert parser.pending == 0


def test_byte_by_byte_gives_the_same_values() -> None:
    parser = RespParser()
    got = []
    for i in range(len(SUBSCRIBED + MESSAGE)):
        got += parser.feed((SUBSCRIBED + MESSAGE)[i:i + 1])
    assert got == [[b"subscribe", b"news", 1], [b"message", b"news", b"hello\r\nworld"]]
    assert parser.pending == 0


def test_incomplete_value_waits_and_keeps_its_bytes() -> None:
    parser = RespParser()
    assert parser.feed(MESSAGE[:-3]) == []
    assert parser.pending == len(MESSAGE) - 3
    assert parser.feed(MESSAGE[-3:] + b":7\r\n") == [[b"message", b"news", b"hello\r\nworld"], 7]


def test_pubsub_payload_only_for_messages() -> None:
    assert pubsub_payload([b"message", b"news", b"x"]) == b"x"
    assert pubsub_payload([b"pmessage", b"n*", b"news", b"y"]) == b"y"
    assert pubsub_payload([b"subscribe", b"news", 1]) is None
    assert pubsub_payload([b"message", b"news", None]) is None
    assert pubsub_payload(b"message") is None
    assert pubsub_payload([]) is None


@pytest.mark.parametrize("data, what", [
    (b"$99999999999\r\n", "bulk string"),
    (b"*100000\r\n", "array of"),
    (b"*1\r\n" * 9 + b":1\r\n", "nested"),
    (b"+" + b"a" * 70000, "longer than"),
    (b":12a\r\n", "invalid integer"),
    (b":\r\n", "invalid integer"),
    (b"$-2\r\n", "bulk string"),
    (b"$3\r\nabcXY", "not terminated"),
    (b"?what\r\n", "unknown type"),
])
def test_hostile_input_is_refused(data: bytes, what: str) -> None:
    with pytest.raises(RespProtocolError, match=what):
        RespParser().feed(data)


def test_random_garbage_only_ever_raises_the_protocol_error() -> None:
    rng = random.Random(1234)
    alphabet = b"+-:$*\r\n0123456789-abc"
    for _ in range(3000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        parser = RespParser(max_bulk=64, max_array=8, max_depth=3, max_line=32)
        try:
            for i in range(0, len(data), 3):
                parser.feed(data[i:i + 3])
        except RespProtocolError:
            pass


def test_encode_command_is_binary_safe() -> None:
    assert encode_command("SUBSCRIBE", "a b\r\n") == b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\na b\r\n\r\n"
    assert encode_command("AUTH", "pässword") == b"*2\r\n$4\r\nAUTH\r\n$9\r\np\xc3\xa4ssword\r\n"
    assert RespParser().feed(encode_command("PUBLISH", "c", b"\x00\xff")) == [[b"PUBLISH", b"c", b"\x00\xff"]]


@pytest.mark.parametrize("message, frame", [
    (b"foobar", b"data: foobar\n\n"),
    (b"foobar\nfoobar2", b"data: foobar\ndata: foobar2\n\n"),
    (b"trailing\n", b"data: trailing\ndata: \n\n"),  # the plugin's framing, kept as is
    (b"\n", b"data: \ndata: \n\n"),
    (b"cr\r\nlf", b"data: cr\r\ndata: lf\n\n"),
    (b"", b""),  # an empty message is not sent
])
def test_sse_framing_matches_the_plugin(message: bytes, frame: bytes) -> None:
    assert sse_event(message) == frame


def test_sseraw_sends_messages_as_they_are() -> None:
    assert sse_event(b"event: x\ndata: y\n\n", raw=True) == b"event: x\ndata: y\n\n"
