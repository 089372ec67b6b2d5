"""uWSGI's config language, construct by construct (core/uwsgi.c, core/ini.c as 2.0 reads them)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from satrap import UWSGI_COMPAT_VERSION
from satrap.config import load_config
from satrap.errors import ConfigError


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None, name: str = "app.ini",
         flag: str = "--ini"):
    path = tmp_path / name
    path.write_text(text)
    return load_config([flag, str(path)], env or {})


def test_if_env_and_not_env_with_value_and_item(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\nif-env = PORTX\nhttp-socket = :%(_)\nendif =\n"
                         "if-not-env = NOPE\nprocesses = 3\nend-if =\n"
                         "if-env = MODE=prod\nharakiri = 7\nendif =\n"
                         "if-env = MODE=dev\nharakiri = 9\nendif =\n", {"PORTX": "8123", "MODE": "prod"})
    assert cfg.http_socket == [":8123"]
    assert cfg.processes == 3
    assert cfg.harakiri == 7


def test_if_exists_file_dir_and_negations(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    cfg = load(tmp_path, f"[uwsgi]\nif-exists = {tmp_path}/f\nenv = A=%(_)\nendif =\n"
                         f"if-not-exists = {tmp_path}/nope\nenv = B=1\nendif =\n"
                         f"if-file = {tmp_path}/d\nenv = C=1\nendif =\n"
                         f"if-dir = {tmp_path}/d\nenv = D=1\nendif =\n"
                         f"if-not-file = {tmp_path}/d\nenv = E=1\nendif =\n"
                         f"if-not-dir = {tmp_path}/f\nenv = F=1\nendif =\n")
    assert cfg.env == [f"A={tmp_path}/f", "B=1", "D=1", "E=1", "F=1"]


def test_if_opt_and_nested_blocks(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\nmaster = true\nif-opt = master\nif-not-opt = lazy-apps\nprocesses = 4\n"
                         "endif =\nendif =\nif-opt = processes=4\nthreads = 2\nendif =\n")
    assert cfg.processes == 4 and cfg.threads == 2


def test_for_loops(tmp_path: Path) -> None:
    (tmp_path / "lines").write_text("a\nb\n")
    (tmp_path / "g1.txt").write_text("")
    (tmp_path / "g2.txt").write_text("")
    cfg = load(tmp_path, "[uwsgi]\nfor = x y\nenv = FOR_%(_)=1\nendfor =\n"
                         "for-times = 2\nenv = T%(_)=1\nend-for =\n"
                         f"for-readline = {tmp_path}/lines\nenv = R_%(_)=1\nendfor =\n"
                         f"for-glob = {tmp_path}/g*.txt\nenv = G=%(_)\nendfor =\n")
    assert cfg.env == ["FOR_x=1", "FOR_y=1", "T1=1", "T2=1", "R_a=1", "R_b=1",
                       f"G={tmp_path}/g1.txt", f"G={tmp_path}/g2.txt"]


def test_math_concatenation_and_increment(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\nbase = 3\nother = 4\nprocesses = %(base + other * 2)\n"
                         "threads = %(%k * 2)\nharakiri = %(base ++)\nenv = CAT=%(base other)\n"
                         "env = BAD=%(nope + 1)\n")
    assert cfg.processes == 14  # a pipeline: (3 + 4) * 2
    assert cfg.threads == (os.cpu_count() or 1) * 2
    assert cfg.harakiri == 4
    assert cfg.env == ["CAT=34", "BAD=%(nope + 1)"]


def test_percent_escape_and_magic_vars(tmp_path: Path) -> None:
    import grp
    import pwd

    cfg = load(tmp_path, "[uwsgi]\nenv = P=100%%\nenv = D=%d\nenv = N=%n\nenv = K=%k\nenv = H=%h\n"
                         "env = U=%U\nenv = G=%G\nenv = X=%x\nenv = V=%V\nenv = J=%j\nenv = JJ=%J\n"
                         "env = S=%s\nenv = E=%e\n", name="site.ini")
    env = dict(e.split("=", 1) for e in cfg.env)
    assert env["P"] == "100%"
    assert env["D"] == f"{tmp_path}/"
    assert env["N"] == "site" and env["S"] == "site.ini" and env["E"] == "ini"
    assert env["K"] == str(os.cpu_count())
    assert env["H"] == socket.gethostname()
    assert env["U"] == pwd.getpwuid(os.getuid()).pw_name
    assert env["G"] == grp.getgrgid(os.getgid()).gr_name
    assert env["X"] == "uwsgi"
    assert env["V"] == UWSGI_COMPAT_VERSION
    assert env["J"].isdigit() and env["J"] == env["JJ"]


def test_at_file_and_at_exec(tmp_path: Path) -> None:
    (tmp_path / "port").write_text("9191\n")
    cfg = load(tmp_path, f"[uwsgi]\nhttp-socket = :@({tmp_path}/port)\nenv = WHO=@(exec://echo hello world)\n")
    assert cfg.http_socket == [":9191"]
    assert cfg.env == ["WHO=hello world"]


def test_declare_option(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\ndeclare-option = site=http-socket=:$1;env=SITE=$2;env=ALL=$*\n"
                         "declare-option2 = two=processes=$1\nsite = 8001 blog\ntwo = 3\n")
    assert cfg.http_socket == [":8001"]
    assert cfg.env == ["SITE=blog", "ALL=8001 blog"]
    assert cfg.processes == 3
    assert not cfg.unsupported


def test_strict_refuses_unknown_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="strict"):
        load(tmp_path, "[uwsgi]\nstrict = true\nprocesess = 2\n")
    assert load(tmp_path, "[uwsgi]\nprocesess = 2\n").warnings


def test_values_keep_inline_comment_text_with_a_warning(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\nmodule = app:app  # app.py\n")
    assert cfg.module == "app:app  # app.py"
    assert any("inline comment" in w for w in cfg.warnings)


def test_log_format_and_route_keep_request_variables(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\nsite = example\nlog-format = %(method) %(uri) %(status)\n"
                         "route-if = equal:${HTTP_HOST};%(site) log:${REQUEST_URI} $1\n")
    assert cfg.log_format == "%(method) %(uri) %(status)"
    assert cfg.route_if == ["equal:${HTTP_HOST};example log:${REQUEST_URI} $1"]


def test_yaml_json_xml(tmp_path: Path) -> None:
    y = load(tmp_path, "uwsgi:\n  http-socket: :9001\n  env: A=1\n  env: B=2\n", name="a.yaml", flag="--yaml")
    assert y.http_socket == [":9001"] and y.env == ["A=1", "B=2"]
    j = load(tmp_path, '{"uwsgi": {"http-socket": ":9002", "env": ["A=1", "B=2"], "master": true}}',
             name="a.json", flag="--json")
    assert j.http_socket == [":9002"] and j.env == ["A=1", "B=2"] and j.master is True
    x = load(tmp_path, "<uwsgi><http-socket>:9003</http-socket><master/>"
                       "<app mountpoint=\"/x\"><script>x.py</script></app></uwsgi>", name="a.xml", flag="--xml")
    assert x.http_socket == [":9003"] and x.master is True and x.mount == ["/x=x.py"]


def test_route_chain_order_is_kept_across_options(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\nroute-host = ^a log:1\nroute = ^/ log:2\nroute-if = empty:x log:3\n"
                         "route-host = ^b log:4\n")
    assert [n for n, _ in cfg.ordered(["route", "route-host", "route-if"])] == [
        "route-host", "route", "route-if", "route-host"]


def test_unsupported_routing_action_is_refused_by_name(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\nroute = ^/ cachestore:key=x\n")
    assert any("'cachestore'" in u for u in cfg.unsupported)


def test_integer_flag_given_a_boolean_reads_as_zero_like_atoi(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[uwsgi]\nharakiri = true\n")
    assert cfg.harakiri == 0
    assert any("uWSGI reads it as 0" in w for w in cfg.warnings)
