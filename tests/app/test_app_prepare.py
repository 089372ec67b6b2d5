"""prepare_process: env, chdir, pythonpath and virtualenv, in uWSGI's order."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from satrap.app.loader import load_app, prepare_process
from satrap.errors import ConfigError

RUNNING = f"{sys.version_info[0]}.{sys.version_info[1]}"
OTHER = f"{sys.version_info[0]}.{sys.version_info[1] + 1}"


def test_env_and_unenv(cfg, monkeypatch):
    monkeypatch.setenv("SATRAP_TEST_DROP", "1")
    prepare_process(cfg(env=["SATRAP_TEST_A=1", "SATRAP_TEST_B=x=y", "SATRAP_TEST_EMPTY="],
                        unenv=["SATRAP_TEST_DROP", "SATRAP_TEST_NEVER_SET"]))
    assert os.environ["SATRAP_TEST_A"] == "1"
    assert os.environ["SATRAP_TEST_B"] == "x=y"
    assert os.environ["SATRAP_TEST_EMPTY"] == ""
    assert "SATRAP_TEST_DROP" not in os.environ


def test_env_is_visible_to_the_app_at_import(cfg, write):
    write("envapp.py", '''
        import os
        SEEN = os.environ["DATABASE_URL"]
        def application(environ, start_response):
            return []
    ''')
    c = cfg(module="envapp", env=["DATABASE_URL=sqlite://"])
    prepare_process(c)
    load_app(c)
    assert sys.modules["envapp"].SEEN == "sqlite://"


def test_env_without_equals_is_an_error(cfg):
    with pytest.raises(ConfigError, match="env = JUSTNAME: expected KEY=VALUE"):
        prepare_process(cfg(env=["JUSTNAME"]))


def test_chdir(cfg, tmp_path):
    (tmp_path / "proj").mkdir()
    prepare_process(cfg(chdir=str(tmp_path / "proj")))
    assert os.getcwd() == str(tmp_path / "proj")
    assert sys.path[0] == str(tmp_path / "proj")


def test_chdir_missing(cfg, tmp_path):
    with pytest.raises(ConfigError) as info:
        prepare_process(cfg(chdir=str(tmp_path / "nope")))
    assert str(info.value) == f"chdir = {tmp_path / 'nope'}: no such directory"


def test_chdir_to_a_file(cfg, tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        prepare_process(cfg(chdir=str(tmp_path / "f")))


def test_cwd_first_then_pythonpath_in_uwsgi_order(cfg, tmp_path):
    """uWSGI inserts ``.`` at 0, then each pythonpath entry at 0: the last entry ends up first."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    prepare_process(cfg(pythonpath=["a", str(tmp_path / "b")]))
    assert sys.path[:3] == [str(tmp_path / "b"), str(tmp_path / "a"), str(tmp_path)]


def test_pythonpath_glob(cfg, write, tmp_path):
    write("libs/one/mod_one.py", "X = 1\n")
    write("libs/two/mod_two.py", "X = 2\n")
    prepare_process(cfg(pythonpath=["libs/*"]))
    assert sys.path[:2] == [str(tmp_path / "libs/two"), str(tmp_path / "libs/one")]
    import mod_one
    import mod_two
    assert (mod_one.X, mod_two.X) == (1, 2)


def test_pythonpath_glob_without_match_is_kept_literally(cfg, tmp_path):
    prepare_process(cfg(pythonpath=["nothing/*"]))
    assert sys.path[0] == str(tmp_path / "nothing/*")


def test_pythonpath_makes_module_importable(cfg, write, tmp_path):
    write("src/server.py", "def application(e, s):\n    return [b'from src']\n")
    c = cfg(module="server", pythonpath=[str(tmp_path / "src")])
    prepare_process(c)
    assert load_app(c)({}, lambda *a: None) == [b"from src"]


def test_prepare_twice_does_not_duplicate(cfg, tmp_path):
    (tmp_path / "a").mkdir()
    c = cfg(pythonpath=["a"])
    prepare_process(c)
    prepare_process(c)
    assert sys.path.count(str(tmp_path / "a")) == 1
    assert sys.path.count(str(tmp_path)) == 1


# ---------------------------------------------------------------------------- virtualenv


def make_venv(root: Path, version: str = RUNNING, cfg_file: bool = True, lib: str = "lib") -> Path:
    site = root / lib / f"python{version}" / "site-packages"
    site.mkdir(parents=True)
    if cfg_file:
        (root / "pyvenv.cfg").write_text(
            f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {version}.1\n")
    return site


def test_virtualenv_site_packages_first(cfg, tmp_path):
    site = make_venv(tmp_path / "venv")
    (site / "venvonly.py").write_text("WHERE = 'venv'\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "frompth.py").write_text("WHERE = 'pth'\n")
    (site / "editable.pth").write_text(str(tmp_path / "extra") + "\n")
    prepare_process(cfg(virtualenv=str(tmp_path / "venv"), pythonpath=["pp"]))
    # pythonpath, cwd, then the venv (and what its .pth files add), then the rest
    assert sys.path[:4] == [str(tmp_path / "pp"), str(tmp_path), str(site), str(tmp_path / "extra")]
    assert os.environ["VIRTUAL_ENV"] == str(tmp_path / "venv")
    import frompth
    import venvonly
    assert (venvonly.WHERE, frompth.WHERE) == ("venv", "pth")


def test_virtualenv_relative_to_chdir(cfg, tmp_path):
    (tmp_path / "proj").mkdir()
    site = make_venv(tmp_path / "proj" / ".venv")
    prepare_process(cfg(chdir=str(tmp_path / "proj"), virtualenv=".venv"))
    assert str(site) in sys.path


def test_virtualenv_without_pyvenv_cfg(cfg, tmp_path):
    site = make_venv(tmp_path / "venv", cfg_file=False)
    prepare_process(cfg(virtualenv=str(tmp_path / "venv")))
    assert str(site) in sys.path


def test_virtualenv_for_another_python(cfg, tmp_path):
    make_venv(tmp_path / "venv", version=OTHER)
    with pytest.raises(ConfigError) as info:
        prepare_process(cfg(virtualenv=str(tmp_path / "venv")))
    message = str(info.value)
    assert "\n" not in message
    assert f"is for Python {OTHER} but satrap runs on Python {RUNNING}" in message
    assert "run it from there" in message


def test_virtualenv_for_another_python_without_pyvenv_cfg(cfg, tmp_path):
    make_venv(tmp_path / "venv", version=OTHER, cfg_file=False)
    with pytest.raises(ConfigError, match=f"is for Python {OTHER}"):
        prepare_process(cfg(virtualenv=str(tmp_path / "venv")))


def test_virtualenv_missing(cfg, tmp_path):
    with pytest.raises(ConfigError) as info:
        prepare_process(cfg(virtualenv=str(tmp_path / "nope")))
    assert str(info.value) == f"virtualenv = {tmp_path / 'nope'}: no such directory"


def test_virtualenv_that_is_not_one(cfg, tmp_path):
    (tmp_path / "notvenv").mkdir()
    with pytest.raises(ConfigError, match="is it a virtualenv"):
        prepare_process(cfg(virtualenv=str(tmp_path / "notvenv")))
