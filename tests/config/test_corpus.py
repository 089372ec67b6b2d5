"""Every real-world uWSGI config either loads or is refused with one clear line; never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from satrap.config import load_config
from satrap.errors import ConfigError

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "uwsgi-configs" / "files"
_KIND = {".xml": "--xml", ".json": "--json", ".yml": "--yaml", ".yaml": "--yaml"}


def test_corpus_loads_or_refuses_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    if not CORPUS.is_dir():
        pytest.skip("uwsgi-configs corpus absent")
    results: list[str] = []
    for path in sorted(CORPUS.iterdir()):
        flag = _KIND.get(path.suffix, "--ini")
        try:
            cfg = load_config([flag, str(path)], {})
        except ConfigError as err:
            msg = str(err)
            assert msg and "\n" not in msg, path.name
            results.append(f"REFUSED {path.name}: {msg}")
            continue
        assert cfg.describe()
        assert all("\n" not in w for w in cfg.warnings + cfg.unsupported), path.name
        results.append(f"LOADED  {path.name} ({len(cfg.warnings)} warnings, {len(cfg.unsupported)} unsupported)")
    loaded = sum(r.startswith("LOADED") for r in results)
    with capsys.disabled():
        print(f"\ncorpus: {loaded} loaded, {len(results) - loaded} refused")
        print("\n".join(results))
    assert loaded >= 45
