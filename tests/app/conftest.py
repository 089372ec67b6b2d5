"""Fixtures for app-loading tests: loading an app mutates process state (sys.path, sys.modules,
os.environ, the cwd), so every test gets it back exactly as it was."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def isolated_process(tmp_path: Path) -> Iterator[None]:
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_cache = dict(sys.path_importer_cache)
    os.chdir(tmp_path)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            del sys.modules[name]
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path_importer_cache.clear()
        sys.path_importer_cache.update(saved_cache)


def make_cfg(**overrides: Any) -> SimpleNamespace:
    """The duck-typed config the loader reads, with uWSGI's defaults."""
    fields: dict[str, Any] = dict(
        module=None, callable="application", wsgi_file=None, pythonpath=[], virtualenv=None,
        env=[], unenv=[], mount=[], manage_script_name=False, chdir=None, need_app=False)
    fields.update(overrides)
    return SimpleNamespace(**fields)


@pytest.fixture
def cfg() -> Callable[..., SimpleNamespace]:
    return make_cfg


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(relpath: str, source: str) -> Path:
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return path
    return write
