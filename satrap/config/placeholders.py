"""Placeholder expansion in uWSGI's order (core/uwsgi.c): magic ``%x`` variables when a file is
read, then ``$(ENV)``, then ``@(file)``, then ``%(name)`` against the first value of each key.

Anything not understood is left literally, as uWSGI does: ``%(method)`` in a log format, ``${VAR}``
in a route, an unset ``$(VAR)``.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import time
from collections.abc import Callable, Mapping

from satrap import UWSGI_COMPAT_VERSION

_MAGIC = re.compile(r"%(.)", re.S)
_ENV = re.compile(r"\$\(([^()]+)\)")
_AT = re.compile(r"@\(([^()]+)\)")
_REF = re.compile(r"%\(([^()]*)\)")
_MATH = re.compile(r"^\s*(\S+)((?:\s+[-+*/]\s+\S+)*)\s*$")


def _djb33x(text: str) -> str:
    h = 5381
    for ch in text.encode():
        h = ((h * 33) ^ ch) & 0xFFFFFFFF
    return str(h)


def _user_and_group() -> dict[str, str]:
    out = {"u": "", "U": "", "g": "", "G": ""}
    if hasattr(os, "getuid"):
        out["u"], out["g"] = str(os.getuid()), str(os.getgid())
        try:
            import grp
            import pwd

            out["U"] = pwd.getpwuid(os.getuid()).pw_name
            out["G"] = grp.getgrgid(os.getgid()).gr_name
        except (ImportError, KeyError):
            out["U"] = getpass.getuser()
    return out


def process_magic() -> dict[str, str]:
    """Magic variables that do not depend on the config file (computed once per load)."""
    now = time.time()
    table = {
        "h": socket.gethostname(),
        "k": str(os.cpu_count() or 1),
        "v": os.getcwd(),
        "V": UWSGI_COMPAT_VERSION,
        "t": str(int(now)),
        "T": str(int(now * 1_000_000)),
        "[": "\x1b",
    }
    table.update(_user_and_group())
    return table


def file_magic(path: str, given: str, section: str | None) -> dict[str, str]:
    """Per-file magic variables; ``%d`` keeps its trailing slash so ``%dapp.py`` works."""
    directory = os.path.dirname(path)
    base = os.path.basename(path)
    stem, ext = os.path.splitext(base)
    table = {
        "d": directory.rstrip("/") + "/",
        "n": stem,
        "s": base,
        "e": ext.lstrip("."),
        "p": path,
        "c": os.path.basename(directory),
        "x": section or "",
        "o": given,
        "j": _djb33x(path),
    }
    try:
        table["i"] = str(os.stat(path).st_ino)
    except OSError:
        table["i"] = "0"
    parts = [p for p in path.split("/") if p]
    for n in range(10):
        table[str(n)] = parts[n] if n < len(parts) else ""
    return table


def expand_magic(value: str, table: Mapping[str, str]) -> str:
    """``%%`` is a literal percent; unknown ``%x`` (including ``%(``) stays as written."""

    def repl(m: re.Match[str]) -> str:
        ch = m.group(1)
        if ch == "%":
            return "%"
        return table.get(ch, m.group(0))

    return _MAGIC.sub(repl, value)


def expand_env(value: str, environ: Mapping[str, str]) -> str:
    """``$(NAME)``; an unset variable is left literally (so ``$(id -u x)`` shows up, not vanishes)."""
    return _ENV.sub(lambda m: environ.get(m.group(1), m.group(0)), value)


def expand_at(value: str, on_unsupported: Callable[[str], None]) -> str:
    """``@(path)``: the file's contents minus one trailing newline; other schemes are reported."""

    def repl(m: re.Match[str]) -> str:
        target = m.group(1)
        if "://" in target:
            on_unsupported(target)
            return m.group(0)
        try:
            with open(target, encoding="utf-8") as fh:
                data = fh.read()
        except OSError:
            return m.group(0)
        return data[:-1] if data.endswith("\n") else data

    return _AT.sub(repl, value)


def _math(expr: str, lookup: Callable[[str], str | None]) -> str | None:
    """uWSGI's pipeline math: ``%(a + b * 2)`` evaluated left to right on integers."""
    tokens = expr.split()
    if len(tokens) < 3 or len(tokens) % 2 == 0:
        return None

    def num(tok: str) -> int | None:
        val = lookup(tok)
        text = val if val is not None else tok
        try:
            return int(text.strip())
        except ValueError:
            return None

    acc = num(tokens[0])
    if acc is None:
        return None
    for op, operand in zip(tokens[1::2], tokens[2::2]):
        rhs = num(operand)
        if rhs is None or op not in "+-*/" or len(op) != 1:
            return None
        if op == "+":
            acc += rhs
        elif op == "-":
            acc -= rhs
        elif op == "*":
            acc *= rhs
        else:
            if rhs == 0:
                return None
            acc //= rhs
    return str(acc)


def expand_refs(value: str, table: Mapping[str, str], depth: int = 0) -> str:
    """``%(name)`` from ``table`` (the first value of each key), recursively; math; unknown stays."""
    if depth > 8 or "%(" not in value:
        return value

    def lookup(name: str) -> str | None:
        if name in table:
            return expand_refs(table[name], table, depth + 1)
        return None

    def repl(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        found = lookup(inner)
        if found is not None:
            return found
        math = _math(inner, lookup) if " " in inner else None
        return math if math is not None else m.group(0)

    return _REF.sub(repl, value)


def referenced_names(value: str) -> set[str]:
    """Names used as ``%(name)`` in a value: such a key is a custom placeholder, not a typo."""
    names: set[str] = set()
    for m in _REF.finditer(value):
        for tok in m.group(1).split():
            names.add(tok)
    return names
