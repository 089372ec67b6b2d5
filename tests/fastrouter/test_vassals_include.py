"""``vassals-include`` / ``-before`` / ``vassals-inherit``: the Emperor's templates reach every vassal's
argv where uWSGI puts them, and the Subscribie layout (corpus 042 + 043) resolves per vassal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from satrap.config import load_config
from satrap.emperor.emperor import vassal_argv, vassal_templates
from satrap.fastrouter.subscriber import Subscriber


def test_argv_order(tmp_path: Path, monkeypatch) -> None:
    for name in ("a.ini", "b.ini", "c.ini", "d.ini"):
        (tmp_path / name).write_text("[uwsgi]\n")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(["--emperor", "vassals", "--vassals-include", "a.ini", "--vassals-include-before", "b.ini",
                       "--vassals-inherit", "c.ini", "--vassals-inherit-before", str(tmp_path / "d.ini")])
    before, after = vassal_templates(cfg)
    argv = vassal_argv(["satrap"], "/v/app.ini", ["processes=2"], before, after)
    p = str(tmp_path)
    assert argv == ["satrap", "--inherit", f"{p}/d.ini", "--include", f"{p}/b.ini", "--set", "processes=2",
                    "--ini", "/v/app.ini", "--inherit", f"{p}/c.ini", "--include", f"{p}/a.ini"]


def test_template_found_next_to_the_emperor_config(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "inject.ini").write_text("[uwsgi]\n")
    (tmp_path / "emperor.ini").write_text("[uwsgi]\nemperor = ./vassals/*/*.ini\nvassals-include = inject.ini\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(["--ini", str(tmp_path / "emperor.ini")])
    assert vassal_templates(cfg) == ([], ["--include", str(tmp_path / "inject.ini")])


def test_subscribie_layout(tmp_path: Path, monkeypatch) -> None:
    """042's Emperor + 043's injected config: each vassal gets its own socket and subscription key
    from its own vassal_name placeholder."""
    corpus = Path(__file__).resolve().parents[3] / "shared" / "uwsgi-configs" / "files"
    if not corpus.is_dir():
        pytest.skip(f"uwsgi-configs corpus absent ({corpus})")
    inject = (corpus / "043-Subscribie-subscribie-vassals-inject-config.ini").read_text()
    inject = inject.replace("/tmp/sockets/", f"{tmp_path}/sockets/").replace("/tmp/sock2", f"{tmp_path}/sock2")
    (tmp_path / "vassals-inject-config.ini").write_text(inject)
    emperor = (corpus / "042-Subscribie-subscribie-emperor.ini").read_text()
    (tmp_path / "emperor.ini").write_text(emperor)
    shop = tmp_path / "vassals" / "shop1"
    shop.mkdir(parents=True)
    (shop / "app.ini").write_text(f"[uwsgi]\nvassal_name = shop1.example.com\nvassal_dir = {shop}\n")
    monkeypatch.chdir(tmp_path)
    ecfg = load_config(["--ini", "emperor.ini"])
    assert ecfg.fastrouter == ["127.0.0.1:8001"] and ecfg.fastrouter_subscription_server == ["/tmp/sock2"]
    before, after = vassal_templates(ecfg)
    monkeypatch.chdir(shop)  # where the Emperor starts the vassal
    vcfg = load_config(vassal_argv((), str(shop / "app.ini"), [], before, after), dict(os.environ))
    assert vcfg.socket == [f"{tmp_path}/sockets/shop1.example.com.sock"]
    assert vcfg.subscribe_to == [f"{tmp_path}/sock2:shop1.example.com"]
    assert vcfg.master and vcfg.die_on_idle and vcfg.idle == 60
    sub = Subscriber(vcfg)
    assert [(t.server, t.key) for t in sub.targets] == [(f"{tmp_path}/sock2", "shop1.example.com")]
    assert sub.address == f"{tmp_path}/sockets/shop1.example.com.sock"
