"""The option row and the lookup over all spellings of it.

An :class:`Option` is pure data: the loader, argv parsing, env names, ``--help`` and
``docs/options.md`` are all views of the same rows, so a spelling accepted in one place is accepted
everywhere. Lookup normalises underscores to dashes because uWSGI treats ``UWSGI_HTTP_SOCKET`` and
``http-socket`` as the same option.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .convert import converter_for

KINDS = ("bool", "int", "str", "list")
SUPPORT = ("yes", "noop", "unsupported")


@dataclass(frozen=True, slots=True)
class Option:
    """One uWSGI (or satrap) option.

    ``support``: "yes" = implemented; "noop" = accepted, no effect (``reason`` says why that is
    harmless); "unsupported" = real uWSGI option satrap does not implement yet (``reason`` says what
    to do instead). ``implies`` are options forced on when this one is given a true-ish value
    (uWSGI's UWSGI_OPT_MASTER / _THREADS / _PROCNAME). ``immediate`` options act while the config is
    read (includes, ``set``). ``expand=False`` keeps ``%(name)`` text for request-time variables.
    ``bare`` is the value used when the key is given without one.
    """

    name: str
    kind: str
    default: Any = None
    help: str = ""
    category: str = "misc"
    aliases: tuple[str, ...] = ()
    short: str = ""
    support: str = "yes"
    reason: str = ""
    implies: tuple[str, ...] = ()
    immediate: bool = False
    expand: bool = True
    bare: str | None = None
    satrap_only: bool = False
    convert: Callable[[str | None], Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name}: bad kind {self.kind!r}")
        if self.support not in SUPPORT:
            raise ValueError(f"option {self.name}: bad support {self.support!r}")

    @property
    def attr(self) -> str:
        """The Config attribute name (``http-socket`` -> ``http_socket``)."""
        return self.name.replace("-", "_")

    @property
    def multi(self) -> bool:
        return self.kind == "list"

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def effective_default(self) -> Any:
        """Lists default to a fresh empty list so callers may not share (or mutate) the row's state."""
        if self.kind == "list":
            return list(self.default or ())
        if self.kind == "bool" and self.default is None:
            return False
        return self.default

    def parse(self, raw: str | None) -> Any:
        """Convert one raw value; a bare key takes ``bare`` first (e.g. chmod-socket -> 666)."""
        if raw is None and self.bare is not None:
            raw = self.bare
        return converter_for(self.kind, self.convert)(raw)


def normalise(name: str) -> str:
    """uWSGI spells options in kebab case; env and Python callers use underscores."""
    return name.strip().lstrip("-").replace("_", "-")


class Registry:
    """Every option by every spelling.

    ``options`` are the rows a running server reads; ``complete`` (optional) builds the whole table,
    a superset in table order. It is built on the first miss or walk (``--help``, the docs, an
    option satrap does not implement) and dropped again by :meth:`shed`, so the hundreds of
    uWSGI-only rows are not in the heap every worker shares.
    """

    def __init__(self, options: Iterable[Option],
                 complete: Callable[[], Iterable[Option]] | None = None) -> None:
        self._core = tuple(options)
        self._core_index = self._index(self._core)
        self._complete = complete
        self._options, (self._by_name, self._by_short) = self._core, self._core_index
        self._whole = complete is None

    @staticmethod
    def _index(options: tuple[Option, ...]) -> tuple[dict[str, Option], dict[str, Option]]:
        by_name: dict[str, Option] = {}
        by_short: dict[str, Option] = {}
        for opt in options:
            for spelling in opt.spellings:
                key = normalise(spelling)
                if key in by_name:
                    raise ValueError(f"option spelling {spelling!r} used twice")
                by_name[key] = opt
            if opt.short:
                if opt.short in by_short:
                    raise ValueError(f"short flag -{opt.short} used twice")
                by_short[opt.short] = opt
        return by_name, by_short

    def _load_all(self) -> bool:
        """Index the whole table; False when it is already indexed (a miss is then a real miss)."""
        if self._whole or self._complete is None:
            return False
        self._options = tuple(self._complete())
        self._by_name, self._by_short = self._index(self._options)
        self._whole = True
        return True

    def shed(self) -> None:
        """Forget the rows outside the core (called once the config is read, before the app
        loads): the next miss or walk builds them again."""
        if self._complete is not None:
            self._options, (self._by_name, self._by_short) = self._core, self._core_index
            self._whole = False

    @property
    def core(self) -> tuple[Option, ...]:
        """The rows a running server reads, in table order (never builds the rest)."""
        return self._core

    @property
    def whole(self) -> bool:
        """True while every row is indexed (after a miss or a walk, until :meth:`shed`)."""
        return self._whole

    def __iter__(self) -> Iterator[Option]:
        self._load_all()
        return iter(self._options)

    def __len__(self) -> int:
        self._load_all()
        return len(self._options)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.lookup(name) is not None

    def lookup(self, name: str, whole: bool = True) -> Option | None:
        """By name or alias (dashes or underscores), or a short flag given as ``-p``. With
        ``whole=False`` only the rows indexed now are asked: a miss never builds the table."""
        if len(name) == 2 and name[0] == "-" and name[1] != "-":
            return self.by_short(name[1])
        key = normalise(name)
        opt = self._by_name.get(key)
        if opt is None and whole and self._load_all():
            opt = self._by_name.get(key)
        return opt

    def by_short(self, letter: str) -> Option | None:
        opt = self._by_short.get(letter)
        if opt is None and self._load_all():
            opt = self._by_short.get(letter)
        return opt

    def __getitem__(self, name: str) -> Option:
        opt = self.lookup(name)
        if opt is None:
            raise KeyError(name)
        return opt

    def suggest(self, name: str) -> str | None:
        """Closest known spelling, for "did you mean" hints on typos."""
        import difflib  # only on an error path: not worth 0.2 MB in every process that forks

        self._load_all()
        matches = difflib.get_close_matches(normalise(name), list(self._by_name), n=1, cutoff=0.75)
        return matches[0] if matches else None

    def spellings(self) -> list[str]:
        self._load_all()
        return list(self._by_name)
