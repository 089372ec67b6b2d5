"""``wsgi.input``: the request body read lazily from the client socket.

Why lazy: an app that never reads the body costs nothing, and ``Expect: 100-continue`` is only
answered once the app actually asks for the body (so a refused upload is never sent).

The stream never reads past the end of the body: whatever follows it in the connection (a
pipelined next request) stays available through :meth:`Input.surplus` for the connection loop.
"""

from __future__ import annotations

import socket
from typing import Callable, Iterator

from satrap.protocol.errors import ProtocolError

_RECV = 65536


class Input:
    """A file-like body of known length (``Content-Length``), possibly empty."""

    __slots__ = ("_sock", "_buf", "_remaining", "_on_first_read", "error")

    def __init__(self, sock: socket.socket | None, initial: bytes, length: int,
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
        lines = []
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

    def surplus(self) -> bytes:
        return b""


class ChunkedInput(Input):
    """A ``Transfer-Encoding: chunked`` body, de-chunked for the app (uWSGI leaves it chunked)."""

    __slots__ = ("_decoder", "_surplus")

    def __init__(self, sock: socket.socket | None, initial: bytes, decoder: object,
                 on_first_read: Callable[[], None] | None = None) -> None:
        super().__init__(sock, b"", 0, on_first_read)
        self._decoder = decoder
        self._surplus = b""
        self._remaining = 1  # unknown; _fill decides
        if initial:
            self._feed(initial)

    def _feed(self, data: bytes) -> None:
        dec = self._decoder
        self._buf += dec.feed(data)  # type: ignore[attr-defined]
        if dec.done:  # type: ignore[attr-defined]
            self._remaining = 0
            self._surplus = bytes(dec.unused)  # type: ignore[attr-defined]

    def _fill(self, want: int) -> bool:
        if self._remaining <= 0 or self._sock is None:
            return False
        if self._on_first_read is not None:
            callback, self._on_first_read = self._on_first_read, None
            callback()
        before = len(self._buf)
        while len(self._buf) == before and self._remaining > 0:
            try:
                chunk = self._sock.recv(_RECV)
            except OSError as exc:
                self.error = exc
                raise OSError(f"client went away while sending the request body: {exc}") from None
            if not chunk:
                self._remaining = 0
                self.error = EOFError("client closed the connection inside a chunked body")
                raise OSError("client closed the connection inside a chunked request body")
            try:
                self._feed(chunk)
            except ProtocolError as exc:
                self._remaining = 0
                self.error = exc
                raise OSError(f"malformed chunked request body: {exc}") from None
        return len(self._buf) > before or self._remaining > 0

    def drain(self, limit: int) -> bool:
        read = 0
        try:
            while self._fill(_RECV):
                read += len(self._buf)
                self._buf.clear()
                if read > limit:
                    return False
        except OSError:
            return False
        self._buf.clear()
        return True

    def surplus(self) -> bytes:
        return self._surplus


EMPTY = b""
