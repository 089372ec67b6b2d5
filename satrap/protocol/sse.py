"""Server-Sent Events framing, sans-IO, as uWSGI's sse_offload plugin frames redis messages.

Every line of a message becomes a ``data: `` field and a blank line ends the event, so a
browser's ``EventSource`` hands the message back joined by ``\\n``. The plugin's exact framing is
kept (clients written against it see the same bytes): a line break inside the message ends one
``data:`` line and starts the next, a trailing line break gives a last empty ``data:`` line, and
an empty message is not sent at all. ``sseraw`` forwards messages untouched (the publisher
already wrote SSE).
"""

from __future__ import annotations

__all__ = ["sse_event"]


def sse_event(message: bytes, raw: bool = False) -> bytes:
    """The bytes to send a client for one published message (b"" = send nothing)."""
    if not message or raw:
        return message
    return b"data: " + message.replace(b"\n", b"\ndata: ") + b"\n\n"
