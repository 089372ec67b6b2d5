"""uWSGI's YAML dialect (core/yaml.c): a top mapping per section, ``key: value`` lines below it.

uWSGI's reader is a tiny indentation parser that keeps repeated keys (a real YAML loader would keep
only the last one), so that is what we implement first; files it cannot read (flow style, anchors)
are handed to PyYAML when it is installed.
"""

from __future__ import annotations

from typing import Any

from satrap.errors import ConfigError

from .entries import Entry, Origin


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_yaml(text: str, path: str, section: str | None = None) -> tuple[list[Entry], bool]:
    """Entries of the ``section`` mapping (default ``uwsgi``/``satrap``) and whether it exists."""
    wanted = (section,) if section else ("uwsgi", "satrap")
    try:
        return _tiny(text, path, wanted)
    except _NeedRealYaml:
        return _pyyaml(text, path, wanted)


class _NeedRealYaml(Exception):
    pass


def _tiny(text: str, path: str, wanted: tuple[str, ...]) -> tuple[list[Entry], bool]:
    entries: list[Entry] = []
    current: str | None = None
    found = False
    last_key: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        if stripped[0] in "{[&*!|>":
            raise _NeedRealYaml
        indent = len(raw) - len(raw.lstrip())
        if indent == 0:
            key, sep, rest = stripped.partition(":")
            if not sep or rest.strip():
                raise _NeedRealYaml
            current = key.strip()
            found = found or current in wanted
            continue
        if current not in wanted:
            continue
        if stripped.startswith("- "):
            if last_key is None:
                raise _NeedRealYaml
            entries.append(Entry(last_key, _unquote(stripped[2:].strip()), Origin(path, lineno)))
            continue
        key, sep, value = stripped.partition(":")
        if not sep:
            raise _NeedRealYaml
        value = value.strip()
        if value.startswith(("{", "[", "&", "*", "|", ">")):
            raise _NeedRealYaml
        last_key = key.strip()
        if value == "":
            continue  # a list follows (or an empty value, which uWSGI also ignores)
        entries.append(Entry(last_key, _unquote(value), Origin(path, lineno)))
    return entries, found


def _scalar(value: Any) -> str | None:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return None
    return str(value)


def _pyyaml(text: str, path: str, wanted: tuple[str, ...]) -> tuple[list[Entry], bool]:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(f"{path}: this YAML needs a full YAML parser; install PyYAML (pip install PyYAML)") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = " ".join(str(exc).split())
        raise ConfigError(f"{path}: invalid YAML: {msg}") from None
    entries: list[Entry] = []
    found = False
    if not isinstance(doc, dict):
        return entries, False
    for name in wanted:
        block = doc.get(name)
        if not isinstance(block, dict):
            continue
        found = True
        for key, value in block.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                entries.append(Entry(str(key), _scalar(v), Origin(path)))
    return entries, found
