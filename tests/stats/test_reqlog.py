"""Request log lines: the default line byte for byte, every --log-format variable, and uWSGI's
conditional logging (log-4xx/5xx/slow/zero/big with disable-logging)."""

from __future__ import annotations

import os
import re
import time
from types import SimpleNamespace

import pytest
from conftest import send_requests

from satrap.worker import reqlog
from satrap.worker.reqlog import SUPPORTED, RequestLog

ENV = {"REMOTE_ADDR": "10.0.0.7", "REMOTE_USER": "bob", "REQUEST_METHOD": "POST",
       "REQUEST_URI": "/a/b?c=d", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "example.org",
       "HTTP_USER_AGENT": "curl/8.1", "HTTP_REFERER": "http://ref/", "CONTENT_LENGTH": "42",
       "HTTP_X_FORWARDED_FOR": "203.0.113.9", "HTTP_X_TRACE": "t-1"}
STARTED = 1_700_000_000.25  # Tue Nov 14 22:13:20 2023 UTC
RESP = SimpleNamespace(code=201, sent=1234, headers=[("A", "1"), ("B", "2"), ("C", "3")], header_bytes=99)


@pytest.fixture
def lines(monkeypatch):
    out: list[bytes] = []
    monkeypatch.setattr(reqlog, "log_bytes", out.append)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield out
    monkeypatch.delenv("TZ")
    time.tzset()


def _cfg(**kw):
    base = {"log_format": None, "log_4xx": False, "log_5xx": False, "log_slow": 0, "log_zero": False, "log_big": 0,
                "log_micros": False, "log_x_forwarded_for": False}
    base.update(kw)
    return SimpleNamespace(**base)


def test_default_line_is_byte_identical(lines):
    log = RequestLog(True, _cfg(), wid=3)
    log.write(ENV, RESP, STARTED, STARTED + 0.046875, 2, 28, 402, 17)
    assert lines == [(f"[pid: {os.getpid()}|app: 0|req: 17/17] 10.0.0.7 (bob) {{28 vars in 402 bytes}} "
                      "[Tue Nov 14 22:13:20 2023] POST /a/b?c=d => generated 1234 bytes in 46 msecs "
                      "(HTTP/1.1 201) 3 headers in 99 bytes (1 switches on core 2)\n").encode()]
    # no cfg at all (the pre-issue-7 constructor) gives the same line
    RequestLog(True).write(ENV, RESP, STARTED, STARTED + 0.046875, 2, 28, 402, 17)
    assert lines[1].replace(b"17/17", b"17/17") == lines[0]


def test_default_line_micros_and_x_forwarded_for(lines):
    RequestLog(True, _cfg(log_micros=True, log_x_forwarded_for=True)).write(
        ENV, RESP, STARTED, STARTED + 0.046875, 0, 28, 402, 1)
    line = lines[0].decode()
    assert "] 203.0.113.9 (bob) " in line and " in 46875 micros (HTTP/1.1 201)" in line


def test_every_variable(lines, monkeypatch):
    names = [n for n in SUPPORTED]
    fmt = "|".join(f"{n}=%({n})" for n in names) + "|var=%(var.HTTP_X_TRACE)|unknown=%(nosuch)|end"
    log = RequestLog(True, _cfg(log_format=fmt), wid=3)
    before = int(time.time())
    log.write(ENV, RESP, STARTED, STARTED + 0.046875, 2, 28, 402, 17)
    after = int(time.time())
    line = lines[0].decode()
    assert line.endswith("|end\n")
    got = dict(item.split("=", 1) for item in line[:-len("|end\n")].split("|"))
    expected = {
        "method": "POST", "uri": "/a/b?c=d", "user": "bob", "addr": "10.0.0.7", "host": "example.org",
        "proto": "HTTP/1.1", "uagent": "curl/8.1", "referer": "http://ref/", "cl": "42", "status": "201",
        "micros": "46875", "msecs": "46", "secs": "0.046875", "time": "1700000000",
        "tmsecs": "1700000000250", "tmicros": "1700000000250000", "ctime": "Tue Nov 14 22:13:20 2023",
        "ltime": "14/Nov/2023:22:13:20 +0000", "size": "1333", "rsize": "1234", "hsize": "99",
        "headers": "3", "pid": str(os.getpid()), "wid": "3", "core": "2", "vars": "28", "pktsize": "402",
        "switches": "1", "modifier1": "0", "modifier2": "0", "rerr": "0", "werr": "0", "ioerr": "0",
        "var": "t-1", "unknown": "",
    }
    for key in ("rss", "vsz", "rssM", "vszM", "epoch"):
        assert got.pop(key).isdigit(), key
    assert before <= int(re.search(r"epoch=(\d+)", line).group(1)) <= after
    assert int(re.search(r"\|rss=(\d+)", line).group(1)) > 1 << 20
    assert got == expected
    assert set(SUPPORTED) - {"rss", "vsz", "rssM", "vszM", "epoch"} | {"var", "unknown"} == set(expected)


def test_x_forwarded_for_in_format(lines):
    RequestLog(True, _cfg(log_format="%(addr)", log_x_forwarded_for=True)).write(
        ENV, RESP, STARTED, STARTED, 0, 1, 1, 1)
    env = dict(ENV)
    del env["HTTP_X_FORWARDED_FOR"]
    RequestLog(True, _cfg(log_format="%(addr)", log_x_forwarded_for=True)).write(
        env, RESP, STARTED, STARTED, 0, 1, 1, 1)
    assert lines == [b"203.0.113.9\n", b"10.0.0.7\n"]


@pytest.mark.parametrize("cfg, code, sent, took, logged", [
    ({}, 200, 10, 0.001, False),
    ({"log_4xx": True}, 404, 10, 0.001, True),
    ({"log_4xx": True}, 500, 10, 0.001, False),
    ({"log_5xx": True}, 503, 10, 0.001, True),
    ({"log_5xx": True}, 404, 10, 0.001, False),
    ({"log_slow": 100}, 200, 10, 0.150, True),
    ({"log_slow": 100}, 200, 10, 0.050, False),
    ({"log_zero": True}, 200, 0, 0.001, True),
    ({"log_big": 1000}, 200, 1000, 0.001, True),
    ({"log_big": 1000}, 200, 999, 0.001, False),
])
def test_conditional_logging_with_disable_logging(lines, cfg, code, sent, took, logged):
    log = RequestLog(False, _cfg(**cfg))
    resp = SimpleNamespace(code=code, sent=sent, headers=[], header_bytes=10)
    if log.enabled:
        log.write(ENV, resp, STARTED, STARTED + took, 0, 1, 1, 1)
    assert bool(lines) is logged


def test_conditions_change_nothing_when_logging_is_on(lines):
    log = RequestLog(True, _cfg(log_5xx=True))
    log.write(ENV, RESP, STARTED, STARTED, 0, 1, 1, 1)
    assert len(lines) == 1


def test_log_format_and_log_5xx_end_to_end(instance):
    fmt = 'fmt %(addr) "%(method) %(uri) %(proto)" %(status) %(rsize) %(pid) core=%(core) %(var.HTTP_X_TRACE)'
    proc, port, _stats = instance("--log-format", fmt, processes=1)
    from support import http_request

    http_request(port, "GET", "/status/404?q=1", headers={"X-Trace": "abc"})
    line = proc.wait_log(r'fmt 127\.0\.0\.1 "GET /status/404\?q=1 HTTP/1\.1" 404 12 \d+ core=0 abc')[0]
    assert line


def test_disable_logging_with_log_5xx_end_to_end(instance):
    proc, port, _stats = instance("--disable-logging", "--log-5xx", processes=1)
    send_requests(port, ["/", "/status/404", "/status/502", "/"])
    proc.wait_log(r"GET /status/502 => generated 12 bytes")
    text = proc.log()
    assert "GET /status/404" not in text and "GET / =>" not in text
