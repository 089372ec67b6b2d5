"""Server-Sent Events framing, sans-IO, as uWSGI's sse_offload plugin frames redis messages.

Every line of a message becomes a ``data: `` field and a blank line ends the event, so a
browser's ``EventSource`` hands the message back joined by ``\\n``. The plugin's exact framing is
kept (clients written against it see the same bytes): a line break inside the message ends one
``data:`` line and starts the next, a trailing line break gives a last empty ``data:`` line, and
an empty message is not sent at all. ``sseraw`` forwards messages untouched (the publisher
already wrote SSE).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Offload", "sse_event"]


@dataclass(frozen=True)
class Offload:
    """A response body the worker does not produce itself: returned by the routing layer in place
    of the app's body when ``sse``/``sseraw`` fires. The response head goes out as usual; then
    ``app.invoke`` hands the client socket to the worker's offload engine, which streams the redis
    channel to it while the worker serves the next request."""

    kind: str  # "sse" (each message framed as SSE data lines) or "sseraw" (sent as is)
    server: str  # host:port, /unix/path or @abstract
    channel: str
    password: str = ""
    buffer_size: int = 4096



def sse_event(message: bytes, raw: bool = False) -> bytes:
    """The bytes to send a client for one published message (b"" = send nothing)."""
    if not message or raw:
        return message
    return b"data: " + message.replace(b"\n", b"\ndata: ") + b"\n\n"
