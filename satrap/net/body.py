"""``wsgi.input``: the request body read lazily from the client socket.

Why lazy: an app that never reads the body costs nothing, and ``Expect: 100-continue`` is only
answered once the app actually asks for the body (so a refused upload is never sent).

The stream never reads past the end of the body: whatever follows it in the connection (a
pipelined next request) stays with the connection loop, which split it off before.
"""

from __future__ import annotations

import _socket
from collections.abc import Callable, Iterator

_RECV = 65536


class Input:
    """A file-like body of known length (``Content-Length``), possibly empty."""

    __slots__ = ("_sock", "_buf", "_remaining", "_on_first_read", "error")

    def __init__(self, sock: _socket.socket | None, initial: bytes, length: int,
                 on_first_read: Callable[[], None] | None = None) -> None:
        self._sock = sock
        self._buf = bytearray(initial[:length])
        self._remaining = length - len(self._buf)  # bytes still in the socket
        self._on_first_read = on_first_read
        self.error: BaseException | None = None

    # -- internal ---------------------------------------------------------------------------
    def _fill(self, want: int) -> bool:
        """Read more body bytes from the socket into the buffer; False at the end of the body."""
        if self._remaining <= 0 or self._sock is None:
            return False
        if self._on_first_read is not None:
            callback, self._on_first_read = self._on_first_read, None
            callback()
        try:
            chunk = self._sock.recv(min(self._remaining, max(want, _RECV)))
        except OSError as exc:
            self.error = exc
            raise OSError(f"client went away while sending the request body: {exc}") from None
        if not chunk:
            self.error = EOFError("client closed the connection before the end of the body")
            self._remaining = 0
            raise OSError("client closed the connection before sending the whole request body")
        self._remaining -= len(chunk)
        self._buf += chunk
        return True

    # -- the file API WSGI apps use -----------------------------------------------------------
    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill(_RECV):
                pass
            data = bytes(self._buf)
            self._buf.clear()
            return data
        while len(self._buf) < size and self._fill(size - len(self._buf)):
            pass
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def readline(self, size: int | None = -1) -> bytes:
        start = 0
        while True:
            nl = self._buf.find(b"\n", start)
            if nl >= 0:
                end = nl + 1
                break
            if size is not None and 0 <= size <= len(self._buf):
                end = size
                break
            start = len(self._buf)
            if not self._fill(_RECV):
                end = len(self._buf)
                break
        if size is not None and 0 <= size < end:
            end = size
        data = bytes(self._buf[:end])
        del self._buf[:end]
        return data

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    # -- what the connection loop needs after the response -----------------------------------
    @property
    def fully_read(self) -> bool:
        """Nothing of the body is left in the socket (closing will not provoke a reset)."""
        return self._remaining <= 0

    def drain(self, limit: int) -> bool:
        """Discard an unread body so the connection can be reused; False if it is too large."""
        if self._remaining > limit:
            return False
        self._buf.clear()
        try:
            while self._fill(_RECV):
                self._buf.clear()
        except OSError:
            return False
        return True



class EmptyInput:
    """``wsgi.input`` of a request without a body (most of them): one shared, stateless
    instance, so a GET costs no stream object. Same file API and connection-loop API as
    :class:`Input` at its end."""

    __slots__ = ()
    error = None
    fully_read = True

    def read(self, size: int | None = -1) -> bytes:
        return b""

    def readline(self, size: int | None = -1) -> bytes:
        return b""

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return []

    def __iter__(self) -> Iterator[bytes]:
        return iter(())

    def drain(self, limit: int) -> bool:
        return True


EMPTY_INPUT = EmptyInput()


def read_chunked_body(sock: _socket.socket, initial: bytes, decoder: object,
                      spill_at: int = 1 << 20) -> tuple[object, int, bytes]:
    """Read and de-chunk a whole ``Transfer-Encoding: chunked`` body before the app runs.

    Why up front: a malformed or oversized body gets its 400/413 before the app has answered
    (a response already sent cannot be taken back), the app sees a ``CONTENT_LENGTH`` (many
    frameworks ignore a body without one), and ``--http`` (whose router de-chunks too) and
    ``--http-socket`` behave the same. Bodies past ``spill_at`` go to a temporary file.
    Returns (file object positioned at 0, length, bytes after the body). Raises ProtocolError
    (bad framing, over the limit) or OSError (the client went away).
    """
    import tempfile

    out = tempfile.SpooledTemporaryFile(max_size=spill_at)  # noqa: SIM115 - returned, closed by the caller
    feed = decoder.feed  # type: ignore[attr-defined]
    data = initial
    length = 0
    while True:
        if data:
            chunk = feed(data)
            if chunk:
                out.write(chunk)
                length += len(chunk)
            if decoder.done:  # type: ignore[attr-defined]
                out.seek(0)
                return out, length, bytes(decoder.unused)  # type: ignore[attr-defined]
        data = sock.recv(_RECV)
        if not data:
            raise OSError("client closed the connection inside a chunked request body")

