"""Internal routing end to end: one satrap with a rule per action, one request per rule."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import free_port, http_request

from satrap.routing import routing_layer

APP = '''
def application(environ, start_response):
    headers = [("Content-Type", "text/plain"), ("X-Remove-Me", "1"), ("X-Collected", "abc"),
               ("X-Pulled", "secret")]
    body = ("path=%s qs=%s var=%s" % (environ.get("PATH_INFO"), environ.get("QUERY_STRING"),
                                       environ.get("MYVAR", ""))).encode()
    start_response("200 OK", headers)
    return [body]
'''

RULES = """[uwsgi]
add-header = X-Frame-Options: SAMEORIGIN
del-header = X-Remove-Me
collect-header = X-Collected COLL
pull-header = X-Pulled PULLED
route = ^/old/(.*)$ redirect:/new/$1
route = ^/perm$ redirect-301:https://example.org${REQUEST_URI}
route = ^/rw/(\\w+) rewrite:/rewritten/$1?x=1
route = ^/gone$ return:410
route = ^/stop$ break:403 Forbidden
route = ^/hdr addheader:X-Route: yes
route = ^/hdr delheader:X-Frame-Options
route = ^/hdr log:routing saw ${PATH_INFO} from ${REMOTE_ADDR}
route = ^/hdr continue:
route = ^/hdr return:500
route-uri = \\?var=(\\w+) addvar:MYVAR=$1
route-qs = ^skip=1 last:
route-if = equal:${HTTP_X_PROTO};http redirect-permanent:https://secure${REQUEST_URI}
route-if = startswith:${PATH_INFO};/jump goto:jumped
route = ^/jump return:500
route-label = jumped
route = ^/jump addheader:X-Jumped: 1
route-if-not = regexp:${HTTP_USER_AGENT};^curl route-run:never
route-host = ^blocked\\. return:403
route-user-agent = BadBot break:429
route-if = contains:${QUERY_STRING};skip=1 return:500
response-route = ^/resp addheader:X-Resp: ${COLL}/${PULLED}
response-route-if = empty:${MISSING} addheader:X-Empty: yes
response-route-status = ^200$ addheader:X-Status-Seen: 200
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    from support import Satrap

    tmp = tmp_path_factory.mktemp("routing")
    (tmp / "app.py").write_text(APP)
    (tmp / "r.ini").write_text(RULES.replace("route-if-not = regexp:${HTTP_USER_AGENT};^curl route-run:never\n", ""))
    port = free_port()
    proc = Satrap(["--ini", str(tmp / "r.ini"), "--http-socket", f"127.0.0.1:{port}",
                   "--wsgi-file", str(tmp / "app.py")], tmp, tmp / "log.txt")
    try:
        proc.wait_http(port)
        yield port, proc
    finally:
        proc.stop()


def test_add_and_del_header_on_every_response(server) -> None:
    port, _ = server
    status, headers, body = http_request(port, path="/plain")
    assert status == 200 and body == b"path=/plain qs= var="
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert "x-remove-me" not in headers
    assert "x-pulled" not in headers and headers["x-collected"] == "abc"


def test_redirect_with_group_and_variables(server) -> None:
    port, _ = server
    status, headers, _ = http_request(port, path="/old/a/b")
    assert status == 302 and headers["location"] == "/new/a/b"
    status, headers, _ = http_request(port, path="/perm?q=1")
    assert status == 301 and headers["location"] == "https://example.org/perm?q=1"


def test_rewrite_changes_path_and_query(server) -> None:
    port, _ = server
    assert http_request(port, path="/rw/abc")[2] == b"path=/rewritten/abc qs=x=1 var="


def test_return_and_break_with_status(server) -> None:
    port, _ = server
    status, headers, body = http_request(port, path="/gone")
    assert status == 410 and body == b"Gone"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert http_request(port, path="/stop")[0] == 403


def test_addheader_delheader_log_continue(server) -> None:
    port, proc = server
    status, headers, _ = http_request(port, path="/hdr")
    assert status == 200  # continue stopped the chain before return:500
    assert headers["x-route"] == "yes"
    assert "x-frame-options" not in headers
    proc.wait_log(r"routing saw /hdr from 127\.0\.0\.1")


def test_addvar_from_route_uri(server) -> None:
    port, _ = server
    assert http_request(port, path="/x?var=hello")[2] == b"path=/x qs=var=hello var=hello"


def test_last_stops_the_chain(server) -> None:
    port, _ = server
    assert http_request(port, path="/x?skip=1")[0] == 200


def test_route_if_equal_and_goto_label(server) -> None:
    port, _ = server
    status, headers, _ = http_request(port, path="/a?b=1", headers={"X-Proto": "http"})
    assert status == 301 and headers["location"] == "https://secure/a?b=1"
    status, headers, _ = http_request(port, path="/jump")
    assert status == 200 and headers["x-jumped"] == "1"


def test_route_host_and_user_agent(server) -> None:
    port, _ = server
    assert http_request(port, path="/", headers={"Host": "blocked.example"})[0] == 403
    assert http_request(port, path="/", headers={"User-Agent": "BadBot/1.0"})[0] == 429


def test_response_chain_sees_collected_headers_and_status(server) -> None:
    port, _ = server
    _, headers, _ = http_request(port, path="/resp")
    assert headers["x-resp"] == "abc/secret"
    assert headers["x-empty"] == "yes"
    assert headers["x-status-seen"] == "200"


def test_no_routing_options_means_no_layer() -> None:
    from satrap.config import load_config

    def app(e, s):  # pragma: no cover - never called
        return []

    assert routing_layer(load_config(["--http-socket", ":1"], {}), app) is app
