"""Placeholder expansion in uWSGI's order (core/uwsgi.c): magic ``%x`` variables when a file is
read, then ``$(ENV)``, then ``@(file)``, then ``%(name)`` against the first value of each key.

Anything not understood is left literally, as uWSGI does: ``%(method)`` in a log format, ``${VAR}``
in a route, an unset ``$(VAR)``.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Mapping

from satrap import UWSGI_COMPAT_VERSION

_MAGIC = re.compile(r"%(.)", re.DOTALL)
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
            import getpass

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
    """``@(path)``: the file's contents minus one trailing newline; ``@(exec://cmd)``: the output
    of ``/bin/sh -c cmd`` minus one trailing newline (as uWSGI's ``uwsgi_open_and_read``);
    ``@(file://path)`` as a plain path; other schemes are reported."""

    def repl(m: re.Match[str]) -> str:
        target = m.group(1)
        if target.startswith("exec://"):
            import subprocess

            try:
                out = subprocess.run(["/bin/sh", "-c", target[7:]], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, timeout=60, check=False).stdout
            except (OSError, subprocess.SubprocessError):
                return m.group(0)
            data = out.decode("utf-8", "replace")
            return data.removesuffix("\n")
        if target.startswith("file://"):
            target = target[7:]
        elif "://" in target:
            on_unsupported(target)
            return m.group(0)
        try:
            with open(target, encoding="utf-8") as fh:
                data = fh.read()
        except OSError:
            return m.group(0)
        return data.removesuffix("\n")

    return _AT.sub(repl, value)


_OPS = ("+", "-", "*", "/")


def _math(expr: str, lookup: Callable[[str], str | None]) -> str | None:
    """uWSGI's placeholder math (core/uwsgi.c ``uwsgi_manage_placeholder``): tokens separated by
    spaces, evaluated left to right as a pipeline (``%(a + b * 2)`` is ``(a+b)*2``); ``++``/``--``
    increment/decrement what is on their left; two operands with no operator between them are
    concatenated (``%(foo bar)``). Each operand is a placeholder/option name or a literal; an
    expression that cannot be evaluated stays as written."""
    tokens = expr.split()
    if len(tokens) < 2:
        return None

    def operand(tok: str) -> str | None:
        val = lookup(tok)
        if val is not None:
            return val
        try:
            int(tok)
        except ValueError:
            return None
        return tok

    def as_int(text: str) -> int | None:
        try:
            return int(text.strip())
        except ValueError:
            return None

    acc = operand(tokens[0])
    if acc is None:
        return None
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("++", "--"):
            n = as_int(acc)
            if n is None:
                return None
            acc = str(n + 1 if tok == "++" else n - 1)
            i += 1
            continue
        if tok in _OPS:
            if i + 1 >= len(tokens):
                return None
            rhs_text = operand(tokens[i + 1])
            lhs, rhs = as_int(acc), as_int(rhs_text) if rhs_text is not None else None
            if lhs is None or rhs is None:
                return None
            if tok == "+":
                acc = str(lhs + rhs)
            elif tok == "-":
                acc = str(lhs - rhs)
            elif tok == "*":
                acc = str(lhs * rhs)
            else:
                if rhs == 0:
                    return None
                acc = str(int(lhs / rhs))
            i += 2
            continue
        rhs_text = operand(tok)  # concatenation
        if rhs_text is None:
            return None
        acc = acc + rhs_text
        i += 1
    return acc


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
