"""Which requests reach the CGI gateway: modifier1 9 beside a WSGI app (a real nginx with
``uwsgi_modifier1 9;`` in front of ``--socket``, raw uwsgi packets, ``http-socket-modifier1`` and
``--http`` with ``http-modifier1``), and the corpus's OpenWrt
LuCI configs (028, 029), which name no WSGI app at all, starting and running a CGI script.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from nginxrun import NginxRun, require_nginx, shared_tmpdir
from support import Satrap, free_port, http_request, read_until_eof

from satrap.protocol.uwsgi import encode_packet

APP = '''\
def application(environ, start_response):
    body = ("wsgi " + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''

SCRIPT = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\ncgi %s %s\\n' "$SCRIPT_NAME" "$REQUEST_METHOD"
cat
"""

NGINX_SERVER = """\
server {
    listen 127.0.0.1:@PORT@;
    location /cgi-bin/ {
        include uwsgi_params;
        uwsgi_modifier1 9;
        uwsgi_pass 127.0.0.1:%(upstream)d;
    }
    location / {
        include uwsgi_params;
        uwsgi_pass 127.0.0.1:%(upstream)d;
    }
}
"""


def _uwsgi(port: int, path: str, modifier1: int, body: bytes = b"") -> bytes:
    packet = encode_packet({"REQUEST_METHOD": "POST" if body else "GET", "REQUEST_URI": path, "PATH_INFO": path,
                            "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": str(port),
                            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                            "CONTENT_LENGTH": str(len(body))}, modifier1=modifier1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(packet + body)
        return read_until_eof(s)


def _layout(root: Path) -> tuple[Path, Path]:
    app = root / "app.py"
    app.write_text(APP)
    script = root / "www" / "cgi-bin" / "hello.sh"
    script.parent.mkdir(parents=True)
    script.write_text(SCRIPT)
    script.chmod(0o755)
    return app, root / "www"


def test_modifier1_9_goes_to_cgi_beside_a_wsgi_app(tmp_path: Path, satrap: Callable[..., Satrap]) -> None:
    app, www = _layout(tmp_path)
    port = free_port()
    proc = satrap("--socket", f"127.0.0.1:{port}", "--wsgi-file", str(app), "--cgi", str(www))
    proc.wait_port(port)
    reply = _uwsgi(port, "/cgi-bin/hello.sh", 0)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"wsgi /cgi-bin/hello.sh"), reply
    reply = _uwsgi(port, "/cgi-bin/hello.sh", 9, b"from stdin")
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"cgi /cgi-bin/hello.sh POST\nfrom stdin"), reply
    assert _uwsgi(port, "/x", 7) == b""  # no plugin for modifier1 7: refused, as uWSGI does
    assert "unavailable modifier requested: 7" in proc.log()


def test_a_script_that_answers_while_it_reads_streams_a_big_body(tmp_path: Path,
                                                                  satrap: Callable[..., Satrap]) -> None:
    """``cat`` writes its output while it reads its body: once that output fills the pipe, a
    gateway that only writes the body (uWSGI's) stalls both sides until cgi-timeout. satrap reads
    the output meanwhile, so 4 MiB go through and back well inside a 3 s cgi-timeout."""
    _, www = _layout(tmp_path)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--cgi", str(www), "--cgi-timeout", "3")
    proc.wait_port(port)
    payload = bytes(range(256)) * (16 << 10)  # 4 MiB
    status, _, body = http_request(port, "POST", "/cgi-bin/hello.sh", body=payload, timeout=30)
    assert status == 200, proc.log()
    assert body == b"cgi /cgi-bin/hello.sh POST\n" + payload
    assert "CGI timeout" not in proc.log()


def test_modifier1_9_is_refused_without_cgi(tmp_path: Path, satrap: Callable[..., Satrap]) -> None:
    app, _ = _layout(tmp_path)
    port = free_port()
    proc = satrap("--socket", f"127.0.0.1:{port}", "--wsgi-file", str(app))
    proc.wait_port(port)
    assert _uwsgi(port, "/cgi-bin/hello.sh", 9) == b""
    assert _uwsgi(port, "/", 0).endswith(b"wsgi /")
    assert "unavailable modifier requested: 9" in proc.log()


def test_http_socket_modifier1_9_sends_http_requests_to_cgi(tmp_path: Path,
                                                             satrap: Callable[..., Satrap]) -> None:
    app, www = _layout(tmp_path)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(app), "--cgi", str(www),
                  "--http-socket-modifier1", "9")
    proc.wait_http(port, "/cgi-bin/hello.sh")
    status, _, body = http_request(port, "GET", "/cgi-bin/hello.sh")
    assert status == 200 and body == b"cgi /cgi-bin/hello.sh GET\n"


def test_http_modifier1_9_sends_the_routers_requests_to_cgi(tmp_path: Path,
                                                             satrap: Callable[..., Satrap]) -> None:
    """``--http`` with ``http-modifier1 = 9``: the router's packets carry modifier1 9, so the CGI
    gateway serves every request although a WSGI app is configured; without it the app does, and
    with it but no ``cgi`` the workers refuse modifier1 9 (the client gets 502), as uWSGI's."""
    app, www = _layout(tmp_path)
    common = ("--master", "--processes", "1", "--wsgi-file", str(app))

    port = free_port()
    proc = satrap("--http", f"127.0.0.1:{port}", *common, "--cgi", str(www), "--http-modifier1", "9")
    proc.wait_http(port, "/cgi-bin/hello.sh")
    status, headers, body = http_request(port, "GET", "/cgi-bin/hello.sh")
    assert (status, body) == (200, b"cgi /cgi-bin/hello.sh GET\n"), proc.log()
    assert headers["content-type"] == "text/plain"
    # over the router's 64 KiB in-packet limit: the body is streamed to the worker after the packet
    # (and over what two pipes hold: the script echoes as it reads, see _Run._feed)
    status, _, body = http_request(port, "POST", "/cgi-bin/hello.sh", body=b"x" * 1_000_000)
    assert (status, body) == (200, b"cgi /cgi-bin/hello.sh POST\n" + b"x" * 1_000_000)
    # a path that is no script is the CGI gateway's 404, never the WSGI app
    status, _, body = http_request(port, "GET", "/page")
    assert status == 404 and b"wsgi" not in body
    proc.stop()

    port = free_port()
    proc = satrap("--http", f"127.0.0.1:{port}", *common, "--cgi", str(www))
    proc.wait_http(port, "/")
    assert http_request(port, "GET", "/cgi-bin/hello.sh")[::2] == (200, b"wsgi /cgi-bin/hello.sh")
    proc.stop()

    port = free_port()
    proc = satrap("--http", f"127.0.0.1:{port}", *common, "--http-modifier1", "9")
    proc.wait_port(port)
    assert http_request(port, "GET", "/cgi-bin/hello.sh")[0] == 502
    proc.wait_log("unavailable modifier requested: 9")


def test_nginx_uwsgi_modifier1_9_with_wsgi_app_side_by_side(satrap: Callable[..., Satrap]) -> None:
    require_nginx()
    root = shared_tmpdir("satrap-cgi-")
    nginx = None
    try:
        app, www = _layout(root)
        upstream = free_port()
        proc = satrap("--socket", f"127.0.0.1:{upstream}", "--wsgi-file", str(app), "--cgi", str(www),
                      "--master", "--processes", "2", cwd=root)
        proc.wait_port(upstream)
        nginx = NginxRun(NGINX_SERVER % {"upstream": upstream}).start()
        status, headers, body = http_request(nginx.port, "GET", "/cgi-bin/hello.sh")
        assert status == 200 and body == b"cgi /cgi-bin/hello.sh GET\n", (body, nginx.log()[-2000:])
        assert headers["content-type"] == "text/plain"
        status, _, body = http_request(nginx.port, "POST", "/cgi-bin/hello.sh", body=b"x" * 100_000)
        assert status == 200 and body == b"cgi /cgi-bin/hello.sh POST\n" + b"x" * 100_000
        status, _, body = http_request(nginx.port, "GET", "/app/page")
        assert status == 200 and body == b"wsgi /app/page"
        assert http_request(nginx.port, "GET", "/cgi-bin/nothing.sh")[0] == 404
    finally:
        if nginx is not None:
            nginx.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("number", ["028", "029"])
def test_openwrt_luci_configs_start_and_run_cgi(number: str, tmp_path: Path,
                                                satrap: Callable[..., Satrap]) -> None:
    from functional.test_corpus_start import CORPUS, Plan, rewrite_text

    found = sorted(CORPUS.glob(f"{number}-*")) if CORPUS.is_dir() else []
    if not found:
        pytest.skip("uwsgi-configs corpus absent")
    (tmp_path / "app").mkdir()
    plan = Plan(tmp_path)
    conf = tmp_path / "conf.ini"
    conf.write_text(rewrite_text(found[0].read_text(), "ini", plan, {}))
    assert plan.has_app and plan.proto == "uwsgi"  # a CGI-only config: the script is its app
    proc = satrap("--ini", str(conf), cwd=tmp_path / "app")
    proc.wait_port(plan.port)
    reply = _uwsgi(plan.port, "/cgi-bin/luci/admin", 9)
    assert reply.startswith(b"HTTP/1.1 200 OK"), reply
    assert reply.endswith(b"standin cgi /cgi-bin/luci/admin\n"), reply
    # the config's own modifier1 0 request (what the corpus test sends) reaches the script too
    assert _uwsgi(plan.port, "/", 0).endswith(b"standin cgi /\n")
    assert "every request goes to the CGI gateway" in proc.log()
