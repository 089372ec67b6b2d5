"""uWSGI's INI dialect (core/ini.c), which is *not* Python's configparser.

Rules that differ from configparser and that real configs rely on: only whole-line ``;``/``#``
comments (``key = a # b`` keeps ``# b`` in the value -- we warn, since it is nearly always a
mistake); no quoting; repeated keys are all kept in order; a key without ``=`` is a bare flag; text
before the first section is ignored; a section may appear twice (both parts count). ``[satrap]``
is read as well as ``[uwsgi]`` when the default section is asked for.
"""

from __future__ import annotations

import re

from .entries import Entry, Origin

DEFAULT_SECTIONS = ("uwsgi", "satrap")
_INLINE_COMMENT = re.compile(r"\s[#;]")


def parse_ini(text: str, path: str, section: str | None = None) -> tuple[list[Entry], bool, list[str]]:
    """Return the entries of ``section`` (default: [uwsgi] and [satrap]), whether such a section
    exists, and one-line warnings about values that look like they carry inline comments."""
    wanted = (section,) if section else DEFAULT_SECTIONS
    entries: list[Entry] = []
    warnings: list[str] = []
    current: str | None = None
    found = False
    for lineno, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            found = found or current in wanted
            continue
        if current not in wanted:
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not key:
            continue
        val = value.strip() if sep else None
        if val is not None and _INLINE_COMMENT.search(val) and not key.startswith(("log", "route", "response-route")):
            warnings.append(
                f"{path}:{lineno}: value of '{key}' looks like it carries an inline comment "
                f"({val!r}); uWSGI ini files have no inline comments, the text is part of the value"
            )
        entries.append(Entry(key, val, Origin(path, lineno)))
    return entries, found, warnings


def split_section(spec: str) -> tuple[str, str | None]:
    """``file.ini:section`` -> (file, section). A Windows drive or a ``:`` inside a directory name
    is not a section, so only a trailing ``:name`` without slashes counts."""
    path, sep, section = spec.rpartition(":")
    if sep and section and "/" not in section and "\\" not in section:
        return path, section
    return spec, None
