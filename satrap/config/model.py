"""The effective configuration every other module reads.

Only registry names exist as attributes (``cfg.processes``, ``cfg.http_socket``); an unset option
reads as its default, a list option as a fresh list. The object keeps where each value came from,
so ``--print-config`` can answer "why is this set?".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from satrap.options.catalog import REGISTRY
from satrap.options.registry import Option, Registry


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

    def _option(self, name: str) -> Option:
        opt = self._registry.lookup(name)
        if opt is None:
            raise AttributeError(f"no such option: {name}")
        return opt

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)

    def get(self, name: str) -> Any:
        """Effective value by any spelling (``http-socket``, ``http_socket``, an alias)."""
        opt = self._option(name)
        if opt.name in self._values:
            value = self._values[opt.name]
            return list(value) if isinstance(value, list) else value
        return opt.effective_default()

    def is_set(self, name: str) -> bool:
        """Given anywhere (env, argv, file) or implied by another option."""
        return self._option(name).name in self._values

    def origins(self, name: str) -> list[str]:
        """Where each value of this option came from, in order."""
        return list(self._origins.get(self._option(name).name, []))

    def ordered(self, names: Sequence[str]) -> list[tuple[str, Any]]:
        """(name, value) of the given options in the order they were read, across options."""
        wanted = {self._option(n).name for n in names if self._registry.lookup(n) is not None}
        return [(n, v) for n, v in self.sequence if n in wanted]

    def items(self) -> list[tuple[str, Any]]:
        """Set options in table order, for tools that want to walk the config."""
        return [(o.name, self._values[o.name]) for o in self._registry if o.name in self._values]

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
