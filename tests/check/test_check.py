"""``satrap check``: good, broken, misspelt and unsupported configs, run as the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from satrap.check import alternative, check_file

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "uwsgi-configs" / "files"


def run_check(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UWSGI_", "SATRAP_"))}
    return subprocess.run([sys.executable, "-m", "satrap", "check", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=str(cwd or REPO))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


GOOD = """[uwsgi]
socket = 127.0.0.1:4242
module = server
callable = myapp
master = true
processes = 2
single-interpreter = true
"""


def test_good_file_is_ok_and_lists_every_option(tmp_path: Path) -> None:
    ini = write(tmp_path / "good.ini", GOOD)
    out = run_check(str(ini))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1] == f"{ini}: ok (1 accepted with no effect)"
    assert "socket = 127.0.0.1:4242" in out.stdout and "supported" in out.stdout
    assert "single-interpreter = true" in out.stdout and "accepted, no effect: satrap never uses sub-interpreters" in out.stdout
    assert out.stderr == ""


def test_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    ini = write(tmp_path / "good.ini", GOOD)
    out = run_check("-q", str(ini))
    assert out.stdout == f"{ini}: ok (1 accepted with no effect)\n"


def test_unsupported_options_fail_with_what_to_use_instead(tmp_path: Path) -> None:
    ini = write(tmp_path / "legion.ini", GOOD + "legion = a 1.2.3.4:1 100 bf-cbc:x\nplugin = gevent_plugin.so\n")
    out = run_check(str(ini))
    assert out.returncode == 1
    assert out.stdout.splitlines()[-1] == f"{ini}: 2 unsupported options"
    assert "legion: UNSUPPORTED" in out.stdout and f"{ini}:8" in out.stdout
    assert "plugin gevent: UNSUPPORTED" in out.stdout and "instead:" in out.stdout


def test_typo_and_inline_comment_are_warnings_not_failures(tmp_path: Path) -> None:
    ini = write(tmp_path / "typo.ini", GOOD + "vaccum = true\ndisable-logging = true  ; quiet\n")
    out = run_check(str(ini))
    assert out.returncode == 0, out.stdout
    assert "did you mean 'vacuum'?" in out.stdout
    assert "inline comment" in out.stdout
    assert out.stdout.splitlines()[-1].endswith("ok (1 accepted with no effect, 2 warnings)")


def test_strict_typo_and_bad_value_are_errors_with_line(tmp_path: Path) -> None:
    strict = write(tmp_path / "strict.ini", GOOD + "strict = true\nprocess = 4\n")
    bad = write(tmp_path / "bad.ini", GOOD + "harakiri = soon\n")
    out = run_check(str(strict), str(bad))
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert f"{strict}: error: line 9: unknown option 'process'" in out.stdout
    assert f"{bad}: error: line 8: harakiri = 'soon': expected an integer" in out.stdout
    assert lines[-1] == "2 files checked: 0 would start, 2 would not"


def test_placeholders_and_includes_are_resolved(tmp_path: Path) -> None:
    write(tmp_path / "base.ini", "[uwsgi]\nbase_port = 9000\nmaster = true\n")
    ini = write(tmp_path / "app.ini", "[uwsgi]\nini = base.ini\nhttp-socket = 127.0.0.1:%(base_port)\n"
                                      "if-env = NOPE_NOT_SET\nspooler = x\nendif =\nmodule = app\n")
    report = check_file(ini, environ={})
    assert report.starts, report.errors + [u.key for u in report.unsupported]
    assert ("http-socket", "127.0.0.1:9000") in [(o.name, o.value) for o in report.options]


def test_no_socket_is_a_note_alone_and_an_error_for_a_vassal(tmp_path: Path) -> None:
    vassals = tmp_path / "vassals"
    vassals.mkdir()
    write(vassals / "nosock.ini", "[uwsgi]\nmodule = app\n")
    write(vassals / "fine.yaml", "uwsgi:\n  socket: /tmp/x.sock\n  module: app\n")
    write(vassals / "notes.txt", "not a vassal\n")
    alone = run_check(str(vassals / "nosock.ini"))
    assert alone.returncode == 0 and "needs a socket" in alone.stdout
    out = run_check("-q", "--emperor", str(vassals))
    assert out.returncode == 1
    assert f"{vassals / 'fine.yaml'}: ok" in out.stdout
    assert f"{vassals / 'nosock.ini'}: error: no socket to listen on" in out.stdout
    assert "notes.txt" not in out.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_check().returncode == 2
    assert run_check("--bogus", "x.ini").returncode == 2
    assert run_check("--emperor", str(tmp_path / "absent")).returncode == 2
    helped = run_check("--help")
    assert helped.returncode == 0 and "usage: satrap check" in helped.stdout


def test_never_crashes_on_garbage(tmp_path: Path) -> None:
    files = [
        write(tmp_path / "binary.ini", "\x00\x01\x02[uwsgi\n= =\n"),
        write(tmp_path / "broken.json", "{\"uwsgi\": {"),
        write(tmp_path / "broken.yaml", "uwsgi:\n  - [\n"),
        write(tmp_path / "broken.xml", "<uwsgi><socket>"),
        write(tmp_path / "loop.ini", "[uwsgi]\nini = loop.ini\n"),
        write(tmp_path / "template.ini", "[uwsgi]\nsocket = {{ socket }}\n"),
        tmp_path / "missing.ini",
        tmp_path,
    ]
    out = run_check("-q", *map(str, files))
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    for f in files:
        assert any(line.startswith(f"{f}: ") for line in out.stdout.splitlines()), f
    assert f"{tmp_path / 'template.ini'}: error: a template" in out.stdout
    assert f"{tmp_path / 'missing.ini'}: error: no such file" in out.stdout


def test_import_loads_the_app_in_a_child(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("def myapp(environ, start_response):\n    return [b'x']\n")
    ok = write(tmp_path / "ok.ini", GOOD.replace("127.0.0.1:4242", "127.0.0.1:0") + "chdir = %d\n")
    broken = write(tmp_path / "broken.ini", GOOD + "chdir = %d\nmodule = nosuchmodule_xyz\n")
    out = run_check("--import", str(ok), str(broken))
    assert f"{ok}: ok" in out.stdout, out.stdout
    assert "import: ok: the app loads" in out.stdout
    assert f"{broken}: error: the app does not load" in out.stdout and "nosuchmodule_xyz" in out.stdout
    assert out.returncode == 1
    assert "server" not in sys.modules or not hasattr(sys.modules["server"], "myapp")


def test_alternatives_are_given_where_the_reason_has_none() -> None:
    assert "systemd" in alternative("cron", "cron tasks are not implemented")
    assert alternative("spooler", "the spooler is not implemented; use a task queue") == ""


def test_corpus_never_crashes_and_every_file_gets_a_verdict() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"uWSGI config corpus absent ({CORPUS})")
    files = sorted(str(p) for p in CORPUS.iterdir() if p.is_file())
    out = run_check("-q", "--env-clean", *files)
    assert "Traceback" not in out.stdout + out.stderr
    assert out.stderr == ""
    verdicts = [line for line in out.stdout.splitlines() if line.startswith(str(CORPUS))]
    assert len(verdicts) == len(files)
    assert out.returncode == 1  # templates and broken files are in there on purpose
    by_name = {Path(v.split(": ", 1)[0]).name: v.split(": ", 1)[1] for v in verdicts}
    # a few verdicts a uWSGI expert would give, pinned
    assert by_name["016-micahhausler-fig-demo-uwsgi.json"].startswith("error: line 25: invalid JSON")
    assert "unknown option 'stopsignal'" in by_name["039-ialbert-biostar-central-site_uwsgi.ini"]
    for template in ("056-vforgione-ansible-role-uwsgi-vassal-vassal.ini.j2",
                     "057-openstack-ansible-role-uwsgi-uwsgi.ini.j2", "058-unbit-uwsgi.it-vassal.ini"):
        assert by_name[template].startswith("error: a template"), template
    assert by_name["031-nicktimko-nginx-uwsgi-python-flax.ini"] == "ok"
    assert by_name["030-nicktimko-nginx-uwsgi-python-emperor.ini"].startswith("ok (emperor")
    assert "warning" in by_name["049-kevoreilly-CAPEv2-cape.ini"]  # hunder-lock
    assert sum(v.startswith("ok") for v in by_name.values()) >= 30


def test_verdicts_doc_is_fresh() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"uWSGI config corpus absent ({CORPUS})")
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import gen_check_verdicts
    finally:
        sys.path.pop(0)
    current = (REPO / "docs" / "check-verdicts.md").read_text(encoding="utf-8")
    assert current == gen_check_verdicts.render(CORPUS), \
        "docs/check-verdicts.md is stale: run python scripts/gen_check_verdicts.py"
