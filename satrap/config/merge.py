"""Raw entries -> :class:`Config`, in uWSGI's order ("top-bottom, expand asap").

1. ``UWSGI_*``/``SATRAP_*`` env, then argv in order; every config file (``--ini``, a positional
   ``x.ini``, ``ini =`` inside a file) is read and processed *where it stands*, so later lines
   override earlier ones. Logic blocks (``if-*``/``for``) run while reading.
2. After everything is read: ``$(ENV)``, ``@(file)`` and ``%(name)`` expansion (``%(name)`` takes the
   first value of that key, as uWSGI does), conversion, then application: the last value of a
   scalar wins, list options accumulate, ``implies`` fire.
3. Unknown keys from files are placeholders when used as ``%(key)``, otherwise typos: a warning,
   or an error with ``strict``.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from satrap.errors import ConfigError
from satrap.options.catalog import BUILTIN_PLUGINS, IMPLEMENTED_LOGIC, LOGIC_KEYS, REGISTRY
from satrap.options.convert import ConvertError
from satrap.options.registry import Option, Registry

from . import placeholders as ph
from .entries import Entry, Origin
from .ini import parse_ini, split_section
from .model import CRON_OPTIONS, Config, category_given
from .sources import CONFIG_EXTENSIONS, argv_entries, env_entries


def _is_uwsgi_spelling(key: str) -> bool:
    """A spelling uWSGI itself knows (a declare-option of one of these never replaces it). Only
    asked when a declared option shadows a known name, so the names are read then, not kept."""
    from satrap.options.uwsgi_names import UWSGI_NAMES

    key = key.replace("_", "-")
    return any(key in (n.replace("_", "-") for n in line.split("|")[0].split())
               for line in UWSGI_NAMES.splitlines())


_READERS = {"ini": "ini", "yaml": "yaml", "yml": "yaml", "json": "json", "js": "json", "xml": "xml"}
_BLOCK_END = {"endif", "end-if", "endfor", "end-for"}
_MAX_DEPTH = 32
_INLINE_COMMENT = re.compile(r"\s[#;]")
_ARG = re.compile(r"\$([1-9*])")


@dataclass
class _Setting:
    key: str
    opt: Option | None
    raw: str | None
    origin: Origin


def _truthy(value: Any) -> bool:
    return bool(value) and value not in ("0", "false")


class _Loader:
    def __init__(self, environ: Mapping[str, str], registry: Registry) -> None:
        self.environ = environ
        self.registry = registry
        self.settings: list[_Setting] = []
        self.inherited: list[_Setting] = []
        self.files: list[str] = []
        self.warnings: list[str] = []
        self.unsupported: dict[str, str] = {}
        self.placeholder_only: list[tuple[str, str]] = []
        self.stack: list[str] = []
        self.last_ini: str | None = None
        self.proc_magic = ph.process_magic()
        self.first_magic: dict[str, str] | None = None
        self.custom_options: dict[str, str] = {}
        self.sequence: list[tuple[str, Any]] = []

    # -- reading ----------------------------------------------------------------------------
    def note_unsupported(self, key: str, origin: Origin, reason: str) -> None:
        if key not in self.unsupported:
            self.unsupported[key] = f"{origin}: '{key}' is not supported by satrap yet ({reason}); satrap will not start with it (remove it or see satrap check)"

    def known_refs(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for s in self.settings:
            self._register(table, s)
        for k, v in self.placeholder_only:
            table.setdefault(k, v)
        return table

    @staticmethod
    def _register(table: dict[str, str], s: _Setting) -> None:
        value = s.raw if s.raw is not None else "true"
        table.setdefault(s.key, value)
        if s.opt is not None:
            for spelling in s.opt.spellings:
                table.setdefault(spelling, value)

    def expand_now(self, value: str) -> str:
        """For immediate options (paths of includes): what is known so far is all there is."""
        value = ph.expand_env(value, self.environ)
        return ph.expand_refs(value, self.known_refs())

    def load_file(self, spec: str, kind: str | None, origin: Origin) -> None:
        spec = self.expand_now(spec)
        path, section = split_section(spec)
        if path == "" and section:  # ini = :section -> the last ini file read
            if self.last_ini is None:
                raise ConfigError(f"{origin}: 'ini = :{section}' but no ini file was read before it")
            path = self.last_ini
        if kind is None:
            kind = _READERS.get(os.path.splitext(path)[1].lstrip(".").lower(), "ini")
        if "://" in path or path == "-":
            self.note_unsupported(f"{kind} = {path}", origin, "only local config files can be read")
            return
        base = os.path.dirname(self.stack[-1]) if self.stack else os.getcwd()
        full = os.path.abspath(os.path.join(base, path)) if not os.path.isabs(path) else path
        if not os.path.isfile(full):
            raise ConfigError(f"{origin}: config file not found: {path}")
        if len(self.stack) >= _MAX_DEPTH or self.stack.count(full) > 2:
            raise ConfigError(f"{origin}: config files include each other in a loop: {full}")
        try:
            with open(full, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError as exc:
            raise ConfigError(f"{origin}: cannot read config file {full}: {exc.strerror}") from None
        text = text.removeprefix("\ufeff")
        if full not in self.files:
            self.files.append(full)
        if kind == "ini":
            entries, found, warns = parse_ini(text, full, section)
            self.warnings.extend(warns)
            self.last_ini = full
        elif kind == "yaml":  # the other readers load with the first file of their kind
            from .yamlconf import parse_yaml

            entries, found = parse_yaml(text, full, section)
        elif kind == "json":
            from .jsonconf import parse_json

            entries, found = parse_json(text, full, section)
        else:
            from .xmlconf import parse_xml

            entries, found = parse_xml(text, full, section)
        if not found:
            self.warnings.append(f"{full}: no [{section or 'uwsgi'}] section found; nothing was read from it")
        magic = ph.file_magic(full, path, section or "uwsgi")
        if self.first_magic is None:
            self.first_magic = magic
        table = {**self.proc_magic, **magic, **{k.upper(): v for k, v in self.first_magic.items() if k.isalpha()}}
        entries = [Entry(e.key, ph.expand_magic(e.value, table) if e.value is not None else None, e.origin)
                   for e in entries]
        self.stack.append(full)
        try:
            self.run(entries)
        finally:
            self.stack.pop()

    def run(self, entries: Sequence[Entry]) -> None:
        """Process entries in order; logic blocks select or repeat their bodies."""
        i = 0
        while i < len(entries):
            entry = entries[i]
            if entry.key in self.custom_options and (self.registry.lookup(entry.key) is None
                                                     or not _is_uwsgi_spelling(entry.key)):
                # uWSGI's own options beat a declared one; satrap's own names (server-name's
                # alias "domain") do not exist in uWSGI, so there the declared option is the one meant
                self.run(self._custom(entry))
                i += 1
                continue
            key = entry.key.replace("_", "-") if self.registry.lookup(entry.key) else entry.key
            opt = self.registry.lookup(key)
            if opt is not None and opt.name in LOGIC_KEYS:
                if opt.name in _BLOCK_END or opt.name in ("end-blacklist", "end-whitelist"):
                    i += 1
                    continue
                end = self._block_end(entries, i)
                self._logic(opt, entry, entries[i + 1:end])
                i = end + 1
                continue
            self.handle(entry, opt)
            i += 1

    def _custom(self, entry: Entry) -> list[Entry]:
        """A ``declare-option``d key: its body (``opt=value;opt=value``) with ``$1``..``$9`` the
        space-separated words of the value and ``$*`` the whole value, as uWSGI's
        ``uwsgi_opt_custom`` does."""
        value = ph.expand_env(entry.value or "", self.environ)
        words = value.split()

        def arg(m: re.Match[str]) -> str:
            if m.group(1) == "*":
                return value
            n = int(m.group(1))
            return words[n - 1] if 0 < n <= len(words) else ""

        out: list[Entry] = []
        for part in self.custom_options[entry.key].split(";"):
            key, eq, val = part.partition("=")
            if not eq or not key.strip():
                continue
            out.append(Entry(_ARG.sub(arg, key.strip()), _ARG.sub(arg, val), entry.origin))
        return out

    def _block_end(self, entries: Sequence[Entry], start: int) -> int:
        depth = 0
        for j in range(start + 1, len(entries)):
            opt = self.registry.lookup(entries[j].key)
            name = opt.name if opt else ""
            if name in LOGIC_KEYS and name not in _BLOCK_END and name.startswith(("if-", "for")):
                depth += 1
            elif name in _BLOCK_END:
                if depth == 0:
                    return j
                depth -= 1
        return len(entries)

    def _logic(self, opt: Option, entry: Entry, body: Sequence[Entry]) -> None:
        name = opt.name
        if name not in IMPLEMENTED_LOGIC:
            self.note_unsupported(name, entry.origin, "this config block is skipped")
            return
        arg = ph.expand_env(entry.value or "", self.environ)
        arg = ph.expand_refs(arg, self.known_refs())
        items: list[str] = []
        if name.startswith("for"):
            if name == "for":
                items = arg.split()
            elif name == "for-glob":
                import glob

                items = sorted(glob.glob(arg))
            elif name == "for-times":
                items = [str(n) for n in range(1, int(arg) + 1)] if arg.strip().isdigit() else []
            else:
                try:
                    with open(arg, encoding="utf-8") as fh:
                        items = [ln.strip() for ln in fh if ln.strip()]
                except OSError:
                    self.warnings.append(f"{entry.origin}: for-readline: cannot read {arg}; loop skipped")
        else:
            ok, item = self._condition(name.replace("-not", "").replace("if-directory", "if-dir"), arg)
            if "-not-" in name:
                ok, item = not ok, arg
            if ok:
                items = [item]
        for item in items:
            self.run([_subst(e, item) for e in body])

    def _condition(self, name: str, arg: str) -> tuple[bool, str]:
        """(true?, value for %(_)) of one if-* test."""
        key, eq, want = arg.partition("=")
        if name == "if-env":
            val = self.environ.get(key.strip())
            return (val is not None and (not eq or val == want) and (bool(eq) or val != "")), val or ""
        if name == "if-opt":
            cur = [s for s in self.settings if s.key == key.strip()
                   or (s.opt is not None and s.opt is self.registry.lookup(key.strip()))]
            val = (cur[-1].raw or "true") if cur else None
            return (val is not None and (not eq or val == want)), val or ""
        if name == "if-exists":
            return os.path.exists(arg), arg
        if name == "if-file":
            return os.path.isfile(arg), arg
        if name == "if-dir":
            return os.path.isdir(arg), arg
        if name == "if-reload":
            return self.environ.get("UWSGI_RELOADS", "0") not in ("", "0"), arg
        if name == "if-hostname":
            return socket.gethostname() == arg, arg
        if name == "if-plugin":
            return arg.strip() in BUILTIN_PLUGINS, arg
        return False, arg

    def handle(self, entry: Entry, opt: Option | None) -> None:
        """One non-logic entry: immediate options act now, the rest are recorded."""
        if opt is not None and opt.immediate:
            value = entry.value or ""
            if opt.name in ("ini", "yaml", "json", "xml", "config", "include", "inherit"):
                kind = None if opt.name in ("config", "include", "inherit") else _READERS[opt.name]
                self.settings.append(_Setting(entry.key, opt, value, entry.origin))
                if opt.name == "inherit":
                    mark = len(self.settings)
                    self.load_file(value, kind, entry.origin)
                    self.inherited.extend(self.settings[mark:])
                    del self.settings[mark:]
                else:
                    self.load_file(value, kind, entry.origin)
                return
            if opt.name in ("set", "set-placeholder"):
                k, eq, v = value.partition("=")
                if not eq:
                    raise ConfigError(f"{entry.origin}: {entry.key} = {value!r}: expected key=value")
                target = self.registry.lookup(k.strip()) if opt.name == "set" else None
                if target is not None:
                    self.handle(Entry(k.strip(), v, entry.origin), target)
                else:
                    self.placeholder_only.append((k.strip(), v))
                return
            if opt.name == "declare-option":
                self._declare(value, entry.origin)
                return
            if opt.name == "plugin":
                for plugin in (p.strip() for p in value.replace(",", " ").split()):
                    base = plugin.rsplit("/", 1)[-1].removesuffix("_plugin.so")
                    if base and base not in BUILTIN_PLUGINS and not base.startswith("python"):
                        self.note_unsupported(f"plugin {base}", entry.origin, "satrap has python, http and cgi built in")
        if opt is not None and opt.name == "declare-option2":
            self._declare(entry.value or "", entry.origin)
            return
        self.settings.append(_Setting(entry.key, opt, entry.value, entry.origin))

    def _declare(self, value: str, origin: Origin) -> None:
        name, eq, body = value.partition("=")
        if not eq or not name.strip():
            raise ConfigError(f"{origin}: declare-option = {value!r}: expected name=opt=value[;opt=value...]")
        self.custom_options[name.strip()] = body

    # -- finishing --------------------------------------------------------------------------
    def finish(self, argv: Sequence[str]) -> Config:
        settings = self.inherited + self.settings
        table: dict[str, str] = {}
        for s in settings:
            self._register(table, s)
        for k, v in self.placeholder_only:
            table.setdefault(k, v)
        used: set[str] = set()
        for s in settings:
            if s.raw:
                used |= ph.referenced_names(s.raw)
        values: dict[str, Any] = {}
        origins: dict[str, list[str]] = {}
        typos: list[str] = []
        custom: dict[str, str] = {}
        for s in settings:
            if s.opt is None:
                if s.key in used or s.origin.source == "environment":
                    custom.setdefault(s.key, ph.expand_refs(s.raw or "", table))
                    continue
                hint = self.registry.suggest(s.key)
                typos.append(
                    f"{s.origin}: unknown option '{s.key}' is ignored"
                    + (f"; did you mean '{hint}'?" if hint else "")
                )
                continue
            raw = s.raw
            if raw is not None and s.opt.expand:
                raw = ph.expand_env(raw, self.environ)
                # mypy cannot type a lambda whose default argument pins the loop variable, though it
                # fits Callable[[str], None] (python/mypy#15459)
                raw = ph.expand_at(raw, lambda t, s=s: self.note_unsupported(  # type: ignore[misc]
                    f"@({t})", s.origin, "only @(file) and @(exec://cmd) are read"))
                raw = ph.expand_refs(raw, table)
            self._apply(s, raw, values, origins)
        for k, v in self.placeholder_only:
            custom.setdefault(k, ph.expand_refs(v, table))
        self._implies(values, origins)
        self._async_to_threads(values, origins)
        if values.get("strict") and typos:
            raise ConfigError(typos[0].replace("is ignored", "(strict mode: unknown options are errors)"))
        def build(extra: Sequence[str] = ()) -> Config:
            return Config(values, origins, argv=argv, config_files=self.files, warnings=self.warnings + typos,
                          unsupported=list(self.unsupported.values()) + list(extra), placeholders=custom,
                          registry=self.registry, sequence=self.sequence)

        cfg = build()
        return build(_feature_problems(cfg))

    def _apply(self, s: _Setting, raw: str | None, values: dict[str, Any], origins: dict[str, list[str]]) -> None:
        opt = s.opt
        assert opt is not None
        shown = "" if raw is None else raw
        try:
            value = opt.parse(raw)
        except ConvertError as exc:
            # `disable-logging = true  ;comment` runs under uWSGI; the ini reader already warned
            stripped = _INLINE_COMMENT.split(raw, maxsplit=1)[0].strip() if raw else raw
            if stripped != raw:
                try:
                    value = opt.parse(stripped)
                except ConvertError:
                    pass
                else:
                    self._store(opt, s, value, values, origins)
                    return
            if (opt.kind == "int" and raw is not None and opt.default in (0, None)
                    and raw.strip().lower() in ("true", "false", "yes", "no", "on", "off")):
                # uWSGI reads it with atoi(): 0, which is this option's "off"
                self.warnings.append(f"{s.origin}: {s.key} = {shown!r}: expected {exc.expected}; uWSGI reads "
                                     f"it as 0 (off), and so does satrap")
                self._store(opt, s, 0, values, origins)
                return
            msg = f"{s.origin}: {s.key} = {shown!r}: expected {exc.expected}"
            if opt.support == "yes":
                raise ConfigError(msg) from None
            self.warnings.append(msg + "; ignored")
            return
        self._store(opt, s, value, values, origins)

    def _store(self, opt: Option, s: _Setting, value: Any, values: dict[str, Any],
               origins: dict[str, list[str]]) -> None:
        if opt.support == "unsupported" and not opt.immediate:
            self.note_unsupported(opt.name, s.origin, opt.reason)
        self.sequence.append((opt.name, value))
        if opt.kind == "list":
            values.setdefault(opt.name, []).append(value)
            origins.setdefault(opt.name, []).append(str(s.origin))
        else:
            values[opt.name] = value
            origins.setdefault(opt.name, []).append(str(s.origin))

    def _async_to_threads(self, values: dict[str, Any], origins: dict[str, list[str]]) -> None:
        """``gevent = N`` (uWSGI's async cores): satrap has no gevent loop; N concurrent requests per
        worker is what the user asked for, and threads give that (capped), so say so and do it."""
        cores = values.get("gevent") or 0
        if cores and "threads" not in origins:
            threads = min(int(cores), _MAX_ASYNC_THREADS)
            values["threads"] = threads
            values["enable-threads"] = True
            origins["threads"] = [f"gevent = {cores}"]
            self.warnings.append(f"gevent = {cores}: satrap has no gevent loop; each worker runs "
                                 f"{threads} threads instead (an app that monkey-patches itself still works)")

    def _implies(self, values: dict[str, Any], origins: dict[str, list[str]]) -> None:
        for name in list(values):
            opt = self.registry[name]
            if not opt.implies or not _truthy(values[name]):
                continue
            for target in opt.implies:
                tgt = self.registry[target]
                if values.get(tgt.name) is not True:
                    values[tgt.name] = True
                    origins.setdefault(tgt.name, []).append(f"implied by {name}")


_MAX_ASYNC_THREADS = 64


def _feature_problems(cfg: Config) -> list[str]:
    """Values of supported options that name a part satrap does not have (a routing action, a
    cron field): checked now so the start is refused with one line naming it, not at request time."""
    problems: list[str] = []
    if category_given(cfg, "routing"):
        from satrap.routing import check

        problems += check(cfg)
    if any(cfg.is_set(n) for n in CRON_OPTIONS):
        from satrap.cron import tasks_from  # parsers live with the features; imported only when used

        try:
            tasks_from(cfg)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def _subst(entry: Entry, item: str) -> Entry:
    value = entry.value.replace("%(_)", item) if entry.value is not None else None
    return Entry(entry.key.replace("%(_)", item), value, entry.origin)


def load_config(argv: Sequence[str], environ: Mapping[str, str] | None = None,
                registry: Registry = REGISTRY) -> Config:
    """Build the effective config from env and argv (``argv`` excludes the program name).

    Raises :class:`ConfigError` with a one-line message for anything satrap cannot run with."""
    env = dict(os.environ if environ is None else environ)
    loader = _Loader(env, registry)
    loader.run(env_entries(env))
    loader.run(argv_entries(argv, registry))
    return loader.finish(argv)


__all__ = ["load_config", "CONFIG_EXTENSIONS"]
