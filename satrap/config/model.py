"""The effective configuration every other module reads.

Only registry names exist as attributes (``cfg.processes``, ``cfg.http_socket``); an unset option
reads as its default, a list option as a fresh list. The object keeps where each value came from,
so ``--print-config`` can answer "why is this set?".

Reads ask only the registry's core rows, the ones running code reads: a uWSGI option outside
them has no effect in satrap, so it reads as the value the config gave, or is no attribute at all
when not given. That keeps a probe such as ``hook-<phase>`` from building the whole table in a
worker (tests/options checks that every option the code names is a core row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from satrap.options.catalog import REGISTRY
from satrap.options.registry import Registry, normalise

#: the options that make a cron table (satrap.cron reads them; the master imports it only then)
CRON_OPTIONS = ("cron", "unique-cron", "cron2")


def category_given(cfg: Any, category: str) -> bool:
    """Whether any option of this category of the table (``routing``, ``static``) has a true value.
    A feature whose options are all unset is never imported: every module the master imports is
    heap that each worker shares, and PSS charges every one of them a share of it."""
    return any(getattr(cfg, o.attr, None) for o in REGISTRY.core if o.category == category)


class Config:
    """Read-only view of a finished load (build it with :func:`satrap.config.load_config`)."""

    __slots__ = ("_values", "_origins", "_registry", "argv", "config_files", "warnings",
                 "unsupported", "placeholders", "sequence")

    def __init__(self, values: Mapping[str, Any], origins: Mapping[str, Sequence[str]], *,
                 argv: Sequence[str] = (), config_files: Sequence[str] = (), warnings: Sequence[str] = (),
                 unsupported: Sequence[str] = (), placeholders: Mapping[str, str] | None = None,
                 registry: Registry = REGISTRY, sequence: Sequence[tuple[str, Any]] = ()) -> None:
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_origins", {k: list(v) for k, v in origins.items()})
        object.__setattr__(self, "_registry", registry)
        object.__setattr__(self, "argv", list(argv))
        object.__setattr__(self, "config_files", list(config_files))
        object.__setattr__(self, "warnings", list(warnings))
        object.__setattr__(self, "unsupported", list(unsupported))
        object.__setattr__(self, "placeholders", dict(placeholders or {}))
        #: every applied (option name, value) in the order it was read: for option families whose
        #: relative order matters (route, route-if, route-host ... form one chain, as in uWSGI)
        object.__setattr__(self, "sequence", tuple(sequence))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Config is read-only; load a new one instead")

    def _key(self, name: str) -> str:
        """The option's name. Only a name outside the core that the config did not give asks the
        whole table, to tell an unset option from no option at all (AttributeError)."""
        opt = self._registry.lookup(name, whole=False)
        if opt is not None:
            return opt.name
        key = normalise(name)
        if key not in self._values and self._registry.lookup(name) is None:
            raise AttributeError(f"no such option: {name}")
        return key

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)

    def get(self, name: str) -> Any:
        """Effective value by any spelling (``http-socket``, ``http_socket``, an alias)."""
        opt = self._registry.lookup(name, whole=False)
        key = opt.name if opt is not None else normalise(name)
        if key in self._values:
            value = self._values[key]
            return list(value) if isinstance(value, list) else value
        if opt is None:  # outside the core and not given: no attribute, and no whole-table build
            raise AttributeError(f"no such option: {name}")
        return opt.effective_default()

    def is_set(self, name: str) -> bool:
        """Given anywhere (env, argv, file) or implied by another option."""
        return self._key(name) in self._values

    def origins(self, name: str) -> list[str]:
        """Where each value of this option came from, in order."""
        return list(self._origins.get(self._key(name), []))

    def ordered(self, names: Sequence[str]) -> list[tuple[str, Any]]:
        """(name, value) of the given options in the order they were read, across options."""
        wanted = set()
        for n in names:
            opt = self._registry.lookup(n, whole=False)
            wanted.add(opt.name if opt is not None else normalise(n))
        return [(n, v) for n, v in self.sequence if n in wanted]

    def items(self) -> list[tuple[str, Any]]:
        """Set options: those satrap reads in table order, then the rest as given. Walking only the
        core rows keeps ``uwsgi.opt`` from building the whole table in a running server."""
        values = self._values
        out = [(o.name, values[o.name]) for o in self._registry.core if o.name in values]
        seen = {name for name, _ in out}
        return out + [(name, value) for name, value in values.items() if name not in seen]

    def describe(self) -> str:
        """The text of ``--print-config``: every set option, its value and its origin(s)."""
        lines = ["# satrap effective configuration"]
        if self.config_files:
            lines.append("# config files: " + ", ".join(self.config_files))
        for opt in self._registry:
            if opt.name not in self._values:
                continue
            value = self._values[opt.name]
            origins = self._origins.get(opt.name, [])
            note = "" if opt.support == "yes" else f" [{'accepted, no effect' if opt.support == 'noop' else 'not supported'}]"
            if isinstance(value, list):
                for n, item in enumerate(value):
                    where = origins[n] if n < len(origins) else ""
                    lines.append(f"{opt.name} = {item}    # {where}{note}")
            else:
                shown = str(value).lower() if isinstance(value, bool) else value
                lines.append(f"{opt.name} = {shown}    # {origins[-1] if origins else ''}{note}")
        for key, value in self.placeholders.items():
            lines.append(f"# placeholder {key} = {value}")
        lines.extend(f"# warning: {w}" for w in self.warnings)
        lines.extend(f"# unsupported: {u}" for u in self.unsupported)
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return f"<Config {len(self._values)} options from {len(self.config_files)} files>"
