"""The static layer as a WSGI callable: built only when asked for, and its config errors."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from satrap.app.static import StaticFiles, static_layer
from satrap.config import load_config
from satrap.errors import ConfigError


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b"app"]


def call(layer: Any, path: str, **extra: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REQUEST_URI": path, **extra}
    body = b"".join(layer(env, start_response))
    return seen["status"], seen["headers"], body


def test_no_static_option_returns_the_app_itself() -> None:
    assert static_layer(load_config(["--http-socket", ":0"], {}), app) is app
    assert static_layer(SimpleNamespace(), app) is app


@pytest.mark.parametrize("spec", ["static=dir", "/static", "/static="])
def test_malformed_map_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="static-map"):
        static_layer(load_config(["--static-map", spec], {}), app)


def test_bad_expires_rule_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="static-expires"):
        static_layer(load_config(["--static-map", f"/s={tmp_path}", "--static-expires", "nosecs"], {}), app)
    with pytest.raises(ConfigError, match="regular expression"):
        static_layer(load_config(["--static-map", f"/s={tmp_path}", "--static-expires", "( 10"], {}), app)


def test_longest_prefix_wins_and_gzip_and_skip_ext(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"from a")
    (tmp_path / "b" / "x.txt").write_bytes(b"from b")
    (tmp_path / "b" / "x.txt.gz").write_bytes(b"gzipped")
    (tmp_path / "b" / "x.php").write_bytes(b"<?php")
    cfg = load_config(["--static-map", f"/s={tmp_path / 'a'}", "--static-map", f"/s/deep={tmp_path / 'b'}",
                       "--static-gzip-all", "--static-skip-ext", ".php",
                       "--static-expires-type", "text/plain=100"], {})
    layer = static_layer(cfg, app)
    assert isinstance(layer, StaticFiles)
    assert call(layer, "/s/x.txt")[2] == b"from a"
    status, headers, body = call(layer, "/s/deep/x.txt")
    assert body == b"from b" and headers["Cache-Control"] == "max-age=100"
    status, headers, body = call(layer, "/s/deep/x.txt", HTTP_ACCEPT_ENCODING="gzip, br")
    assert body == b"gzipped" and headers["Content-Encoding"] == "gzip"
    assert call(layer, "/s/deep/x.php")[2] == b"app"


def test_static_map2_keeps_the_prefix_and_check_static(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "p.png").write_bytes(b"PNG")
    layer = static_layer(load_config(["--static-map2", f"/img={tmp_path}"], {}), app)
    assert call(layer, "/img/p.png") == ("200 OK", call(layer, "/img/p.png")[1], b"PNG")
    assert call(layer, "/img/p.png")[1]["Content-Type"] == "image/png"
    layer = static_layer(load_config(["--static-check", str(tmp_path)], {}), app)
    assert call(layer, "/img/p.png")[2] == b"PNG"
    assert call(layer, "/other")[2] == b"app"
