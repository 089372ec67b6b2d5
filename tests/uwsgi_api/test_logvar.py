"""``uwsgi.set_logvar`` values reach the request log as ``%(name)``, once per request."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from support import Satrap, free_port, http_request

APP = '''
import uwsgi

def application(environ, start_response):
    rid = environ.get("QUERY_STRING", "")
    if rid:
        uwsgi.set_logvar("request_id", rid)
        uwsgi.set_logvar(b"who", b"alice")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
'''


def test_set_logvar_reaches_log_format_and_is_reset_per_request(
        satrap: Callable[..., Satrap], tmp_path: Path) -> None:
    (tmp_path / "logvar_app.py").write_text(APP)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", "logvar_app.py",
                  "--processes", "1", "--log-format", "LV %(method) %(uri) rid=[%(request_id)] "
                  "who=[%(who)] unset=[%(nosuch)] status=%(status)")
    proc.wait_http(port)
    for path in ("/a?abc123", "/b", "/c?zz9"):  # one worker: /b runs right after /a
        assert http_request(port, "GET", path)[0] == 200
    proc.wait_log(r"LV GET /c", timeout=10)
    log = [ln for ln in proc.log().splitlines() if ln.startswith("LV GET /")]
    assert "LV GET /a?abc123 rid=[abc123] who=[alice] unset=[] status=200" in log, log
    assert "LV GET /b rid=[] who=[] unset=[] status=200" in log, log  # nothing leaked from /a
    assert "LV GET /c?zz9 rid=[zz9] who=[alice] unset=[] status=200" in log, log
