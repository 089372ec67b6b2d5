"""The status page at ``/`` rendered by headless Chromium (Debian's ``chromium``); the screenshot
is kept under ``test-artifacts/`` (gitignored)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from conftest import send_requests
from support import REPO, http_request, wait_until

ARTIFACTS = REPO / "test-artifacts"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium not found: install it with `apt-get install -y chromium`")


def _run(browser: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--window-size=1200,800", "--virtual-time-budget=4000", *args],
        check=False, capture_output=True, text=True, timeout=90)


def test_status_page_renders_in_chromium(instance, tmp_path):
    browser = _chromium()
    proc, port, stats = instance("--stats-http", processes=3)
    send_requests(port, ["/"] * 17 + ["/status/500"] * 3)
    # let the server's per-second sampler record a few points, so the chart has a line to draw
    wait_until(lambda: len(json.loads(http_request(int(stats.rsplit(":", 1)[1]), "GET", "/history")[2])
                           ["samples"]) >= 4, timeout=15, message="4 history samples")
    url = f"http://{stats}/"
    dom = _run(browser, str(tmp_path / "profile-dom"), "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert html.count('<tr class="worker') == 3, html[-3000:]
    for pid in proc.workers():
        assert f"<td>{pid}</td>" in html
    # the script ran: it replaced "loading…" with the live summary computed from /json
    assert "3 workers (0 busy), 20 requests" in html
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "stats-status-page.png"
    if shot.exists():
        shot.unlink()
    res = _run(browser, str(tmp_path / "profile-shot"), f"--screenshot={shot}", url)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
