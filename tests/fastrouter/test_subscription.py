"""The subscription datagram and the node table (sans-IO) and the subscribe-to value forms."""

from __future__ import annotations

import collections
import socket
import struct

import pytest

from satrap.config import load_config
from satrap.errors import ConfigError
from satrap.fastrouter.subscriber import (
    Subscriber,
    announce_address,
    parse_subscribe2,
    parse_subscribe_to,
)
from satrap.fastrouter.subscription import (
    Subscription,
    SubscriptionTable,
    encode_subscription,
    parse_subscription,
)
from satrap.protocol.errors import ProtocolError
from satrap.protocol.uwsgi import encode_packet, parse_header, parse_vars


def test_datagram_round_trip() -> None:
    sub = Subscription("shop.example", "/tmp/sockets/shop.sock", modifier1=0, cores=4, load=2, weight=3)
    data = encode_subscription(sub)
    m1, size, m2 = parse_header(data)
    assert (m1, m2, size) == (224, 0, len(data) - 4)
    fields = parse_vars(data[4:])
    assert fields == {"key": "shop.example", "address": "/tmp/sockets/shop.sock", "modifier1": "0",
                      "modifier2": "0", "cores": "4", "load": "2", "weight": "3"}
    assert parse_subscription(data) == sub
    gone = encode_subscription(Subscription("k", "a:1", unsubscribe=True))
    assert gone[3] == 1 and parse_subscription(gone).unsubscribe


def test_uwsgi_style_datagram_is_read() -> None:
    """Only key and address are required; signed announces carry unix/sign, which are ignored."""
    data = encode_packet([("key", "a.test"), ("address", "10.0.0.1:3031"), ("weight", "0"),
                          ("unix", "1700000000"), ("sign", "\x00\x01")], 224, 0)
    sub = parse_subscription(data)
    assert (sub.key, sub.address, sub.weight, sub.modifier1) == ("a.test", "10.0.0.1:3031", 1, 0)


@pytest.mark.parametrize("data", [
    b"",
    b"\xe0\x10\x00\x00abc",  # truncated
    encode_packet({"key": "a"}, 224),  # no address
    encode_packet({"key": "a", "address": "b"}, 0),  # not modifier1 224
    struct.pack("<BHB", 224, 4, 0) + b"\x00\x00\x00\x00",  # empty key
    encode_packet({"key": "a" * 300, "address": "b"}, 224),
])
def test_bad_datagrams_are_refused(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_subscription(data)


def _sub(key: str, address: str, weight: int = 1, unsubscribe: bool = False) -> Subscription:
    return Subscription(key, address, weight=weight, unsubscribe=unsubscribe)


def test_table_round_robin_and_weights() -> None:
    table = SubscriptionTable(tolerance=17)
    assert table.update(_sub("a", "n1"), 0) == ["[subscription] new pool: a", "[subscription] a => new node: n1"]
    table.update(_sub("a", "n2", weight=3), 0)
    picks = collections.Counter(table.choose("a", 1).address for _ in range(400))  # type: ignore[union-attr]
    assert picks == {"n1": 100, "n2": 300}
    # smooth: the light node is not starved in a row of four
    seq = [table.choose("a", 1).address for _ in range(4)]  # type: ignore[union-attr]
    assert seq.count("n1") == 1
    assert table.choose("b", 1) is None


def test_table_expiry_refresh_and_unsubscribe() -> None:
    table = SubscriptionTable(tolerance=17)
    table.update(_sub("a", "n1"), 0)
    table.update(_sub("a", "n2"), 0)
    table.update(_sub("a", "n1"), 10)  # n1 announces again; n2 does not
    assert table.expire(17) == []
    lines = table.expire(18)
    assert lines == ["[subscription] a => removing node n2 (no announce received in 17 seconds)"]
    assert {table.choose("a", 18).address for _ in range(3)} == {"n1"}  # type: ignore[union-attr]
    # a node not seen for longer than the tolerance is never picked, even before the sweep
    assert table.choose("a", 28) is None
    table.update(_sub("a", "n1"), 28)
    assert table.update(_sub("a", "n1", unsubscribe=True), 29) == [
        "[subscription] a => removing node n1 (unsubscribed)"]
    assert table.pools == {} and len(table) == 0


def test_failed_node_is_skipped_until_it_announces() -> None:
    table = SubscriptionTable()
    table.update(_sub("a", "n1"), 0)
    table.update(_sub("a", "n2"), 0)
    n = table.choose("a", 0)
    assert n is not None
    table.failed(n)
    other = {x.address for x in (table.choose("a", 1) for _ in range(3)) if x}
    assert other == {"n1", "n2"} - {n.address}
    assert table.choose("a", 1, exclude=[table.pools["a"][0], table.pools["a"][1]]) is None
    assert table.update(_sub("a", n.address), 2) == [f"[subscription] a => node {n.address} is back"]
    assert {table.choose("a", 3).address for _ in range(2)} == {"n1", "n2"}  # type: ignore[union-attr]


def test_subscribe_to_forms() -> None:
    t = parse_subscribe_to("/tmp/sock2:shop.example.com")
    assert (t.server, t.key, t.address) == ("/tmp/sock2", "shop.example.com", None)
    t = parse_subscribe_to("192.168.0.100:2626:uwsgi.it")
    assert (t.server, t.key) == ("192.168.0.100:2626", "uwsgi.it")
    t = parse_subscribe_to("127.0.0.1:2626:test.uwsgi.it:8000,5,SHA1:/home/foo/private.pem")
    assert (t.server, t.key, t.modifier1, t.signed) == ("127.0.0.1:2626", "test.uwsgi.it:8000", 5, True)
    t = parse_subscribe_to("10.0.0.5:3031=127.0.0.1:2626:a.test")
    assert (t.server, t.key, t.address) == ("127.0.0.1:2626", "a.test", "10.0.0.5:3031")
    t = parse_subscribe2("server=127.0.0.1:2626,key=uwsgi.it,addr=192.168.0.10:3031,weight=4,modifier2=1")
    assert (t.server, t.key, t.address, t.weight, t.modifier2) == (
        "127.0.0.1:2626", "uwsgi.it", "192.168.0.10:3031", 4, 1)
    for bad in ("/tmp/sock2", "127.0.0.1:2626", "127.0.0.1:2626:"):
        with pytest.raises(ConfigError):
            parse_subscribe_to(bad)
    with pytest.raises(ConfigError):
        parse_subscribe2("key=a")


def test_subscriber_sends_on_schedule_and_says_goodbye(tmp_path) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "sub.sock")
    server.bind(path)
    server.settimeout(2)
    keys = tmp_path / "keys.txt"
    keys.write_text("# keys\nk1.test\nk2.test,30\n")
    cfg = load_config(["--module", "x", "--socket", str(tmp_path / "app.sock"), "--subscribe-to",
                       f"{path}:a.test", "--subscribe2", f"server={path},key=b.test,weight=5",
                       "--subscribe-to", f"{path}:@{keys}", "--processes", "2", "--threads", "3"])
    sub = Subscriber(cfg)
    assert sub.address == str(tmp_path / "app.sock")
    assert sub.tick(100.0) == 4
    got = [parse_subscription(server.recv(4096)) for _ in range(4)]
    # every subscribe-to first, then every subscribe2 (uWSGI's order)
    assert [(s.key, s.weight, s.modifier1, s.cores) for s in got] == [
        ("a.test", 1, 0, 6), ("k1.test", 1, 0, 6), ("k2.test", 1, 30, 6), ("b.test", 5, 0, 6)]
    assert {s.address for s in got} == {str(tmp_path / "app.sock")}
    assert sub.tick(105.0) == 0 and sub.tick(110.0) == 4  # subscribe-freq 10
    for _ in range(4):
        server.recv(4096)
    assert sub.goodbye() == 4
    assert all(parse_subscription(server.recv(4096)).unsubscribe for _ in range(4))


def test_subscriber_without_server_logs_once(tmp_path, capfd) -> None:
    cfg = load_config(["--module", "x", "--socket", "127.0.0.1:3999", "--subscribe-to",
                       f"{tmp_path}/nothing:a.test", "--subscribe-freq", "1"])
    sub = Subscriber(cfg)
    for i in range(3):
        sub.tick(float(i * 2))
    err = capfd.readouterr().err
    assert err.count("no subscription server there yet") == 1


def test_announce_address_from_listeners(tmp_path) -> None:
    from satrap.net.listeners import bind
    cfg = load_config(["--module", "x"])
    tcp = bind("127.0.0.1:0", "uwsgi", cfg)
    unix = bind(str(tmp_path / "u.sock"), "uwsgi", cfg)
    http = bind("127.0.0.1:0", "http", cfg)
    try:
        assert announce_address(cfg, [http, tcp, unix]) == f"127.0.0.1:{tcp.port}"
        assert announce_address(cfg, [unix, tcp]) == str(tmp_path / "u.sock")
    finally:
        for lst in (tcp, unix, http):
            lst.sock.close()


def test_udp_subscription_server() -> None:
    from satrap.fastrouter.process import bind_subscription_server

    server = bind_subscription_server("127.0.0.1:0")
    port = server.getsockname()[1]
    try:
        cfg = load_config(["--module", "x", "--subscribe-to", f"127.0.0.1:{port}:udp.test"])
        sub = Subscriber(cfg, address="127.0.0.1:3031")
        assert sub.tick(0.0) == 1
        server.settimeout(2)
        got = parse_subscription(server.recv(4096))
        assert (got.key, got.address, got.unsubscribe) == ("udp.test", "127.0.0.1:3031", False)
    finally:
        server.close()
