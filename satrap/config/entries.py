"""The one shape every config reader produces: ordered raw ``(key, value, origin)`` entries.

Readers do no conversion and no placeholder expansion beyond the per-file magic variables, so that
ini, YAML, JSON, XML, argv and env all feed the same merge step and behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """Where a value came from, for error messages and ``--print-config``."""

    source: str  # "command line", "environment", or an absolute file path
    line: int | None = None
    detail: str = ""  # e.g. the flag as typed, or the env var name

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.source}:{self.line}"
        if self.detail:
            return f"{self.source} ({self.detail})" if self.source != self.detail else self.detail
        return self.source


@dataclass(frozen=True)
class Entry:
    """One ``key = value`` as read; ``value is None`` means the key was given bare (a true flag)."""

    key: str
    value: str | None
    origin: Origin
