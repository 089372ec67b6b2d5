"""RESP (the redis protocol, version 2), sans-IO: the part a pub/sub subscriber needs.

The offload engine (:mod:`satrap.worker.offload`) talks to redis for the ``sse`` routing action:
it sends ``AUTH`` and ``SUBSCRIBE`` built by :func:`encode_command` and feeds whatever redis sends
to a :class:`RespParser`, which returns each complete reply as soon as its last byte arrived.

Redis is a peer like any other: its bytes are never trusted. Every length is checked against a
limit before anything is allocated or waited for, nesting is bounded, numbers are strict, and a
malformed stream raises :class:`RespProtocolError` (the connection is then useless: RESP has no
resynchronisation point).

Values: simple string -> ``bytes``; error -> :class:`RespError`; integer -> ``int``; bulk string ->
``bytes`` (``None`` for the null bulk); array -> ``list`` (``None`` for the null array).
"""

from __future__ import annotations

from typing import Any

from satrap.protocol.errors import ProtocolError

__all__ = ["RespError", "RespParser", "RespProtocolError", "encode_command", "pubsub_payload"]

_CRLF = b"\r\n"
_INCOMPLETE = object()


class RespProtocolError(ProtocolError):
    """Redis sent bytes that are not RESP (or exceed a limit): drop the connection."""

    status = 502
    reason = "Bad Gateway"


class RespError(bytes):
    """An error reply (``-ERR ...``, ``-NOAUTH ...``): a value, not an exception, because a reply
    to one command going wrong does not make the stream unreadable."""

    def __repr__(self) -> str:
        return f"RespError({bytes(self)!r})"


def encode_command(*args: bytes | str | int) -> bytes:
    """One command as a RESP array of bulk strings (the only form redis accepts from clients
    without inline-command quirks; channel names may hold spaces or CRLF)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


class RespParser:
    """Incremental RESP2 parser: :meth:`feed` bytes as they come, get back complete values.

    An incomplete value is re-parsed from its start on the next feed; that costs only its headers
    (bulk bodies are skipped by their length, never scanned), so a large message arriving in many
    small reads stays linear.
    """

    __slots__ = ("_buf", "max_array", "max_bulk", "max_depth", "max_line")

    def __init__(self, max_bulk: int = 64 << 20, max_array: int = 1 << 16, max_depth: int = 8,
                 max_line: int = 64 << 10) -> None:
        self._buf = bytearray()
        self.max_bulk = max_bulk
        self.max_array = max_array
        self.max_depth = max_depth
        self.max_line = max_line

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a complete value."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Any]:
        """Add ``data``; return every value it completed (maybe none). Raises RespProtocolError."""
        buf = self._buf
        buf += data
        values: list[Any] = []
        pos = 0
        end = len(buf)
        while pos < end:
            value, new_pos = self._value(buf, pos, 0)
            if value is _INCOMPLETE:
                break
            values.append(value)
            pos = new_pos
        if pos:
            del buf[:pos]
        return values

    # -- internals: each returns (value, next position) or (_INCOMPLETE, start) ------------------
    def _line(self, buf: bytearray, pos: int) -> tuple[bytes | None, int]:
        """The line from ``pos`` up to CRLF (exclusive), or None when CRLF has not arrived yet."""
        limit = min(len(buf), pos + self.max_line + 2)
        idx = buf.find(_CRLF, pos, limit)
        if idx < 0:
            if len(buf) - pos > self.max_line + 1:
                raise RespProtocolError(f"RESP line longer than {self.max_line} bytes")
            return None, pos
        return bytes(buf[pos:idx]), idx + 2

    @staticmethod
    def _int(text: bytes) -> int:
        body = text[1:] if text[:1] == b"-" else text
        if not body or len(body) > 19 or not body.isdigit():
            raise RespProtocolError("RESP: invalid integer")
        return int(text)

    def _value(self, buf: bytearray, start: int, depth: int) -> tuple[Any, int]:
        if start >= len(buf):
            return _INCOMPLETE, start
        kind = buf[start]
        line, pos = self._line(buf, start + 1)
        if line is None:
            return _INCOMPLETE, start
        if kind == 0x2B:  # '+'
            return line, pos
        if kind == 0x2D:  # '-'
            return RespError(line), pos
        if kind == 0x3A:  # ':'
            return self._int(line), pos
        if kind == 0x24:  # '$'
            size = self._int(line)
            if size == -1:
                return None, pos
            if size < 0 or size > self.max_bulk:
                raise RespProtocolError(f"RESP: bulk string of {size} bytes (limit {self.max_bulk})")
            stop = pos + size
            if len(buf) < stop + 2:
                return _INCOMPLETE, start
            if buf[stop:stop + 2] != _CRLF:
                raise RespProtocolError("RESP: bulk string not terminated by CRLF")
            return bytes(buf[pos:stop]), stop + 2
        if kind == 0x2A:  # '*'
            count = self._int(line)
            if count == -1:
                return None, pos
            if count < 0 or count > self.max_array:
                raise RespProtocolError(f"RESP: array of {count} items (limit {self.max_array})")
            if depth >= self.max_depth:
                raise RespProtocolError(f"RESP: arrays nested deeper than {self.max_depth}")
            items = []
            for _ in range(count):
                item, pos = self._value(buf, pos, depth + 1)
                if item is _INCOMPLETE:
                    return _INCOMPLETE, start
                items.append(item)
            return items, pos
        raise RespProtocolError(f"RESP: unknown type byte {kind:#04x}")


def pubsub_payload(value: Any) -> bytes | None:
    """The payload of a pub/sub push (``message`` or ``pmessage``), or None for anything else
    (subscribe confirmations, replies to other commands)."""
    if type(value) is not list or not value:
        return None
    kind = value[0]
    if kind == b"message" and len(value) == 3 and type(value[2]) is bytes:
        return value[2]  # type: ignore[no-any-return]
    if kind == b"pmessage" and len(value) == 4 and type(value[3]) is bytes:
        return value[3]  # type: ignore[no-any-return]
    return None
