"""The package's layering, checked: a module imports only from its own layer or lower ones.

The table is the one in docs/architecture.md; a new module must be placed in it (the test fails
for an unknown ``satrap.*`` module), so the picture and the code keep telling the same story.
Function-level (lazy) imports count too: a lazy import does not make a dependency go away.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "satrap"

#: low → high; the longest matching prefix decides
LAYERS: dict[str, int] = {
    "satrap": 0, "satrap.errors": 0, "satrap.log": 0, "satrap.proctitle": 0,
    "satrap.protocol": 1, "satrap.scoreboard": 1, "satrap.emperor.wire": 1,
    "satrap.options": 2,
    "satrap.cron": 3, "satrap.routing": 3, "satrap.hooks": 3,
    "satrap.config": 4,
    "satrap.app": 5, "satrap.net": 5,
    "satrap.uwsgi_api": 6, "satrap.stats": 6,
    "satrap.worker": 7, "satrap.router": 7, "satrap.fastrouter": 7,
    "satrap.master": 8,
    "satrap.emperor": 9,
    "satrap.nginx": 10, "satrap.check": 10,
    "satrap.cli": 11, "satrap.__main__": 11,
}


def layer_of(module: str) -> tuple[str, int] | None:
    best: tuple[str, int] | None = None
    for prefix, level in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, level)
    return best


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(("satrap", *parts)).removesuffix(".__init__")
        out.append((name, path))
    return out


def test_every_module_has_a_layer() -> None:
    missing = [name for name, _ in modules() if name != "satrap" and layer_of(name) == ("satrap", 0)]
    assert not missing, f"place these modules in the layer table: {missing}"


def test_imports_go_down_the_layers() -> None:
    violations = []
    for name, path in modules():
        mine = layer_of(name)
        assert mine is not None
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                theirs = layer_of(target) if target.startswith("satrap") else None
                if theirs is not None and theirs[1] > mine[1]:
                    violations.append(f"{name} (layer {mine[1]}) imports {target} (layer {theirs[1]})")
    assert not violations, "\n".join(violations)


def test_protocol_is_sans_io() -> None:
    """protocol/ parses bytes: it never touches sockets, processes, threads, config or logging."""
    banned = {"socket", "os", "threading", "select", "logging", "satrap.config", "satrap.log"}
    for name, path in modules():
        if not name.startswith("satrap.protocol"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            assert not set(names) & banned, f"{name} imports {set(names) & banned}"
