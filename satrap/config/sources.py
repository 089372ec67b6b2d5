"""Command line and environment -> ordered raw entries.

The command line is parsed from the registry (not argparse: uWSGI's getopt semantics differ, e.g.
a bare ``--master`` never eats the next word, and config files given positionally are loaded where
they stand). Unknown flags are errors here, unlike unknown keys in files, because a typo on the
command line cannot be a placeholder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from satrap.errors import ConfigError
from satrap.options.catalog import REGISTRY
from satrap.options.registry import Option, Registry

from .entries import Entry, Origin

CONFIG_EXTENSIONS = {
    ".ini": "ini", ".yml": "yaml", ".yaml": "yaml", ".json": "json", ".js": "json", ".xml": "xml",
}
APP_EXTENSIONS = (".py", ".wsgi")

#: uWSGI's own bookkeeping variables (core/utils.c) and satrap's internal ones: never options
RESERVED_ENV = frozenset({
    "UWSGI_RELOADS", "UWSGI_EMPEROR_FD", "UWSGI_EMPEROR_FD_CONFIG", "UWSGI_EMPEROR_PROXY",
    "UWSGI_VASSALS_DIR", "UWSGI_BROODLORD_NUM", "UWSGI_JAIL_PID", "UWSGI_ORIGINAL_PROC_NAME",
    "SATRAP_LISTEN_FDS", "SATRAP_EMPEROR_FD",
})
RESERVED_ENV_PREFIXES = ("UWSGI_VASSAL_", "SATRAP__", "SATRAP_INHERITED")
ENV_PREFIXES = ("UWSGI_", "SATRAP_")


def _cli(detail: str) -> Origin:
    return Origin("command line", None, detail)


def _unknown(flag: str, registry: Registry) -> ConfigError:
    hint = registry.suggest(flag)
    tail = f": did you mean --{hint}?" if hint else " (see satrap --help)"
    return ConfigError(f"unknown option {flag}{tail}")


def _takes_value(opt: Option) -> bool:
    return opt.kind != "bool"


def _positional(arg: str) -> Entry:
    lowered = arg.lower()
    base, _, _section = arg.partition(":") if not arg.startswith("/") else (arg, "", "")
    for ext, key in CONFIG_EXTENSIONS.items():
        if lowered.endswith(ext) or os.path.splitext(base.lower())[1] == ext:
            return Entry(key, arg, _cli(arg))
    if lowered.endswith(APP_EXTENSIONS):
        return Entry("wsgi-file", arg, _cli(arg))
    if ":" in arg and "/" not in arg:
        return Entry("module", arg, _cli(arg))
    raise ConfigError(
        f"unexpected argument {arg!r}: give a config file (.ini/.yaml/.json/.xml), "
        f"a .py/.wsgi file, or module:callable"
    )


def argv_entries(argv: Sequence[str], registry: Registry = REGISTRY) -> list[Entry]:
    """``--opt value``, ``--opt=value``, bare booleans, ``--no-opt``, short flags (``-p 2``,
    ``-p2``, ``-MT``) and positional files/modules, in order."""
    out: list[Entry] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            out.extend(_positional(a) for a in args[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            opt = registry.lookup(name)
            if opt is None and name.startswith("no-") and not eq:
                neg = registry.lookup(name[3:])
                if neg is not None and neg.kind == "bool":
                    out.append(Entry(name[3:], "false", _cli(arg)))
                    continue
            if opt is None:
                raise _unknown("--" + name, registry)
            if eq:
                out.append(Entry(name, value, _cli(arg)))
            elif not _takes_value(opt):
                out.append(Entry(name, None, _cli(arg)))
            elif opt.bare is not None:
                if i < len(args) and args[i].isdigit():
                    out.append(Entry(name, args[i], _cli(arg)))
                    i += 1
                else:
                    out.append(Entry(name, None, _cli(arg)))
            elif i < len(args):
                out.append(Entry(name, args[i], _cli(arg)))
                i += 1
            else:
                raise ConfigError(f"option --{name} needs a value")
            continue
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                letter = arg[j]
                opt = registry.by_short(letter)
                if opt is None:
                    raise _unknown("-" + letter, registry)
                flag = "-" + letter
                if not _takes_value(opt):
                    out.append(Entry(opt.name, None, _cli(flag)))
                    j += 1
                    continue
                rest = arg[j + 1:]
                if rest:
                    out.append(Entry(opt.name, rest.lstrip("="), _cli(flag)))
                elif opt.bare is not None and (i >= len(args) or not args[i].isdigit()):
                    out.append(Entry(opt.name, None, _cli(flag)))
                elif i < len(args):
                    out.append(Entry(opt.name, args[i], _cli(flag)))
                    i += 1
                else:
                    raise ConfigError(f"option {flag} (--{opt.name}) needs a value")
                break
            continue
        out.append(_positional(arg))
    return out


def env_entries(environ: Mapping[str, str]) -> list[Entry]:
    """``UWSGI_<OPT>`` / ``SATRAP_<OPT>``: prefix stripped, lower-cased, ``_`` -> ``-``. Sorted by
    name so a load is reproducible whatever order the OS lists the environment in."""
    out: list[Entry] = []
    for var in sorted(environ):
        if var in RESERVED_ENV or var.startswith(RESERVED_ENV_PREFIXES):
            continue
        prefix = next((p for p in ENV_PREFIXES if var.startswith(p)), None)
        if prefix is None or len(var) == len(prefix):
            continue
        key = var[len(prefix):].lower().replace("_", "-")
        out.append(Entry(key, environ[var], Origin("environment", None, var)))
    return out
