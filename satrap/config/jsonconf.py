"""uWSGI's JSON configs: ``{"uwsgi": {"key": value, "list-key": [v1, v2]}}``.

A list means the key repeated; true/false are the flag words; numbers are their text.
"""

from __future__ import annotations

import json
from typing import Any

from satrap.errors import ConfigError

from .entries import Entry, Origin


def _scalar(value: Any) -> str | None:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def parse_json(text: str, path: str, section: str | None = None) -> tuple[list[Entry], bool]:
    """Entries of the ``section`` object and whether it exists; invalid JSON is a ConfigError
    naming line and column, as uWSGI's jansson would refuse it too."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno})") from None
    wanted = (section,) if section else ("uwsgi", "satrap")
    entries: list[Entry] = []
    found = False
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: JSON config must be an object like {{\"uwsgi\": {{...}}}}")
    for name in wanted:
        block = doc.get(name)
        if not isinstance(block, dict):
            continue
        found = True
        for key, value in block.items():
            for v in value if isinstance(value, list) else [value]:
                entries.append(Entry(str(key), _scalar(v), Origin(path)))
    return entries, found
