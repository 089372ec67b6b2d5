from __future__ import annotations

from pathlib import Path

import pytest

from satrap.options.catalog import REGISTRY, all_options
from satrap.options.convert import ConvertError, to_bool, to_int, to_octal, to_size
from satrap.options.help import format_help, format_markdown

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw", [None, "", "true", "1", "yes", "on", "True", "ON"])
def test_to_bool_true(raw: str | None) -> None:
    assert to_bool(raw) is True


@pytest.mark.parametrize("raw", ["false", "0", "no", "off", "False"])
def test_to_bool_false(raw: str) -> None:
    assert to_bool(raw) is False


def test_converters_errors() -> None:
    with pytest.raises(ConvertError, match="integer"):
        to_int("two")
    with pytest.raises(ConvertError):
        to_bool("maybe")
    assert to_int(" 4 ") == 4
    assert to_size("64k") == 65536 and to_size("1m") == 1024 * 1024 and to_size("100") == 100
    assert to_octal("660") == 0o660


@pytest.mark.parametrize("spelling,name", [
    ("-s", "socket"), ("-p", "processes"), ("-M", "master"), ("-w", "module"), ("-H", "virtualenv"),
    ("-b", "buffer-size"), ("-L", "disable-logging"), ("-t", "harakiri"), ("-R", "max-requests"),
    ("-l", "listen"), ("-C", "chmod-socket"), ("-T", "enable-threads"), ("-i", "single-interpreter"),
    ("-d", "daemonize"), ("-j", "json"), ("-y", "yaml"), ("-x", "xml"), ("workers", "processes"),
    ("python_path", "pythonpath"), ("pp", "pythonpath"), ("venv", "virtualenv"), ("home", "virtualenv"),
    ("pyhome", "virtualenv"), ("logformat", "log-format"), ("stats-server", "stats"), ("set-ph", "set-placeholder"),
    ("wsgi", "module"), ("file", "wsgi-file"), ("HTTP_SOCKET".lower(), "http-socket"), ("socket-protocol", "protocol"),
    ("vassals-set", "vassal-set"),
])
def test_lookup_any_spelling(spelling: str, name: str) -> None:
    opt = REGISTRY.lookup(spelling)
    assert opt is not None and opt.name == name


def test_every_row_is_complete() -> None:
    for opt in all_options():
        assert opt.category, opt.name
        if opt.support != "yes":
            assert opt.reason, opt.name
        for target in opt.implies:
            assert REGISTRY.lookup(target) is not None


def test_real_uwsgi_options_are_known() -> None:
    for name in ("route", "spooler", "cron", "attach-daemon", "hook-master-start", "fastrouter", "cheaper",
                 "harakiri-verbose", "offload-threads", "log-encoder", "pivot_root", "thunder-lock", "declare-option"):
        assert name in REGISTRY, name
    assert REGISTRY.lookup("route").support == "yes"
    assert REGISTRY.lookup("fastrouter").support == "yes"
    assert REGISTRY.lookup("rawrouter").support == "unsupported"
    for name in ("hook-asap", "exec-pre-app", "call-as-user", "route-if", "response-route", "add-header",
                 "cron", "cron2", "unique-cron", "declare-option", "declare-option2"):
        assert REGISTRY.lookup(name).support == "yes", name
    assert REGISTRY.lookup("hook-accepting").support == "yes"  # run by each worker once it accepts
    assert REGISTRY.lookup("single-interpreter").support == "noop"
    assert "processes" == REGISTRY.suggest("processess")


def test_implies() -> None:
    assert "enable-threads" in REGISTRY["threads"].implies
    assert "master" in REGISTRY["stats"].implies
    assert "master" in REGISTRY["touch-reload"].implies
    assert "master" in REGISTRY["py-autoreload"].implies


def test_help_lists_noop_with_reason() -> None:
    text = format_help()
    assert "--processes" in text and "-p" in text
    assert "single-interpreter: satrap never uses sub-interpreters" in text


def test_options_doc_is_fresh() -> None:
    doc = ROOT / "docs" / "options.md"
    assert doc.read_text(encoding="utf-8") == format_markdown(), "run python scripts/gen_options_doc.py"
