"""``subscription-notify-socket``: a node tells the subscription server where to acknowledge it,
and the server sends ``[subscription ack] KEY => new node: ADDR`` there when it adds the node.

Real processes only: a satrap fastrouter (master + "fastrouter 1") with a unix subscription
server, and a satrap node that subscribes to it with a notify path. Two ends for the notify
path: the node's own master (it binds the free path and logs the datagram as ``[notify-socket]``),
and a socket owned by another process (here: the test), which the node must leave alone.
"""

from __future__ import annotations

import socket
from pathlib import Path

from support import Satrap, free_port, read_until_eof, wait_until

from satrap.protocol.uwsgi import encode_packet

APP = Path(__file__).resolve().parent / "apps" / "nodeapp.py"


def _router(satrap, tmp_path: Path) -> tuple[Satrap, str, int]:
    sub_server = str(tmp_path / "sub.sock")
    port = free_port()
    router = satrap("--master", "--fastrouter", f"127.0.0.1:{port}", "--fastrouter-subscription-server", sub_server)
    router.wait_port(port)
    wait_until(lambda: Path(sub_server).exists(), message="subscription server socket")
    return router, sub_server, port


def _ask(port: int, key: str) -> bytes:
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REQUEST_URI": "/", "QUERY_STRING": "",
           "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": key, "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1",
           "HTTP_HOST": key}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(encode_packet(env))
        return read_until_eof(sock)


def test_node_logs_the_ack_on_its_notify_socket(satrap, tmp_path: Path) -> None:
    router, sub_server, port = _router(satrap, tmp_path)
    node_sock = str(tmp_path / "node.sock")
    notify = str(tmp_path / "run" / "notify.socket")
    (tmp_path / "run").mkdir()
    node = satrap("--master", "--processes", "1", "--socket", node_sock, "--wsgi-file", str(APP),
                  "--env", "NODE=one", "--subscribe-to", f"{sub_server}:one.example",
                  "--subscription-notify-socket", notify)
    node.wait_log(rf"notification socket enabled on {notify}")
    router.wait_log(r"one\.example => new node: " + node_sock)
    node.wait_log(r"\[notify-socket\] \[subscription ack\] one\.example => new node: " + node_sock)
    assert b"node=one" in _ask(port, "one.example"), "the acknowledged node serves its key"
    node.signal(2)
    node.wait_exit()
    assert len(node.wait_log(r"\[subscription ack\]")) == 1, "one node added, one acknowledgement"
    assert not Path(notify).exists(), "the notify socket file is removed at exit"


def test_notify_socket_owned_by_another_process_receives_the_ack(satrap, tmp_path: Path) -> None:
    """uWSGI's layout: the notify path belongs to someone else (often the Emperor's notify-socket);
    the node must not take it over, and the ack must reach that owner."""
    _router_proc, sub_server, _port = _router(satrap, tmp_path)
    notify = str(tmp_path / "owner.socket")
    owner = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    owner.bind(notify)
    owner.settimeout(15)
    try:
        node_sock = str(tmp_path / "node2.sock")
        node = satrap("--master", "--processes", "1", "--socket", node_sock, "--wsgi-file", str(APP),
                      "--env", "NODE=two", "--subscribe-to", f"{sub_server}:two.example",
                      "--subscription-notify-socket", notify)
        message = owner.recv(8192)
        assert message == f"[subscription ack] two.example => new node: {node_sock}".encode()
        node.wait_log(r"subscription acknowledgements go to the process listening on " + notify)
        assert "notification socket enabled" not in node.log()
        assert Path(notify).exists()
    finally:
        owner.close()


def test_notify_travels_in_the_packet_and_only_additions_are_acked() -> None:
    """The sans-IO half: ``notify`` survives encode/parse, and the table queues one ack per added
    node (a refresh or a removal is silent, as in uWSGI's core/subscription.c)."""
    from satrap.fastrouter.subscription import (
        Subscription,
        SubscriptionTable,
        encode_subscription,
        parse_subscription,
    )

    sub = Subscription(key="k.example", address="/run/k.sock", notify="/home/u/run/notify.socket")
    assert parse_subscription(encode_subscription(sub)).notify == "/home/u/run/notify.socket"
    assert parse_subscription(encode_subscription(Subscription(key="k", address="a"))).notify == ""
    table = SubscriptionTable()
    table.update(sub, 0.0)
    assert table.pop_acks() == [("/home/u/run/notify.socket", "[subscription ack] k.example => new node: /run/k.sock")]
    table.update(sub, 1.0)  # the next announce of the same node
    table.update(Subscription(key="k.example", address="/run/k.sock", unsubscribe=True), 2.0)
    assert table.pop_acks() == []


def test_uwsgi_it_shortcut_shape(satrap, tmp_path: Path) -> None:
    """Corpus 008's shape (unbit's uwsgi.it shortcuts): ``plugins = netlink``, a ``declare-option2``
    whose ``$1`` builds the socket and a signed ``subscribe2`` from ``$(HOME)`` and ``%J``, a
    ``chmod-socket``, a ``subscription-notify-socket`` -- used by a vassal-style ``domain = KEY``
    line (``domain`` is only satrap's alias for server-name, so the declared option wins)."""
    import os
    import re
    import stat

    router, sub_server, port = _router(satrap, tmp_path)
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    conf = tmp_path / "shortcuts.ini"
    conf.write_text(
        "[uwsgi]\nplugins = netlink\nchmod-socket = 666\n"
        "subscription-notify-socket = $(HOME)/run/notify.socket\n"
        "declare-option2 = domain=socket=$(HOME)/run/$1_%J.socket;subscribe2=server=" + sub_server +
        ",key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key\n"
        "domain = shop.example\n")
    node = satrap("--ini", str(conf), "--processes", "1", "--wsgi-file", str(APP), "--env", "NODE=shop",
                  env={"HOME": str(home)})
    bound = node.wait_log(r"bound to UNIX address (\S+)")[0]
    assert re.fullmatch(re.escape(str(home / "run" / "shop.example_")) + r"\d+\.socket", bound), bound
    assert stat.S_IMODE(os.stat(bound).st_mode) == 0o666
    router.wait_log(r"shop\.example => new node: " + re.escape(bound))
    node.wait_log(r"\[notify-socket\] \[subscription ack\] shop\.example => new node: " + re.escape(bound))
    assert b"node=shop" in _ask(port, "shop.example")


def test_notify_socket_logs_datagrams_and_survives_a_reload(satrap, tmp_path: Path) -> None:
    """``notify-socket``: the master binds it and logs each datagram; a graceful reload (re-exec)
    binds it again, replacing its own stale socket file."""
    import signal

    notify = str(tmp_path / "notify.socket")
    port = free_port()
    proc = satrap("--master", "--processes", "1", "--http-socket", f"127.0.0.1:{port}", "--wsgi-file", str(APP),
                  "--notify-socket", notify)
    proc.wait_log(rf"notification socket enabled on {notify}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"hello from outside", notify)
        proc.wait_log(r"\[notify-socket\] hello from outside")
        proc.signal(signal.SIGHUP)
        proc.wait_log(rf"notification socket enabled on {notify}", count=2, timeout=20)
        wait_until(lambda: _try_sendto(sender, b"after reload", notify), message="notify socket back")
        proc.wait_log(r"\[notify-socket\] after reload")
    assert proc.proc.poll() is None


def _try_sendto(sock: socket.socket, data: bytes, path: str) -> bool:
    try:
        sock.sendto(data, path)
        return True
    except OSError:
        return False
