"""The Emperor's pure helpers: vassal argv/env, on-demand socket paths, sd_notify, stats."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

from satrap.emperor.emperor import (
    descendants,
    on_demand_socket_path,
    sd_notify,
    vassal_argv,
    vassal_env,
)


def test_vassal_set_comes_before_the_config() -> None:
    argv = vassal_argv(["py", "-m", "satrap"], "/v/app.yaml", ["thunder-lock=true", "processes=4"])
    assert argv == ["py", "-m", "satrap", "--set", "thunder-lock=true", "--set", "processes=4",
                    "--yaml", "/v/app.yaml"]


def test_vassal_env() -> None:
    env = vassal_env({"PATH": "/bin", "NOTIFY_SOCKET": "@x", "SATRAP__RELOADS": "3",
                      "SATRAP__LISTEN_FDS": "a=3", "UWSGI_EMPEROR": "/v", "SATRAP_EMPEROR": "/v",
                      "UWSGI_VASSAL_PROCESSES": "3", "UWSGI_RELOADS": "1"}, 7, 9)
    assert env == {"PATH": "/bin", "UWSGI_PROCESSES": "3", "SATRAP__EMPEROR_FD": "7",
                   "SATRAP__ON_DEMAND_FD": "9"}
    assert "SATRAP__ON_DEMAND_FD" not in vassal_env({}, 7, None)


def test_on_demand_paths(tmp_path: Path) -> None:
    cfg = SimpleNamespace(emperor_on_demand_extension=None, emperor_on_demand_directory=str(tmp_path))
    assert on_demand_socket_path(cfg, "/v/app.ini") == str(tmp_path / "app.socket")
    vfile = tmp_path / "b.ini"
    (tmp_path / "b.ini.socket").write_text("run/b.sock\n")
    cfg = SimpleNamespace(emperor_on_demand_extension=".socket", emperor_on_demand_directory=None)
    assert on_demand_socket_path(cfg, str(vfile)) == str(tmp_path / "run/b.sock")
    assert on_demand_socket_path(cfg, str(tmp_path / "c.ini")) is None  # no .socket file: normal
    cfg = SimpleNamespace(emperor_on_demand_extension=None, emperor_on_demand_directory=None)
    assert on_demand_socket_path(cfg, "/v/app.ini") is None


def test_sd_notify(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        assert sd_notify("READY=1\nSTATUS=hi", {"NOTIFY_SOCKET": path})
        assert sock.recv(100) == b"READY=1\nSTATUS=hi"
    assert not sd_notify("READY=1", {})
    assert not sd_notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "none")})


def test_descendants_of_nobody() -> None:
    assert descendants(2 ** 22 + 12345) == []
