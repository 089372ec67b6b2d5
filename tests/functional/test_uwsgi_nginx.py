"""Issue 4 end to end: satrap speaking the uwsgi protocol to a real nginx (seeds 001 and 000),
and the uwsgi socket's defences when a peer talks to it directly.

nginx runs from :mod:`nginxrun` (own prefix, own pid, loopback port, stopped by pid). Every answer
that comes through nginx is compared with what Flask's in-process test client gives for the same
request: same status, same body, same relevant headers.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from nginxrun import NginxRun, require_nginx, running_as_root, shared_tmpdir
from satrap.protocol.uwsgi import encode_packet
from support import FIXTURE_APPS, Satrap, free_port, wait_until

APP_DIR = FIXTURE_APPS / "uwsgi_nginx"
APP_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}
HOST = "app.test"
MB = 1024 * 1024

# seed 001's nginx block, verbatim but for the ports and the server name
SEED_001 = """\
server {
    listen       127.0.0.1:@PORT@;
    server_name  app.test;

    location / { try_files $uri @app; }
    location @app {
        uwsgi_pass 127.0.0.1:%(upstream)d;
        include uwsgi_params;
    }
}
"""

# the same app behind a server that tells it the client came over TLS, both ways uWSGI knows
SCHEME_SERVER = """\
server {
    listen       127.0.0.1:@PORT@;
    server_name  tls.test;

    location /secure/ {
        include uwsgi_params;
        uwsgi_param HTTPS on;
        uwsgi_pass 127.0.0.1:%(upstream)d;
    }
    location /forced/ {
        include uwsgi_params;
        uwsgi_param UWSGI_SCHEME https;
        uwsgi_pass 127.0.0.1:%(upstream)d;
    }
    location / {
        include uwsgi_params;
        uwsgi_pass 127.0.0.1:%(upstream)d;
    }
}
"""


# -- helpers -----------------------------------------------------------------------------------

def fetch(port: int, method: str, path: str, body: bytes | None = None,
          headers: list[tuple[str, str]] | None = None, host: str = HOST,
          timeout: float = 30.0) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP request with full control of the header list (repeats kept, in order)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for name, value in headers or []:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.getheaders(), data
    finally:
        conn.close()


def header_list(headers: Any, name: str) -> list[str]:
    if hasattr(headers, "getlist"):
        return headers.getlist(name)
    return [v for k, v in headers if k.lower() == name.lower()]


RELEVANT = ("content-type", "content-length", "location", "set-cookie", "x-reply")


def assert_same(via_nginx: tuple[int, list[tuple[str, str]], bytes], via_client: Any,
                names: tuple[str, ...] = RELEVANT) -> None:
    status, headers, body = via_nginx
    assert status == via_client.status_code, (body[:500], via_client.get_data()[:500])
    assert body == via_client.get_data()
    for name in names:
        assert header_list(headers, name) == header_list(via_client.headers, name), name


def load_inprocess_app() -> Any:
    """The fixture's ``server.py`` imported in this process, for Flask's test client."""
    spec = importlib.util.spec_from_file_location("satrap_test_server_inproc", APP_DIR / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    old = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = old
    return module.myapp


def start_satrap(log_dir: Path, *args: str, env: dict[str, str] | None = None,
                 cwd: Path = APP_DIR) -> Satrap:
    n = len(list(log_dir.glob("satrap-*.log")))
    return Satrap(list(args), cwd, log_dir / f"satrap-{n}.log", {**APP_ENV, **(env or {})})


def uwsgi_exchange(port: int, data: bytes, timeout: float = 10.0,
                   half_close: bool = True) -> tuple[bytes, str]:
    """Send bytes to a uwsgi socket, read until the server closes. Returns (answer, how) where
    ``how`` is ``"fin"`` for a clean close and ``"reset"`` for a RST."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        if data:
            s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return b"".join(chunks), "reset"
            if not chunk:
                return b"".join(chunks), "fin"
            chunks.append(chunk)


def uwsgi_get(port: int, path: str = "/", extra: dict[str, str] | None = None) -> bytes:
    pvars = {"REQUEST_METHOD": "GET", "REQUEST_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
             "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "direct.test", "SERVER_PORT": "80",
             "HTTP_HOST": "direct.test", "REMOTE_ADDR": "127.0.0.1", **(extra or {})}
    answer, how = uwsgi_exchange(port, encode_packet(pvars))
    assert how == "fin", answer
    return answer


def split_response(raw: bytes) -> tuple[int, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, raw[:300]
    return int(head.split(b" ", 2)[1]), body


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inproc() -> Any:
    return load_inprocess_app().test_client()


@pytest.fixture(scope="module")
def seed001(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NginxRun, Satrap]]:
    """Seed 001 verbatim: ``satrap --socket 127.0.0.1:PORT --module server --callable myapp``
    behind nginx's ``try_files $uri @app; ... uwsgi_pass; include uwsgi_params;``."""
    require_nginx()
    logs = tmp_path_factory.mktemp("seed001")
    upstream = free_port()
    app = start_satrap(logs, "--socket", f"127.0.0.1:{upstream}", "--module", "server",
                       "--callable", "myapp")
    nginx = None
    try:
        app.wait_port(upstream)
        app.wait_log(r"WSGI app 0 .* ready")
        nginx = NginxRun(SEED_001 % {"upstream": upstream} + "\n" + SCHEME_SERVER % {"upstream": upstream})
        nginx.start()
        yield nginx, app
    finally:
        if nginx is not None:
            nginx.stop()
        app.stop()


@pytest.fixture
def sockdir() -> Iterator[Path]:
    """A temp dir nginx's workers (``nobody`` when we are root) can traverse to reach sockets."""
    path = shared_tmpdir("satrap-sock-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def nginx_factory() -> Iterator[Any]:
    started: list[NginxRun] = []

    def make(servers: str = "") -> NginxRun:
        nr = NginxRun(servers)
        started.append(nr)
        return nr

    yield make
    for nr in started:
        nr.stop()


# -- seed 001 through nginx ----------------------------------------------------------------------

def test_seed001_serves_through_nginx(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, app = seed001
    got = fetch(nginx.port, "GET", "/")
    assert got[0] == 200 and got[2] == b"hello from server\n", got
    assert_same(got, inproc.get("/", headers={"Host": HOST}))
    # the request went over the uwsgi protocol: the environ holds what nginx's uwsgi_params sends
    status, _, body = fetch(nginx.port, "GET", "/environ?q=1")
    assert status == 200
    env = json.loads(body)
    for name in ("QUERY_STRING", "REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH", "REQUEST_URI",
                 "PATH_INFO", "DOCUMENT_ROOT", "SERVER_PROTOCOL", "REQUEST_SCHEME", "REMOTE_ADDR",
                 "REMOTE_PORT", "SERVER_PORT", "SERVER_NAME"):
        assert name in env, name
    assert env["REQUEST_URI"] == "/environ?q=1" and env["QUERY_STRING"] == "q=1"
    assert env["SERVER_PORT"] == str(nginx.port) and env["SERVER_NAME"] == HOST
    assert env["HTTP_HOST"] == HOST and env["wsgi.url_scheme"] == "http"
    app.wait_log(r"GET /environ\?q=1 => generated \d+ bytes")


def test_get_with_query_string(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    path = "/echo?a=1&b=two&b=three&empty=&sp=a%20b&u=%C3%A9t%C3%A9"
    got = fetch(nginx.port, "GET", path)
    assert got[0] == 200
    assert json.loads(got[2])["args"] == {"a": ["1"], "b": ["two", "three"], "empty": [""],
                                           "sp": ["a b"], "u": ["\u00e9t\u00e9"]}
    assert_same(got, inproc.get(path, headers={"Host": HOST}))


def test_post_form_and_json(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    form = b"name=satrap&tags=a&tags=b&text=caf%C3%A9+%26+more"
    ctype = [("Content-Type", "application/x-www-form-urlencoded")]
    got = fetch(nginx.port, "POST", "/echo?from=form", form, ctype)
    assert json.loads(got[2])["form"] == {"name": ["satrap"], "tags": ["a", "b"], "text": ["caf\u00e9 & more"]}
    assert_same(got, inproc.post("/echo?from=form", data=form, headers={"Host": HOST, **dict(ctype)}))

    doc = json.dumps({"x": [1, 2.5, None, True], "s": "\u00e9\u4e2d"}).encode()
    jtype = [("Content-Type", "application/json")]
    got = fetch(nginx.port, "POST", "/echo", doc, jtype)
    assert json.loads(got[2])["json"] == {"x": [1, 2.5, None, True], "s": "\u00e9\u4e2d"}
    assert_same(got, inproc.post("/echo", data=doc, headers={"Host": HOST, **dict(jtype)}))


def test_10mb_upload(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    payload = os.urandom(10 * MB)
    got = fetch(nginx.port, "POST", "/upload", payload, [("Content-Type", "application/octet-stream")])
    assert got[0] == 200, got[2][:300]
    assert json.loads(got[2]) == {"sha256": hashlib.sha256(payload).hexdigest(), "length": 10 * MB}
    assert_same(got, inproc.post("/upload", data=payload,
                                 headers={"Host": HOST, "Content-Type": "application/octet-stream"}))


def test_10mb_streamed_response(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    got = fetch(nginx.port, "GET", "/stream")
    assert got[0] == 200
    assert len(got[2]) == 10 * MB
    assert got[2][:16] == b"0123456789abcdef" and got[2][-16:] == b"0123456789abcdef"
    assert_same(got, inproc.get("/stream", headers={"Host": HOST}))


def test_repeated_header_names(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    sent = [("X-Multi", "first"), ("X-Single", "only"), ("X-Multi", "second"), ("User-Agent", "probe/1")]
    got = fetch(nginx.port, "GET", "/headers", headers=sent)
    want = inproc.get("/headers", headers=[("Host", HOST), *sent])
    # response side: repeated names (X-Reply twice, two cookies) come back as two lines each
    assert header_list(got[1], "x-reply") == ["one", "two"]
    assert len(header_list(got[1], "set-cookie")) == 2
    # request side: nginx >= 1.23 joins repeated request headers into one uwsgi var; older nginx
    # sends one var per line and satrap joins them (uWSGI keeps only the last one). Either way the
    # app sees exactly what the test client gives it ("first, second", RFC 9110 5.3).
    assert json.loads(got[2]) == json.loads(want.get_data()), (got[2], want.get_data())
    assert_same(got, want)


def test_non_ascii_path(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    path = "/caf%C3%A9/na%C3%AFve%20%E2%82%AC"
    got = fetch(nginx.port, "GET", path)
    assert got[0] == 200, got
    doc = json.loads(got[2])
    assert doc["path"] == "/caf\u00e9/na\u00efve \u20ac" and doc["word"] == "na\u00efve \u20ac"
    # PEP 3333: PATH_INFO carries the UTF-8 bytes as latin-1 text
    assert doc["raw"] == "/caf\u00e9/na\u00efve \u20ac".encode().decode("latin-1")
    assert_same(got, inproc.get(path, headers={"Host": HOST}))


def test_head(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    for path in ("/", "/name", "/echo?x=1"):
        got = fetch(nginx.port, "HEAD", path)
        want = inproc.head(path, headers={"Host": HOST})
        assert got[0] == 200 and got[2] == b""
        # /name's body carries the answering process's pid, whose digit count may differ
        assert_same(got, want, ("content-type",) if path == "/name" else ("content-type", "content-length"))


def test_flask_redirect(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    got = fetch(nginx.port, "GET", "/go")
    assert got[0] == 302
    assert header_list(got[1], "location") == ["/echo?x=1"]
    assert_same(got, inproc.get("/go", headers={"Host": HOST}))


def test_not_found_is_the_apps(seed001: tuple[NginxRun, Satrap], inproc: Any) -> None:
    nginx, _ = seed001
    got = fetch(nginx.port, "GET", "/no/such/page")
    assert got[0] == 404
    assert_same(got, inproc.get("/no/such/page", headers={"Host": HOST}))


@pytest.mark.parametrize("path, scheme", [("/scheme", "http"), ("/secure/scheme", "https"),
                                          ("/forced/scheme", "https")])
def test_url_scheme_follows_https_and_uwsgi_scheme(seed001: tuple[NginxRun, Satrap], inproc: Any,
                                                   path: str, scheme: str) -> None:
    nginx, _ = seed001
    got = fetch(nginx.port, "GET", path, host="tls.test")
    assert got[0] == 200, got
    doc = json.loads(got[2])
    assert doc["scheme"] == scheme and doc["url_scheme"] == scheme
    assert doc["url"] == f"{scheme}://tls.test{path}"
    want = inproc.get(path, headers={"Host": "tls.test"}, base_url=f"{scheme}://tls.test")
    assert {k: v for k, v in doc.items() if k != "https"} == \
        {k: v for k, v in json.loads(want.get_data()).items() if k != "https"}


# -- seed 000: two domains on unix sockets -------------------------------------------------------

SEED_000_SERVER = """\
server {
    listen 127.0.0.1:@PORT@;
    server_name %(name)s;

    location / {
        include uwsgi_params;
        uwsgi_pass unix:%(sock)s;
    }
}
"""


def test_seed000_two_domains_on_unix_sockets(tmp_path: Path, sockdir: Path, nginx_factory: Any) -> None:
    require_nginx()
    apps = {}
    try:
        for name in ("a", "b"):
            apps[name] = start_satrap(tmp_path, "--socket", str(sockdir / f"{name}.sock"),
                                      "--chmod-socket=666", "--module", "server", "--callable", "myapp",
                                      env={"SATRAP_TEST_NAME": name})
        for name, app in apps.items():
            sock = sockdir / f"{name}.sock"
            app.wait_log(r"WSGI app 0 .* ready")
            wait_until(sock.exists, 10, message=f"{sock}")
            assert sock.stat().st_mode & 0o777 == 0o666

        servers = "\n".join(SEED_000_SERVER % {"name": f"{n}.test", "sock": sockdir / f"{n}.sock"}
                            for n in ("a", "b"))
        nginx = nginx_factory(servers).start()
        for name in ("a", "b", "a"):
            status, _, body = fetch(nginx.port, "GET", "/", host=f"{name}.test")
            assert (status, body) == (200, f"hello from {name}\n".encode())
            status, _, body = fetch(nginx.port, "GET", "/name", host=f"{name}.test")
            doc = json.loads(body)
            assert doc["name"] == name and doc["host"] == f"{name}.test"
        # over a unix socket there is no peer address; nginx's REMOTE_ADDR is the client's
        env = json.loads(fetch(nginx.port, "GET", "/environ", host="b.test")[2])
        assert env["REMOTE_ADDR"] == "127.0.0.1" and env["SERVER_NAME"] == "b.test"

        # the same deployment from `satrap nginx ...`: nginx accepts it and serves through it
        generated = []
        for name in ("a", "b"):
            out = subprocess.run([sys.executable, "-m", "satrap", "nginx", "--server-name", f"{name}.test",
                                  "--socket", str(sockdir / f"{name}.sock"), "--chmod-socket=666",
                                  "--module", "server", "--callable", "myapp"],
                                 capture_output=True, text=True, timeout=30, cwd=APP_DIR,
                                 env={**os.environ, **APP_ENV})
            assert out.returncode == 0, out.stderr
            assert f"uwsgi_pass unix:{sockdir / (name + '.sock')};" in out.stdout
            assert "include uwsgi_params;" in out.stdout and f"server_name {name}.test;" in out.stdout
            assert "    listen 80;\n" in out.stdout
            generated.append(out.stdout.replace("    listen 80;\n", "    listen 127.0.0.1:@PORT@;\n"))
        gen = nginx_factory("\n".join(generated))
        checked = gen.test_config()
        assert checked.returncode == 0, checked.stderr
        gen.start()
        for name in ("b", "a"):
            assert fetch(gen.port, "GET", "/", host=f"{name}.test")[:3:2] == (200, f"hello from {name}\n".encode())
    finally:
        for app in apps.values():
            app.stop()


@pytest.mark.skipif(not running_as_root(), reason="nginx's workers run as us: socket modes do not matter")
def test_unix_socket_without_chmod_is_refused_to_nginx_user(tmp_path: Path, sockdir: Path,
                                                            nginx_factory: Any) -> None:
    """Why seed 000 says chmod-socket: nginx's workers (nobody here, www-data in Debian) cannot
    connect to a socket file only its owner may write; with --chmod-socket=666 they can."""
    umask = os.umask(0o022)
    os.umask(umask)
    if umask & 0o002 == 0:
        pytest.skip(f"umask {umask:03o} makes every socket world-writable")
    app = start_satrap(tmp_path, "--socket", str(sockdir / "p.sock"), "--module", "server",
                       "--callable", "myapp")
    try:
        app.wait_log(r"WSGI app 0 .* ready")
        assert (sockdir / "p.sock").stat().st_mode & 0o002 == 0
        nginx = nginx_factory(SEED_000_SERVER % {"name": "p.test", "sock": sockdir / "p.sock"}).start()
        assert fetch(nginx.port, "GET", "/", host="p.test")[0] == 502
        assert "Permission denied" in nginx.log()
    finally:
        app.stop()


# -- the uwsgi socket without nginx ---------------------------------------------------------------

@pytest.fixture
def direct(tmp_path: Path) -> Iterator[tuple[Satrap, int, int]]:
    """One master + one worker on a uwsgi socket: (satrap, port, worker pid)."""
    port = free_port()
    app = start_satrap(tmp_path, "--socket", f"127.0.0.1:{port}", "--module", "server",
                       "--callable", "myapp", "--master", "--processes", "1")
    try:
        app.wait_port(port)
        [worker] = app.wait_workers(1)
        yield app, port, worker
    finally:
        app.stop()


def assert_worker_alive(app: Satrap, port: int, worker: int) -> None:
    status, body = split_response(uwsgi_get(port, "/pid"))
    assert (status, body) == (200, str(worker).encode())
    assert app.workers() == [worker]
    assert "DAMN" not in app.log()


def _big_block_packet() -> bytes:
    return encode_packet({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_X_PAD": "x" * 5000})


MALFORMED = {
    "short header": (b"\x00\x10", r"invalid uwsgi request from 127\.0\.0\.1: .*header"),
    "datasize > buffer-size": (_big_block_packet(), r"invalid request block size: 50\d\d \(max 4096\)"),
    "closed inside the vars": (encode_packet({"REQUEST_METHOD": "GET", "PATH_INFO": "/"})[:-5],
                               r"invalid uwsgi request from 127\.0\.0\.1: connection closed inside the packet"),
    "var length past the end": (b"\x00\x0a\x00\x00" + b"\x04\x00PATH\xff\x00/abc",
                                r"invalid uwsgi request from 127\.0\.0\.1: truncated uwsgi var"),
    "key length past the end": (b"\x00\x05\x00\x00" + b"\xff\x00abc",
                                r"invalid uwsgi request from 127\.0\.0\.1: truncated uwsgi var"),
    "zero-length key": (b"\x00\x07\x00\x00" + b"\x00\x00\x03\x00abc",
                        r"invalid uwsgi request from 127\.0\.0\.1: uwsgi key cannot be empty"),
    "unknown modifier1 5": (encode_packet({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, modifier1=5),
                            r"-- unavailable modifier requested: 5 --"),
    "plain HTTP": (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                   r"invalid request block size: 21573 \(max 4096\).*plain HTTP sent to a uwsgi socket"),
    "negative CONTENT_LENGTH": (encode_packet({"REQUEST_METHOD": "POST", "PATH_INFO": "/upload",
                                               "CONTENT_LENGTH": "-5"}),
                                r"invalid uwsgi request from 127\.0\.0\.1: CONTENT_LENGTH '-5'"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_packet_is_closed_cleanly(direct: tuple[Satrap, int, int], case: str) -> None:
    app, port, worker = direct
    data, log_pattern = MALFORMED[case]
    answer, how = uwsgi_exchange(port, data)
    assert (answer, how) == (b"", "fin")
    app.wait_log(log_pattern)
    assert_worker_alive(app, port, worker)


def test_malformed_packets_in_a_row_then_normal_request(direct: tuple[Satrap, int, int]) -> None:
    app, port, worker = direct
    for data, _ in MALFORMED.values():
        assert uwsgi_exchange(port, data) == (b"", "fin")
    assert_worker_alive(app, port, worker)
    # a well-formed request with a body still works on the same worker
    payload = os.urandom(200_000)
    pvars = {"REQUEST_METHOD": "POST", "PATH_INFO": "/upload", "REQUEST_URI": "/upload",
             "CONTENT_LENGTH": str(len(payload)), "CONTENT_TYPE": "application/octet-stream",
             "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "x", "SERVER_PORT": "80"}
    answer, how = uwsgi_exchange(port, encode_packet(pvars) + payload)
    status, body = split_response(answer)
    assert status == 200 and json.loads(body)["sha256"] == hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize("version", ["FTP/9", "HTTP/1.1 200 OK\r\nX-Injected: 1\r\nX:", "HTTP/\u00b2.1",
                                     "x" * 300])
def test_bogus_server_protocol_does_not_kill_the_worker(direct: tuple[Satrap, int, int], version: str) -> None:
    """SERVER_PROTOCOL is echoed in the status line; a peer-supplied bogus one used to make the
    response head unbuildable and the worker die (a one-packet DoS)."""
    app, port, worker = direct
    answer = uwsgi_get(port, "/pid", {"SERVER_PROTOCOL": version})
    assert answer.startswith(b"HTTP/1.0 200 OK\r\n"), answer[:200]
    assert b"X-Injected" not in answer
    assert_worker_alive(app, port, worker)
    # a well-formed version other than 1.x is echoed, as uWSGI does (nginx's HTTP/2 front end)
    assert uwsgi_get(port, "/pid", {"SERVER_PROTOCOL": "HTTP/2.0"}).startswith(b"HTTP/2.0 200 OK\r\n")


def test_magic_vars_are_not_obeyed(direct: tuple[Satrap, int, int], tmp_path: Path) -> None:
    app, port, worker = direct
    marker = tmp_path / "evil-ran"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('pwned')\n"
                    "def application(e, s):\n    s('200 OK', []); return [b'evil']\n")
    magic = {"UWSGI_SCRIPT": "evil:application", "UWSGI_MODULE": "evil", "UWSGI_CALLABLE": "application",
             "UWSGI_FILE": str(evil), "UWSGI_PYHOME": str(tmp_path), "UWSGI_CHDIR": str(tmp_path),
             "UWSGI_SETENV": "SATRAP_TEST_NAME=evil", "UWSGI_APPID": "evil"}
    for key, value in magic.items():
        status, body = split_response(uwsgi_get(port, "/", {key: value}))
        assert (status, body) == (200, b"hello from server\n"), key
    status, body = split_response(uwsgi_get(port, "/", magic))
    assert (status, body) == (200, b"hello from server\n")
    assert not marker.exists()
    assert_worker_alive(app, port, worker)


def test_uwsgi_allow_refuses_unlisted_peers(tmp_path: Path) -> None:
    port = free_port()
    refused = start_satrap(tmp_path, "--socket", f"127.0.0.1:{port}", "--module", "server",
                           "--callable", "myapp", "--uwsgi-allow", "10.1.2.3")
    port2 = free_port()
    allowed = start_satrap(tmp_path, "--socket", f"127.0.0.1:{port2}", "--module", "server",
                           "--callable", "myapp", "--uwsgi-allow", "10.1.2.3", "--uwsgi-allow", "127.0.0.1")
    try:
        refused.wait_port(port)
        allowed.wait_port(port2)
        refused.wait_log(r"WSGI app 0 .* ready")
        answer, _ = uwsgi_exchange(port, encode_packet({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}))
        assert answer == b""
        refused.wait_log(r"refused uwsgi connection from 127\.0\.0\.1: not in uwsgi-allow")
        assert "GET / =>" not in refused.log()
        assert split_response(uwsgi_get(port2, "/")) == (200, b"hello from server\n")
    finally:
        refused.stop()
        allowed.stop()


def test_uwsgi_allow_accepts_a_cidr(tmp_path: Path) -> None:
    """``uwsgi-allow`` is documented as 'IP or CIDR' (options catalog)."""
    port = free_port()
    app = start_satrap(tmp_path, "--socket", f"127.0.0.1:{port}", "--module", "server",
                       "--callable", "myapp", "--uwsgi-allow", "127.0.0.0/8")
    try:
        app.wait_port(port)
        assert split_response(uwsgi_get(port, "/")) == (200, b"hello from server\n"), app.log()
    finally:
        app.stop()


def test_non_loopback_uwsgi_socket_warns(tmp_path: Path) -> None:
    port, port2, port3 = free_port(), free_port(), free_port()
    wide = start_satrap(tmp_path, "--socket", f"0.0.0.0:{port}", "--socket", f":{port2}",
                        "--http-socket", f"0.0.0.0:{port3}", "--module", "server", "--callable", "myapp")
    port4 = free_port()
    narrow = start_satrap(tmp_path, "--socket", f"127.0.0.1:{port4}", "--module", "server",
                          "--callable", "myapp")
    try:
        wide.wait_port(port)
        narrow.wait_port(port4)
        wide.wait_log(rf"WARNING: uwsgi-protocol socket 0\.0\.0\.0:{port} listens on a non-loopback address")
        wide.wait_log(rf"WARNING: uwsgi-protocol socket :{port2} listens on a non-loopback address")
        assert f"socket 0.0.0.0:{port3} listens" not in wide.log()  # HTTP sockets are meant to be public
        assert split_response(uwsgi_get(port, "/")) == (200, b"hello from server\n")
        narrow.wait_log(r"WSGI app 0 .* ready")
        assert "non-loopback" not in narrow.log()
    finally:
        wide.stop()
        narrow.stop()
