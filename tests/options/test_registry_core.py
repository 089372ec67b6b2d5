"""The registry keeps only the rows a running server reads (its core) and builds the rest of the
table on demand, so the ~900 rows of uWSGI options satrap does not implement are not heap that
every worker shares. These tests pin the two promises that make that safe: the core holds every
option the code names, and a config read never needs the rest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from satrap.config import load_config
from satrap.config.model import Config
from satrap.options.catalog import REGISTRY, all_options
from satrap.options.registry import Option, Registry, normalise

PACKAGE = Path(__file__).resolve().parents[2] / "satrap"
_CONFIG_NAMES = {"cfg", "config", "vcfg", "conf"}


def _is_config(node: ast.AST) -> bool:
    return ((isinstance(node, ast.Name) and node.id in _CONFIG_NAMES)
            or (isinstance(node, ast.Attribute) and node.attr in _CONFIG_NAMES))


def _names_read(tree: ast.AST) -> set[str]:
    """Option names read from a config object: ``cfg.x``, ``getattr(cfg, "x")``, ``cfg.get("x")``
    and helpers called as ``f(cfg, "x")``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_config(node.value):
            names.add(node.attr)
        if isinstance(node, ast.Call):
            args = list(node.args)
            if isinstance(node.func, ast.Attribute) and _is_config(node.func.value):
                args.insert(0, node.func.value)
            if args and _is_config(args[0]):
                for arg in args[1:]:
                    items = arg.elts if isinstance(arg, (ast.Tuple, ast.List)) else [arg]
                    names |= {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
    return names


def test_every_option_the_code_reads_is_a_core_row() -> None:
    whole = {normalise(s): o for o in all_options() for s in o.spellings}
    methods = set(dir(Config))
    outside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in _names_read(ast.parse(path.read_text())) - methods:
            key = normalise(name)
            if key in whole and REGISTRY.lookup(name, whole=False) is None:
                outside.append(f"{path.relative_to(PACKAGE)} reads {whole[key].name}: add it to _CORE_LINES")
    assert not outside, "\n".join(outside)
    assert _names_read(ast.parse("getattr(cfg, 'no_defer_accept', False)")) == {"no_defer_accept"}


def test_the_core_rows_are_the_same_rows_the_whole_table_has() -> None:
    whole = {o.name: o for o in all_options()}
    for opt in REGISTRY.core:
        assert whole[opt.name] == opt
    assert len(REGISTRY.core) < len(whole) / 3  # the point: most rows are not in the core


def test_a_config_read_never_builds_the_whole_table() -> None:
    REGISTRY.shed()
    cfg = load_config(["--http-socket", "127.0.0.1:0", "--wsgi-file", "app.py", "--master",
                       "--processes", "2", "--no-defer-accept", "--single-interpreter"], {})
    REGISTRY.shed()  # the loader may build it (single-interpreter is not a core row): that is fine
    assert cfg.processes == 2 and cfg.no_defer_accept is True
    assert cfg.single_interpreter is True  # a row outside the core reads as the value given
    with pytest.raises(AttributeError):
        cfg.get("hook-not-a-phase")  # neither a core row nor given: no such attribute
    assert getattr(cfg, "exec_as_root", None) in (None, [])
    assert getattr(cfg, "memory_report", "unset") == "unset"  # a real uWSGI option, not given
    assert not REGISTRY.whole
    assert cfg.is_set("single-interpreter") and not cfg.is_set("memory-report")
    with pytest.raises(AttributeError):
        cfg.is_set("no-such-option")
    REGISTRY.shed()


def test_a_miss_builds_the_table_and_shed_drops_it() -> None:
    REGISTRY.shed()
    assert not REGISTRY.whole
    assert REGISTRY.lookup("memory-report", whole=False) is None
    opt = REGISTRY.lookup("memory-report")
    assert opt is not None and opt.support == "noop" and REGISTRY.whole
    REGISTRY.shed()
    assert not REGISTRY.whole and REGISTRY.lookup("processes", whole=False) is not None
    assert len(REGISTRY) == len(all_options()) and REGISTRY.whole  # a walk builds it too
    REGISTRY.shed()


def test_a_registry_without_a_complete_table_is_whole() -> None:
    rows = (Option(name="alpha", kind="int"), Option(name="beta", kind="bool", short="b"))
    reg = Registry(rows)
    assert reg.whole and reg.lookup("gamma") is None and reg.lookup("-b") is rows[1]
    lazy = Registry(rows[:1], complete=lambda: rows)
    assert lazy.lookup("-b") is rows[1] and lazy.whole
    lazy.shed()
    assert lazy.lookup("beta", whole=False) is None and not lazy.whole


def test_the_optional_layers_are_found_by_their_category() -> None:
    """pipeline.wrap imports the routing and static layers only when an option of their category
    is given: a routing option filed under another category would be silently ignored."""
    from satrap.routing import HEADER_OPTIONS, ROUTE_OPTIONS

    routing = {o.name for o in REGISTRY.core if o.category == "routing"}
    rows = [REGISTRY.lookup(n, whole=False) for n in ROUTE_OPTIONS + HEADER_OPTIONS]
    assert None not in rows and routing == {o.name for o in rows if o is not None}
    static = {o.name for o in REGISTRY.core if o.category == "static"}
    assert {"static-map", "static-map2", "static-check"} <= static
    assert REGISTRY.lookup("check-static", whole=False).category == "static"
