from __future__ import annotations

import os
from pathlib import Path

import pytest

from satrap.config import load_config
from satrap.errors import ConfigError, ExitCode

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_argv_ini_env_equivalent(tmp_path: Path) -> None:
    ini = write(tmp_path, "a.ini", "[uwsgi]\nprocesses = 3\nmaster = true\nsocket = :1\nsocket = :2\n")
    a = load_config(["--processes", "3", "--master", "--socket", ":1", "--socket=:2"], {})
    b = load_config([ini], {})
    c = load_config(["-p", "3", "-M", "-s", ":1", "-s:2"], {})
    d = load_config([], {"UWSGI_PROCESSES": "3", "UWSGI_MASTER": "1", "UWSGI_SOCKET": ":1"})
    for cfg in (a, b, c):
        assert (cfg.processes, cfg.master, cfg.socket) == (3, True, [":1", ":2"])
    assert (d.processes, d.master, d.socket) == (3, True, [":1"])
    assert b.config_files == [ini]


def test_defaults_and_get() -> None:
    cfg = load_config([], {})
    assert cfg.processes == 1 and cfg.socket == [] and cfg.callable == "application"
    assert cfg.get("http-socket") == [] and cfg.get("workers") == 1 and cfg.protocol == "uwsgi"
    assert not cfg.is_set("master")
    with pytest.raises(AttributeError):
        cfg.no_such_option


def test_precedence_env_then_argv_in_order(tmp_path: Path) -> None:
    ini = write(tmp_path, "a.ini", "[uwsgi]\nprocesses = 4\n")
    assert load_config(["--processes", "2", ini], {"UWSGI_PROCESSES": "8"}).processes == 4
    assert load_config([ini, "--processes", "2"], {"UWSGI_PROCESSES": "8"}).processes == 2
    assert load_config([], {"UWSGI_PROCESSES": "8"}).processes == 8
    assert load_config([], {"SATRAP_PROCESSES": "5"}).processes == 5


def test_reserved_env_skipped() -> None:
    cfg = load_config([], {"UWSGI_RELOADS": "3", "SATRAP_LISTEN_FDS": "3", "SATRAP__X": "1",
                           "SATRAP_INHERITED_FDS": "4", "UWSGI_VASSAL_X": "1", "SATRAP_EMPEROR_FD": "5"})
    assert cfg.warnings == [] and cfg.placeholders == {}


def test_includes_in_place_and_sections(tmp_path: Path) -> None:
    write(tmp_path, "base.ini", "[uwsgi]\nprocesses = 2\nthreads = 2\n[other]\nthreads = 9\n")
    main = write(tmp_path, "main.ini", "[uwsgi]\nprocesses = 5\nini = base.ini\nini = :other\nsocket = %(processes)\n")
    cfg = load_config([main], {})
    assert cfg.processes == 2 and cfg.threads == 9
    assert cfg.socket == ["5"]  # first value of the key wins for %(name)
    assert len(cfg.config_files) == 2
    cfg2 = load_config(["--ini", str(tmp_path / "base.ini") + ":other"], {})
    assert cfg2.threads == 9 and not cfg2.is_set("processes")


def test_satrap_section_and_ini_quirks(tmp_path: Path) -> None:
    text = "preamble text\n[satrap]\n  master\n# c\n; c\nmodule = app:app  # trailing\nprocesses=2   \nharakiri = 3\n"
    cfg = load_config([write(tmp_path, "q.ini", text)], {})
    assert cfg.master is True and cfg.processes == 2 and cfg.harakiri == 3
    assert cfg.module == "app:app  # trailing"
    assert any("inline comment" in w and "q.ini:6" in w for w in cfg.warnings)


def test_magic_placeholders(tmp_path: Path) -> None:
    sub = tmp_path / "proj"
    sub.mkdir()
    text = "[uwsgi]\nchdir = %d\nprocname = %n %s %e %c %x\npidfile = %p\nlogto = 100%%\nsocket = %k\n" \
           "chown-socket = %h\nuid = %u\ngid = %g\nlog-format = %(method) %(uri)\nenv = A=$(HOME_X)\nenv = B=$(MISSING)\n"
    path = write(sub, "site.ini", text)
    cfg = load_config([path], {"HOME_X": "hx"})
    assert cfg.chdir == str(sub) + "/"
    assert cfg.procname == "site site.ini ini proj uwsgi"
    assert cfg.pidfile == path and cfg.logto == "100%"
    assert cfg.socket == [str(os.cpu_count())]
    assert cfg.log_format == "%(method) %(uri)"
    assert cfg.env == ["A=hx", "B=$(MISSING)"]
    assert cfg.uid == str(os.getuid())


def test_custom_placeholders_and_set(tmp_path: Path) -> None:
    text = "[uwsgi]\nbase = /srv/app\nchdir = %(base)/src\nset-ph = port=9000\nhttp = :%(port)\nset = processes=3\n" \
           "socket = %(unknown)\nlisten = %(port + 1)\n"
    cfg = load_config([write(tmp_path, "p.ini", text)], {})
    assert cfg.chdir == "/srv/app/src" and cfg.http == [":9000"] and cfg.processes == 3
    assert cfg.socket == ["%(unknown)"] and cfg.listen == 9001
    assert cfg.placeholders["base"] == "/srv/app" and cfg.warnings == []


def test_typo_warning_and_strict(tmp_path: Path) -> None:
    path = write(tmp_path, "t.ini", "[uwsgi]\nprocessess = 4\n")
    cfg = load_config([path], {})
    assert cfg.warnings == [f"{path}:2: unknown option 'processess' is ignored; did you mean 'processes'?"]
    with pytest.raises(ConfigError, match="processess"):
        load_config([path, "--strict"], {})


def test_cli_errors() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(["--processess", "2"], {})
    assert str(err.value) == "unknown option --processess: did you mean --processes?"
    assert err.value.exit_code == ExitCode.USAGE
    with pytest.raises(ConfigError, match="needs a value"):
        load_config(["--socket"], {})
    with pytest.raises(ConfigError, match="not found: nope.ini"):
        load_config(["nope.ini"], {})


def test_bad_type_names_file_line(tmp_path: Path) -> None:
    path = write(tmp_path, "b.ini", "[uwsgi]\n\nprocesses = two\n")
    with pytest.raises(ConfigError) as err:
        load_config([path], {})
    msg = str(err.value)
    assert f"{path}:3" in msg and "processes" in msg and "integer" in msg and "\n" not in msg


def test_positional_and_bools() -> None:
    cfg = load_config(["app.py", "pkg.mod:app", "--no-master", "--chmod-socket", "--vacuum=false"], {})
    assert cfg.wsgi_file == "app.py" and cfg.module == "pkg.mod:app"
    assert cfg.master is False and cfg.chmod_socket == "666" and cfg.vacuum is False


def test_implies_and_unsupported() -> None:
    cfg = load_config(["--stats", ":1717", "--threads", "4", "--rawrouter", ":3000", "--single-interpreter",
                       "--plugin", "python3,php"], {})
    assert cfg.master is True and cfg.enable_threads is True
    assert any("'rawrouter'" in u for u in cfg.unsupported)
    assert any("plugin php" in u for u in cfg.unsupported)
    assert all("\n" not in u for u in cfg.unsupported)
    assert "implied by stats" in cfg.describe()


def test_yaml_json_xml(tmp_path: Path) -> None:
    y = write(tmp_path, "a.yaml", "uwsgi:\n  processes: 2\n  socket: :1\n  socket: :2\n  master: true\n")
    j = write(tmp_path, "a.json", '{"uwsgi": {"processes": 2, "socket": [":1", ":2"], "master": true}}')
    x = write(tmp_path, "a.xml", "<uwsgi><processes>2</processes><socket>:1</socket><socket>:2</socket><master/></uwsgi>")
    for path in (y, j, x):
        cfg = load_config([path], {})
        assert (cfg.processes, cfg.socket, cfg.master) == (2, [":1", ":2"], True), path


def test_logic_blocks(tmp_path: Path) -> None:
    text = ("[uwsgi]\nif-env = FOO\nprocesses = 3\nendif =\nif-not-env = FOO\nprocesses = 9\nend-if =\n"
            "for = a b\nenv = X_%(_)=1\nendfor =\nif-exists = %d\nthreads = 2\nendif =\n"
            "if-opt = processes=3\nharakiri = 7\nendif\n")
    cfg = load_config([write(tmp_path, "l.ini", text)], {"FOO": "1"})
    assert cfg.processes == 3 and cfg.env == ["X_a=1", "X_b=1"] and cfg.threads == 2 and cfg.harakiri == 7


def test_inherit_is_a_template(tmp_path: Path) -> None:
    write(tmp_path, "tpl.ini", "[uwsgi]\nprocesses = 8\nthreads = 4\n")
    cfg = load_config([write(tmp_path, "v.ini", "[uwsgi]\ninherit = tpl.ini\nprocesses = 2\n")], {})
    assert cfg.processes == 2 and cfg.threads == 4


def test_seed_003_ini(tmp_path: Path) -> None:
    seed = next(SEEDS.glob("003*.txt"), None) if SEEDS.exists() else None
    if seed is None:
        pytest.skip("seeds not present")
    text = seed.read_text(encoding="utf-8")
    block = text[text.index("[uwsgi]"):].split("\n\n")[0]
    path = write(tmp_path, "uwsgi.ini", block + "\n")
    for argv in (["--ini", path], [path]):
        cfg = load_config(argv, {})
        assert cfg.wsgi_file == "flask-demo.py" and cfg.callable == "app" and cfg.http == ["0.0.0.0:1234"]
        assert cfg.need_app and cfg.lazy_apps and cfg.master and cfg.processes == 2 and cfg.threads == 2
        assert cfg.single_interpreter and cfg.die_on_term and cfg.vacuum and cfg.pidfile == "demo.pid"
        assert cfg.procname_prefix_spaced == "flask demo" and cfg.warnings == []
