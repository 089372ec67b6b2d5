"""Every raw request under ``http_cases/`` fed whole, byte by byte and in random chunks.

The parser is re-run on a growing buffer (as the connection code does); it must answer ``None``
until the head is complete, then the same head or the same status however the bytes arrived.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from protocol_cases import HERE, INVALID, VALID, files

from satrap.protocol.errors import ProtocolError
from satrap.protocol.http11 import ChunkedDecoder, Limits, RequestHead, parse_head

LIMITS = Limits()
INVALID_FILES = sorted((HERE / "invalid").glob("*.http"))
VALID_FILES = sorted((HERE / "valid").glob("*.http"))
VALID_EXPECT = {f"{i:03d}-{slug}.http": exp for i, (slug, _, exp) in enumerate(VALID, 1)}
NAME = re.compile(r"(\d{3})-(\d{3})-([a-z0-9-]+)\.http")


def whole(raw: bytes) -> Iterator[bytes]:
    yield raw


def bytewise(raw: bytes) -> Iterator[bytes]:
    for i in range(len(raw)):
        yield raw[i : i + 1]


def random_chunks(seed: int) -> object:
    def split(raw: bytes) -> Iterator[bytes]:
        rng = random.Random(seed)
        i = 0
        while i < len(raw):
            n = rng.choice((1, 2, 3, 7, 64, 500, 4096))
            yield raw[i : i + n]
            i += n

    split.__name__ = f"random{seed}"
    return split


SPLITTERS = [whole, bytewise] + [random_chunks(s) for s in range(4)]


def run(raw: bytes, splitter: object) -> tuple[RequestHead, int, bytes, bytes]:
    """Feed ``raw`` in pieces: -> head, consumed, decoded body, bytes after the request.
    Raises ProtocolError as the server would."""
    buf = bytearray()
    pieces = iter(splitter(raw))  # type: ignore[operator]
    result = None
    for piece in pieces:
        buf += piece
        result = parse_head(buf, LIMITS)
        if result is not None:
            break
    if result is None:
        raise AssertionError("parse_head still wants more bytes at the end of the request")
    head, consumed = result
    rest = bytes(buf[consumed:])
    if head.chunked:
        dec = ChunkedDecoder(LIMITS.limit_post)
        body = dec.feed(rest)
        for piece in pieces:
            if dec.done:
                dec.feed(piece)
            else:
                body += dec.feed(piece)
        assert dec.done, "chunked body not finished at the end of the request"
        return head, consumed, body, dec.unused
    rest += b"".join(pieces)
    n = head.content_length or 0
    assert len(rest) >= n
    return head, consumed, rest[:n], rest[n:]


def test_case_files_are_fresh() -> None:
    """The .http files are exactly what protocol_cases.py generates (regenerate: see there)."""
    wanted = files()
    on_disk = {f"{p.parent.name}/{p.name}": p.read_bytes() for p in INVALID_FILES + VALID_FILES}
    assert sorted(on_disk) == sorted(wanted)
    stale = [k for k in wanted if on_disk[k] != wanted[k]]
    assert not stale, "run: python tests/protocol/protocol_cases.py"


def test_enough_vectors() -> None:
    assert len(INVALID_FILES) >= 60
    assert len({p.name[:3] for p in INVALID_FILES}) == len(INVALID_FILES)
    for p in INVALID_FILES:
        assert NAME.fullmatch(p.name), p.name
    statuses = {int(NAME.fullmatch(p.name).group(2)) for p in INVALID_FILES}  # type: ignore[union-attr]
    assert statuses == {400, 414, 431, 501, 505}


@pytest.mark.parametrize("splitter", SPLITTERS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.stem)
def test_invalid(path: Path, splitter: object) -> None:
    status = int(path.name.split("-")[1])
    raw = path.read_bytes()
    with pytest.raises(ProtocolError) as info:
        run(raw, splitter)
    assert info.value.status == status, info.value
    assert info.value.message


@pytest.mark.parametrize("splitter", SPLITTERS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.stem)
def test_valid(path: Path, splitter: object) -> None:
    raw = path.read_bytes()
    expect = VALID_EXPECT[path.name]
    head, consumed, body, after = run(raw, splitter)
    ref_head, ref_consumed, ref_body, ref_after = run(raw, whole)
    assert (consumed, body, after) == (ref_consumed, ref_body, ref_after)
    assert head.environ == ref_head.environ
    for key, value in expect.get("environ", {}).items():
        assert head.environ[key] == value, key
    for attr in ("content_length", "chunked", "keep_alive", "expect_continue", "header_count"):
        if attr in expect:
            assert getattr(head, attr) == expect[attr], attr
    if "body" in expect:
        assert body == expect["body"]
    if "second" in expect:
        second = parse_head(after, LIMITS)
        assert second is not None
        assert second[0].environ["PATH_INFO"] == expect["second"]
        assert second[1] == len(after)
    else:
        assert after == b""
    # the environ holds only str -> str, as WSGI requires
    assert all(type(k) is str and type(v) is str for k, v in head.environ.items())


def test_invalid_table_statuses_match_names() -> None:
    for (slug, status, _), path in zip(INVALID, INVALID_FILES):
        assert path.name.endswith(f"-{status}-{slug}.http")
