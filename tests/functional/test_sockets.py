"""Listening sockets (issue 4): TCP IPv4 / IPv6 / ``:port``, unix sockets with ``chmod-socket``,
stale and live socket files, ``vacuum``, and several sockets of different protocols at once, each
keeping its own protocol."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from satrap.protocol.uwsgi import encode_packet
from support import FIXTURE_APPS, Satrap, free_port, http_request, wait_until

APP_DIR = FIXTURE_APPS / "uwsgi_nginx"
APP = ("--wsgi-file", str(APP_DIR / "plain.py"))
ENV = {"PYTHONDONTWRITEBYTECODE": "1"}

Start = Callable[..., Satrap]


@pytest.fixture
def start(satrap: Start) -> Start:
    def run(*args: str) -> Satrap:
        return satrap(*args, *APP, env=ENV)
    return run


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """Unix socket paths are limited to 107 bytes: keep them short (pytest's tmp_path can be long)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="satrap-s-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def read_all(s: socket.socket) -> tuple[bytes, str]:
    chunks = []
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return b"".join(chunks), "reset"
        if not chunk:
            return b"".join(chunks), "fin"
        chunks.append(chunk)


def connect(address: str | tuple[str, int]) -> socket.socket:
    if isinstance(address, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(address)
    return s


def send(address: str | tuple[str, int], data: bytes) -> tuple[bytes, str]:
    with connect(address) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return read_all(s)


def uwsgi_call(address: str | tuple[str, int], path: str = "/") -> dict[str, Any]:
    pvars = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REQUEST_URI": path, "QUERY_STRING": "",
             "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "s.test", "SERVER_PORT": "80",
             "REMOTE_ADDR": "192.0.2.7"}
    answer, how = send(address, encode_packet(pvars))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), answer[:300]
    return json.loads(body)


def http_call(address: str | tuple[str, int], path: str = "/") -> dict[str, Any]:
    answer, _ = send(address, f"GET {path} HTTP/1.0\r\nHost: s.test\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], answer[:300]
    return json.loads(body)


def wait_socket_file(app: Satrap, path: Path) -> None:
    def ready() -> bool:
        if app.proc.poll() is not None:
            raise AssertionError(f"satrap exited with {app.proc.returncode}:\n{app.log()[-3000:]}")
        if not path.exists():
            return False
        try:
            connect(str(path)).close()
            return True
        except OSError:
            return False
    wait_until(ready, 15, message=f"unix socket {path}")


# -- TCP ---------------------------------------------------------------------------------------

def test_tcp_ipv4(start: Start) -> None:
    port = free_port()
    app = start("--socket", f"127.0.0.1:{port}")
    app.wait_port(port)
    doc = uwsgi_call(("127.0.0.1", port), "/v4")
    # the environ is built from the packet's vars: REMOTE_ADDR is what the front end says
    assert doc["path"] == "/v4" and doc["remote_addr"] == "192.0.2.7" and doc["protocol"] == "HTTP/1.1"
    app.wait_log(rf"uwsgi socket 0 bound to TCP address 127\.0\.0\.1:{port}")


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_tcp_ipv6(start: Start) -> None:
    port, hport = free_port("::1"), free_port("::1")
    app = start("--socket", f"[::1]:{port}", "--http-socket", f"[::1]:{hport}")
    app.wait_port(port, host="::1")
    assert uwsgi_call(("::1", port), "/v6")["path"] == "/v6"
    assert http_call(("::1", hport), "/h6")["remote_addr"] == "::1"
    app.wait_log(rf"uwsgi socket 0 bound to TCP address \[::1\]:{port}")
    # IPv6-only: the IPv4 loopback on that port is not ours
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_port_only_means_all_ipv4_interfaces(start: Start) -> None:
    port, hport = free_port(), free_port()
    app = start("--socket", f":{port}", "--http-socket", f":{hport}")
    app.wait_port(port)
    app.wait_log(rf"uwsgi socket 0 bound to TCP address 0\.0\.0\.0:{port}")
    app.wait_log(rf"http socket 1 bound to TCP address 0\.0\.0\.0:{hport}")
    assert uwsgi_call(("127.0.0.1", port))["path"] == "/"
    assert http_call(("127.0.0.1", hport))["remote_addr"] == "127.0.0.1"


# -- unix sockets --------------------------------------------------------------------------------

@pytest.mark.parametrize("option, mode", [("--chmod-socket", 0o666), ("--chmod-socket=666", 0o666),
                                          ("--chmod-socket=660", 0o660), ("--chmod-socket=600", 0o600)])
def test_unix_socket_chmod(start: Start, short_tmp: Path, option: str, mode: int) -> None:
    path = short_tmp / "app.sock"
    app = start("--socket", str(path), option)
    wait_socket_file(app, path)
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == mode
    assert uwsgi_call(str(path), "/unix")["path"] == "/unix"
    app.wait_log(rf"uwsgi socket 0 bound to UNIX address {path}")


def test_unix_socket_without_chmod_follows_umask(start: Start, short_tmp: Path) -> None:
    path = short_tmp / "app.sock"
    app = start("--socket", str(path))
    wait_socket_file(app, path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o777 & ~umask


def test_vacuum_removes_the_socket_file_on_shutdown(start: Start, short_tmp: Path) -> None:
    path = short_tmp / "vac.sock"
    app = start("--socket", str(path), "--vacuum", "--master", "--processes", "2")
    wait_socket_file(app, path)
    app.wait_workers(2)
    app.signal(signal.SIGINT)
    assert app.wait_exit() == 0
    assert not path.exists(), app.log()[-2000:]


def test_without_vacuum_the_socket_file_stays(start: Start, short_tmp: Path) -> None:
    path = short_tmp / "keep.sock"
    app = start("--socket", str(path))
    wait_socket_file(app, path)
    # a served request: the loop runs and its handlers are in place (the socket accepts, in the
    # kernel, before that; a SIGINT then would be Python's default KeyboardInterrupt)
    assert uwsgi_call(str(path))["path"] == "/"
    app.signal(signal.SIGINT)
    assert app.wait_exit() == 0
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    # ... and a stale file like this one is replaced by the next start
    again = start("--socket", str(path), "--chmod-socket=660")
    wait_socket_file(again, path)
    assert uwsgi_call(str(path))["path"] == "/"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660


def test_stale_socket_from_a_killed_instance_is_replaced(start: Start, short_tmp: Path) -> None:
    path = short_tmp / "stale.sock"
    first = start("--socket", str(path), "--master", "--processes", "1")
    wait_socket_file(first, path)
    first.stop()  # SIGKILL to the whole group: no chance to clean up
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    with pytest.raises(ConnectionRefusedError):
        connect(str(path))
    second = start("--socket", str(path))
    wait_socket_file(second, path)
    assert uwsgi_call(str(path))["pid"] == second.pid


def test_live_socket_is_refused_with_one_line_and_exit_2(start: Start, short_tmp: Path) -> None:
    path = short_tmp / "live.sock"
    first = start("--socket", str(path))
    wait_socket_file(first, path)
    before = uwsgi_call(str(path))["pid"]
    second = start("--socket", str(path))
    code = second.wait_exit()
    errors = [line for line in second.log().splitlines() if line.startswith("satrap: ")]
    assert errors == [f"satrap: unix socket {path} is in use by another running server"], second.log()
    assert "Traceback" not in second.log()
    assert code == 2, second.log()
    # the running server kept its socket file and still answers
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert uwsgi_call(str(path))["pid"] == before == first.pid


def test_regular_file_in_the_way_is_not_removed(start: Start, short_tmp: Path) -> None:
    path = short_tmp / "notasocket"
    path.write_text("precious\n")
    app = start("--socket", str(path))
    assert app.wait_exit() == 2
    assert path.read_text() == "precious\n"
    assert f"unix socket path {path} exists and is not a socket" in app.log()


# -- several sockets, several protocols ------------------------------------------------------------

def test_several_sockets_each_keep_their_protocol(start: Start, short_tmp: Path) -> None:
    uport, hport = free_port(), free_port()
    usock = short_tmp / "u.sock"
    app = start("--socket", f"127.0.0.1:{uport}", "--http-socket", f"127.0.0.1:{hport}",
                "--socket", str(usock), "--master", "--processes", "2")
    app.wait_port(uport)
    app.wait_port(hport)
    wait_socket_file(app, usock)
    app.wait_workers(2)
    for _ in range(4):  # whichever worker takes it
        assert uwsgi_call(("127.0.0.1", uport))["remote_addr"] == "192.0.2.7"
        assert uwsgi_call(str(usock))["remote_addr"] == "192.0.2.7"
        assert http_call(("127.0.0.1", hport))["remote_addr"] == "127.0.0.1"
    status, headers, body = http_request(hport, "GET", "/keep", timeout=5)
    assert status == 200 and json.loads(body)["protocol"] == "HTTP/1.1"
    # crossing the protocols fails the way each protocol fails
    answer, how = send(("127.0.0.1", uport), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (answer, how) == (b"", "fin")
    app.wait_log(r"invalid request block size: 21573 \(max 4096\).*plain HTTP sent to a uwsgi socket")
    answer, _ = send(("127.0.0.1", hport), encode_packet({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}))
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert "DAMN" not in app.log()


def test_socket_with_protocol_http_next_to_a_uwsgi_socket(start: Start, short_tmp: Path) -> None:
    """Seed 002's ``--socket X --protocol=http``: every --socket speaks HTTP, while --uwsgi-socket
    and --http-socket keep theirs."""
    sport, uport, hport = free_port(), free_port(), free_port()
    hsock = short_tmp / "h.sock"
    app = start("--socket", f"127.0.0.1:{sport}", "--protocol=http", "--uwsgi-socket", f"127.0.0.1:{uport}",
                "--http-socket", f"127.0.0.1:{hport}", "--socket", str(hsock))
    app.wait_port(sport)
    wait_socket_file(app, hsock)
    app.wait_log(rf"http socket 0 bound to TCP address 127\.0\.0\.1:{sport}")
    assert http_call(("127.0.0.1", sport), "/s")["path"] == "/s"
    assert http_call(str(hsock), "/unix-http")["path"] == "/unix-http"
    assert http_call(("127.0.0.1", hport), "/h")["path"] == "/h"
    assert uwsgi_call(("127.0.0.1", uport), "/u")["path"] == "/u"
    status, _, body = http_request(sport, "GET", "/again")
    assert status == 200 and json.loads(body)["path"] == "/again"
