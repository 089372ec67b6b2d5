"""Value converters shared by every config source.

uWSGI reads every value as text (command line, ini, env alike), so one converter per kind keeps
``--processes 2``, ``processes = 2`` and ``UWSGI_PROCESSES=2`` identical by construction. Each
converter raises :class:`ConvertError` carrying the *expected form*; the loader adds where the value
came from, so the user sees one line naming file, line, option and fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y", "t", "enable", "enabled"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "n", "f", "disable", "disabled"})

_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


class ConvertError(ValueError):
    """A raw value that does not fit its option; ``expected`` is shown to the user as the fix."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def to_bool(raw: str | None) -> bool:
    """A bare flag (no value) means true, as uWSGI's ``uwsgi_opt_true`` does."""
    if raw is None:
        return True
    word = raw.strip().lower()
    if word == "" or word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConvertError("a boolean (true/false, yes/no, on/off, 1/0)")


def to_int(raw: str | None) -> int:
    """Strict, unlike C ``atoi``: ``processes = two`` silently meaning 0 is a bug worth stopping for."""
    if raw is None or raw.strip() == "":
        raise ConvertError("an integer (e.g. 4)")
    text = raw.strip()
    try:
        return int(text, 10)
    except ValueError:
        lowered = text.lower()
        if lowered in TRUE_WORDS - {"1"}:
            # uWSGI atoi("true") == 0 would hide the mistake; ask for the number instead
            raise ConvertError("an integer (e.g. 4), not a boolean") from None
        raise ConvertError("an integer (e.g. 4)") from None


def to_size(raw: str | None) -> int:
    """Byte counts accept k/m/g suffixes (powers of 1024) so ``64k`` reads as users write it."""
    if raw is None or raw.strip() == "":
        raise ConvertError("a size in bytes (e.g. 65536 or 64k)")
    text = raw.strip().lower()
    digits = text.rstrip("kmgb")
    unit = text[len(digits):]
    if unit not in _SIZE_UNITS or not digits.isdigit():
        raise ConvertError("a size in bytes (e.g. 65536 or 64k)")
    return int(digits) * _SIZE_UNITS[unit]


def to_octal(raw: str | None) -> int:
    """File modes are octal in uWSGI (``chmod-socket = 660``)."""
    if raw is None or raw.strip() == "":
        raise ConvertError("an octal file mode (e.g. 660)")
    try:
        return int(raw.strip(), 8)
    except ValueError:
        raise ConvertError("an octal file mode (e.g. 660)") from None


def to_str(raw: str | None) -> str:
    """A bare key yields "" rather than None so callers never special-case absence twice."""
    return "" if raw is None else raw


def to_bool_or_str(raw: str | None) -> bool | str:
    """For options that are a switch or a value (``daemonize``-like); keep the text unless it is a
    recognised boolean word."""
    if raw is None:
        return True
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return raw


KIND_CONVERTERS: dict[str, Callable[[str | None], Any]] = {
    "bool": to_bool,
    "int": to_int,
    "str": to_str,
    "list": to_str,
}


def converter_for(kind: str, override: Callable[[str | None], Any] | None = None) -> Callable[[str | None], Any]:
    """One lookup so the registry row, not the caller, decides how a value is read."""
    return override if override is not None else KIND_CONVERTERS[kind]
