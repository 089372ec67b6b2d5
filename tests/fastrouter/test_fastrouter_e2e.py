"""End to end: real satrap nodes subscribe to a real fastrouter; uwsgi requests reach the node
their key names; a killed node stops receiving; unknown keys are closed.

Until the master runs the Subscriber and the fastrouter gateway itself (the seams in
docs/fastrouter.md), the test process announces the nodes with ``Subscriber`` and the fastrouter
runs through ``run_fastrouter.py`` (the same ``run_fastrouter`` the master will fork).
"""

from __future__ import annotations

import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from support import REPO, Satrap, free_port, read_until_eof, wait_until

from satrap.config import load_config
from satrap.fastrouter.subscriber import Subscriber
from satrap.protocol.uwsgi import encode_packet

HERE = Path(__file__).resolve().parent
APP = HERE / "apps" / "nodeapp.py"


def _wired(needle: str) -> bool:
    return any(needle in (REPO / rel).read_text() for rel in ("satrap/master/master.py", "satrap/cli.py")
               if (REPO / rel).exists())


def uwsgi_request(port: int, host: str, body: bytes = b"", key: str | None = None,
                  timeout: float = 10.0) -> bytes:
    env = {"REQUEST_METHOD": "POST" if body else "GET", "PATH_INFO": "/", "REQUEST_URI": "/",
           "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": host, "SERVER_PORT": "80",
           "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": host, "CONTENT_LENGTH": str(len(body))}
    if key is not None:
        env["UWSGI_FASTROUTER_KEY"] = key
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(encode_packet(env) + body)
        return read_until_eof(sock)


class Cluster:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.procs: list[Satrap] = []
        self.subscribers: dict[str, Subscriber] = {}
        self.sub_server = str(tmp_path / "sub.sock")
        self.port = free_port()
        self.router: Satrap | None = None

    def start_router(self, *extra: str) -> Satrap:
        args = ["--fastrouter", f"127.0.0.1:{self.port}", "--fastrouter-subscription-server", self.sub_server,
                "--subscription-tolerance", "2", *extra]
        log = self.tmp / "fastrouter.log"
        if _wired("run_fastrouter"):
            proc = Satrap(["--master", *args], self.tmp, log)
        else:
            proc = Satrap(args, self.tmp, log, command=[sys.executable, str(HERE / "run_fastrouter.py")])
        self.procs.append(proc)
        proc.wait_port(self.port)
        wait_until(lambda: Path(self.sub_server).exists(), message="subscription server socket")
        self.router = proc
        return proc

    def start_node(self, name: str, key: str) -> Satrap:
        port = free_port()
        args = ["--master", "--processes", "1", "--socket", f"127.0.0.1:{port}", "--wsgi-file", str(APP),
                "--env", f"NODE={name}", "--subscribe-to", f"{self.sub_server}:{key}", "--subscribe-freq", "1"]
        proc = Satrap(args, self.tmp, self.tmp / f"node-{name}.log")
        self.procs.append(proc)
        proc.wait_port(port)
        if not _wired("Subscriber"):  # the master does not announce yet: announce for it
            cfg = load_config(["--module", "x", "--subscribe-to", f"{self.sub_server}:{key}",
                               "--subscribe-freq", "1"])
            self.subscribers[name] = Subscriber(cfg, address=f"127.0.0.1:{port}")
        return proc

    def announce(self) -> None:
        for sub in self.subscribers.values():
            sub.tick(time.monotonic())

    def request(self, host: str, **kw) -> bytes:
        self.announce()
        return uwsgi_request(self.port, host, **kw)

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()


@pytest.fixture
def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    yield c
    c.stop()


def _body(raw: bytes) -> bytes:
    return raw.partition(b"\r\n\r\n")[2]


def test_requests_reach_the_node_of_their_key(cluster: Cluster) -> None:
    router = cluster.start_router()
    cluster.start_node("a", "a.test")
    cluster.start_node("b", "b.test")
    wait_until(lambda: cluster.request("a.test").startswith(b"HTTP/1.1 200"), message="a.test routed")
    wait_until(lambda: cluster.request("b.test").startswith(b"HTTP/1.1 200"), message="b.test routed")
    for _ in range(5):
        assert _body(cluster.request("a.test")) == b"node=a host=a.test len=0"
        assert _body(cluster.request("b.test")) == b"node=b host=b.test len=0"
    # UWSGI_FASTROUTER_KEY wins over HTTP_HOST; a request body is forwarded whole
    body = b"z" * 300_000
    assert _body(cluster.request("a.test", key="b.test", body=body)) == b"node=b host=a.test len=300000"
    # an unknown key: closed without an answer, with a log line
    assert cluster.request("nobody.test") == b""
    router.wait_log(r"unable to find a node for key 'nobody.test'")
    router.wait_log(r"a\.test => new node: 127\.0\.0\.1:\d+")


def test_killed_node_stops_receiving(cluster: Cluster) -> None:
    router = cluster.start_router()
    cluster.start_node("a1", "a.test")
    b = cluster.start_node("a2", "a.test")
    seen: set[bytes] = set()

    def both() -> bool:
        body = _body(cluster.request("a.test"))
        if body.startswith(b"node="):  # an answer, not a closed connection (no node yet)
            seen.add(body)
        return len(seen) == 2
    wait_until(both, message="both nodes of a.test used")
    b.stop()  # SIGKILL: no goodbye
    cluster.subscribers.pop("a2", None)
    # the very next requests go to the live node (the dead one fails to connect and is skipped)
    for _ in range(6):
        assert _body(cluster.request("a.test")) == b"node=a1 host=a.test len=0"
    router.wait_log(r"removing node 127\.0\.0\.1:\d+ \(no announce received in 2 seconds\)|"
                    r"marking 127\.0\.0\.1:\d+ as failed", timeout=10)


def test_unsubscribe_and_expiry(cluster: Cluster) -> None:
    router = cluster.start_router()
    cluster.start_node("a", "a.test")
    wait_until(lambda: cluster.request("a.test").startswith(b"HTTP/1.1 200"), message="a.test routed")
    if cluster.subscribers:
        cluster.subscribers["a"].goodbye()
        router.wait_log(r"a\.test => removing node .* \(unsubscribed\)")
        assert uwsgi_request(cluster.port, "a.test") == b""
    else:
        cluster.procs[-1].signal(signal.SIGINT)
        router.wait_log(r"a\.test => removing node .* \(unsubscribed\)")


def test_static_routes(cluster: Cluster, tmp_path: Path) -> None:
    """fastrouter-use-pattern needs no subscription."""
    sockdir = tmp_path / "socks"
    sockdir.mkdir()
    node = Satrap(["--master", "--processes", "1", "--socket", str(sockdir / "c.test.sock"), "--wsgi-file",
                   str(APP), "--env", "NODE=c"], tmp_path, tmp_path / "node-c.log")
    cluster.procs.append(node)
    wait_until(lambda: (sockdir / "c.test.sock").exists(), message="node socket")
    cluster.start_router("--fastrouter-use-pattern", f"{sockdir}/%s.sock")
    wait_until(lambda: uwsgi_request(cluster.port, "c.test").startswith(b"HTTP/1.1 200"), message="c.test")
    assert _body(uwsgi_request(cluster.port, "c.test")) == b"node=c host=c.test len=0"
    assert uwsgi_request(cluster.port, "d.test") == b""


def test_graceful_stop_finishes(cluster: Cluster) -> None:
    router = cluster.start_router()
    cluster.start_node("a", "a.test")
    wait_until(lambda: cluster.request("a.test").startswith(b"HTTP/1.1 200"), message="a.test routed")
    router.signal(signal.SIGHUP if not _wired("run_fastrouter") else signal.SIGINT)
    assert router.wait_exit(10) == 0
    assert not Path(cluster.sub_server).exists()
