"""logrotate: rename the log, tell satrap, and no request line is lost (issue 7)."""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from support import FIXTURE_APPS, free_port, http_request, wait_until


@pytest.mark.parametrize("trigger", ["SIGUSR2", "touch-logreopen", "master-fifo"])
def test_rename_then_reopen_keeps_every_line(satrap, tmp_path, trigger):
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    log = tmp_path / "app.log"
    touch = tmp_path / "reopen.trigger"
    touch.write_text("")
    fifo = tmp_path / "master.fifo"
    extra = {"SIGUSR2": [], "touch-logreopen": ["--touch-logreopen", str(touch)],
             "master-fifo": ["--master-fifo", str(fifo)]}[trigger]
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "hello", "--master",
                  "--processes", "2", "--logto", str(log), *extra)
    wait_until(lambda: log.exists() and "bound to" in log.read_text(), 10, message="log file")
    proc.wait_http(port)
    for i in range(20):
        assert http_request(port, "GET", f"/before/{i}")[0] == 200
    wait_until(lambda: log.read_text().count("GET /before/") == 20, 5, message="20 lines")
    rotated = tmp_path / "app.log.1"
    os.rename(log, rotated)  # what logrotate does
    if trigger == "SIGUSR2":
        proc.signal(signal.SIGUSR2)
    elif trigger == "touch-logreopen":
        os.utime(touch, (os.path.getmtime(touch) + 5,) * 2)
    else:
        with open(fifo, "w") as f:
            f.write("l")
    wait_until(lambda: log.exists(), 10, message="a new log file")
    # requests keep flowing while the workers switch files: none may go missing
    for i in range(40):
        assert http_request(port, "GET", f"/after/{i}")[0] == 200

    def all_after() -> bool:
        text = rotated.read_text() + (log.read_text() if log.exists() else "")
        return text.count("GET /after/") == 40

    wait_until(all_after, 10, message="every request line in the old or the new file")
    assert rotated.read_text().count("GET /before/") == 20
    # once both workers have switched, new lines land in the new file
    for i in range(10):
        http_request(port, "GET", f"/late/{i}")
    wait_until(lambda: log.read_text().count("GET /late/") == 10, 10, message="late lines in the new file")
    assert "GET /late/" not in rotated.read_text()
