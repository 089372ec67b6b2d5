"""Peer errors: a malformed request is an answer (a status), not a crash.

Every error a client (or nginx, over the uwsgi protocol) can provoke in :mod:`satrap.protocol` is a
:class:`ProtocolError`. It carries the HTTP status the server should answer with (``.status``) and
the matching reason phrase (``.reason``), so the worker needs no ``isinstance`` ladder: it writes
``f"{err.status} {err.reason}"`` and closes the connection. Misuse of our own API (a bad argument
from satrap code) raises ``ValueError``/``TypeError`` instead, never a ``ProtocolError``.

The message is short, safe to log and safe to echo back to the client (it never contains the
offending bytes, which could be huge or hostile).
"""

from __future__ import annotations

__all__ = [
    "HeadersTooLarge",
    "NotImplementedMethod",
    "PayloadTooLarge",
    "ProtocolError",
    "URITooLong",
    "UnsupportedTransferCoding",
    "VersionNotSupported",
]


class ProtocolError(Exception):
    """The peer sent something satrap will not accept (RFC 9112: answer 400 and close)."""

    status: int = 400
    reason: str = "Bad Request"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.reason)
        self.message: str = message or self.reason

    @property
    def status_hint(self) -> int:
        """Alias of :attr:`status` (the name used in the design notes)."""
        return self.status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r})"


class PayloadTooLarge(ProtocolError):
    """The body is over ``limit-post`` (RFC 9110 15.5.14)."""

    status = 413
    reason = "Content Too Large"


class URITooLong(ProtocolError):
    """The request target (or the request line holding it) is too long (RFC 9110 15.5.15)."""

    status = 414
    reason = "URI Too Long"


class HeadersTooLarge(ProtocolError):
    """The head is over ``buffer-size`` or has too many fields (RFC 6585 section 5)."""

    status = 431
    reason = "Request Header Fields Too Large"


class NotImplementedMethod(ProtocolError):
    """A method satrap cannot serve, e.g. CONNECT (RFC 9110 15.6.2)."""

    status = 501
    reason = "Not Implemented"


class UnsupportedTransferCoding(ProtocolError):
    """A transfer coding other than chunked (RFC 9112 6.1: "SHOULD respond with 501")."""

    status = 501
    reason = "Not Implemented"


class VersionNotSupported(ProtocolError):
    """A well-formed HTTP version other than 1.0/1.1 (RFC 9110 15.6.6)."""

    status = 505
    reason = "HTTP Version Not Supported"
