"""Subscriptions, sans-IO: the announce datagram and the table of nodes per key.

The datagram is a uwsgi packet with modifier1 224; modifier2 is the command (0 subscribe,
1 unsubscribe); its vars are ``key`` (the routing key: a host name), ``address`` (where the node's
uwsgi socket is), and as decimal text ``modifier1``, ``modifier2`` (to put on the forwarded
requests), ``cores``, ``load``, ``weight``; signed announces add ``unix`` and ``sign``, which are
read and ignored here (satrap does not check signatures). A node started with
``subscription-notify-socket`` (or ``notify-socket``) adds ``notify``: a unix datagram path the
server acknowledges a new node to, with one datagram ``[subscription ack] KEY => new node: ADDR``
(uWSGI acknowledges additions only: removals and refreshes are silent). Facts from uWSGI's
``core/subscription.c`` and the SubscriptionServer docs.

The table follows uWSGI's rules: a node not announced for ``tolerance`` seconds (uWSGI's
``subscription-tolerance``, default 17; nodes announce every ``subscribe-freq`` = 10 s) is dropped
with a log line; a node whose connection failed is skipped until its next announce; an
unsubscribe removes it at once. Nodes are picked by smooth weighted round robin (weight 1 when
unset or 0), which over ``sum(weights)`` picks gives each node exactly its weight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from satrap.protocol.errors import ProtocolError
from satrap.protocol.uwsgi import Modifier1, encode_packet, parse_header, parse_vars

__all__ = [
    "MAX_NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "Node",
    "Subscription",
    "SubscriptionTable",
    "encode_subscription",
    "parse_subscription",
]

SUBSCRIBE = 0
UNSUBSCRIBE = 1
MAX_NAME = 0xFF  # uWSGI refuses keys and addresses longer than 255 bytes
MAX_NOTIFY = 101  # uWSGI keeps a notify path shorter than 102 bytes (it must fit sun_path)


@dataclass(frozen=True)
class Subscription:
    """One announce (or withdrawal) as it travels in a datagram."""

    key: str
    address: str
    modifier1: int = 0
    modifier2: int = 0
    cores: int = 0
    load: int = 0
    weight: int = 1
    unsubscribe: bool = False
    notify: str = ""  # unix datagram path that wants "[subscription ack]" datagrams


def encode_subscription(sub: Subscription) -> bytes:
    """The datagram for ``sub`` (ValueError on an empty or over-long key or address)."""
    if not sub.key or not sub.address:
        raise ValueError("a subscription needs a key and an address")
    if len(sub.key.encode("latin-1")) > MAX_NAME or len(sub.address.encode("latin-1")) > MAX_NAME:
        raise ValueError("subscription key and address are limited to 255 bytes")
    pairs: tuple[tuple[str, str], ...] = (("key", sub.key), ("address", sub.address), ("modifier1", str(sub.modifier1)),
             ("modifier2", str(sub.modifier2)), ("cores", str(sub.cores)), ("load", str(sub.load)),
             ("weight", str(sub.weight)))
    if sub.notify:
        pairs += (("notify", sub.notify),)
    return encode_packet(pairs, Modifier1.SUBSCRIPTION, UNSUBSCRIBE if sub.unsubscribe else SUBSCRIBE)


def _num(value: str | None, top: int) -> int:
    try:
        n = int(value or 0)
    except ValueError:
        return 0
    return n if 0 <= n <= top else 0


def parse_subscription(datagram: bytes) -> Subscription:
    """Decode one datagram; ProtocolError when it is not a well-formed subscription."""
    m1, size, m2 = parse_header(datagram)
    if m1 != Modifier1.SUBSCRIPTION:
        raise ProtocolError(f"not a subscription packet (modifier1 {m1})")
    if 4 + size > len(datagram):
        raise ProtocolError("truncated subscription packet")
    got = parse_vars(memoryview(datagram)[4:4 + size])
    key, address = got.get("key", ""), got.get("address", "")
    if not key or not address:
        raise ProtocolError("subscription packet without key or address")
    if len(key) > MAX_NAME or len(address) > MAX_NAME:
        raise ProtocolError("subscription key or address longer than 255 bytes")
    notify = got.get("notify", "")
    return Subscription(key=key, address=address, modifier1=_num(got.get("modifier1"), 255),
                        modifier2=_num(got.get("modifier2"), 255), cores=_num(got.get("cores"), 1 << 62),
                        load=_num(got.get("load"), 1 << 62), weight=_num(got.get("weight"), 1 << 31) or 1,
                        unsubscribe=m2 == UNSUBSCRIBE, notify=notify if 0 < len(notify) <= MAX_NOTIFY else "")


@dataclass(eq=False)
class Node:
    """One subscribed address for one key."""

    key: str
    address: str
    modifier1: int = 0
    modifier2: int = 0
    weight: int = 1
    cores: int = 0
    load: int = 0
    subscribed: float = 0.0
    last_seen: float = 0.0
    failed: bool = False  # a connection to it failed: skipped until its next announce
    notify: str = ""  # where the node wants its acknowledgement datagrams
    current: int = field(default=0, repr=False)  # smooth weighted round robin state
    requests: int = 0
    failures: int = 0

    def stats(self) -> dict[str, object]:
        return {"name": self.address, "modifier1": self.modifier1, "modifier2": self.modifier2,
                "weight": self.weight, "cores": self.cores, "load": self.load, "requests": self.requests,
                "failcnt": self.failures, "death_mark": int(self.failed), "last_check": self.last_seen}


class SubscriptionTable:
    """Nodes by key. ``now`` is any monotonic clock in seconds; every method that may log returns
    its log lines instead (sans-IO: the caller writes them)."""

    def __init__(self, tolerance: float = 17.0) -> None:
        self.tolerance = float(tolerance)
        self.pools: dict[str, list[Node]] = {}
        self.acks: list[tuple[str, str]] = []  # (notify path, message) waiting to be sent

    def pop_acks(self) -> list[tuple[str, str]]:
        """The acknowledgements :meth:`update` queued (the caller sends them) -- and forget them."""
        acks, self.acks = self.acks, []
        return acks

    def __len__(self) -> int:
        return sum(len(nodes) for nodes in self.pools.values())

    def update(self, sub: Subscription, now: float) -> list[str]:
        """Apply one announce or withdrawal."""
        nodes = self.pools.get(sub.key)
        node = next((n for n in nodes or () if n.address == sub.address), None)
        if sub.unsubscribe:
            if node is None:
                return []
            assert nodes is not None
            nodes.remove(node)
            if not nodes:
                del self.pools[sub.key]
            return [f"[subscription] {sub.key} => removing node {sub.address} (unsubscribed)"]
        if node is not None:
            revived = node.failed
            node.failed = False
            node.last_seen = now
            node.weight, node.cores, node.load = max(1, sub.weight), sub.cores, sub.load
            node.modifier1, node.modifier2 = sub.modifier1, sub.modifier2
            node.notify = sub.notify
            return [f"[subscription] {sub.key} => node {sub.address} is back"] if revived else []
        lines = []
        if nodes is None:
            nodes = self.pools[sub.key] = []
            lines.append(f"[subscription] new pool: {sub.key}")
        nodes.append(Node(sub.key, sub.address, sub.modifier1, sub.modifier2, max(1, sub.weight), sub.cores,
                          sub.load, subscribed=now, last_seen=now, notify=sub.notify))
        lines.append(f"[subscription] {sub.key} => new node: {sub.address}")
        if sub.notify:
            self.acks.append((sub.notify, f"[subscription ack] {sub.key} => new node: {sub.address}"))
        return lines

    def expire(self, now: float) -> list[str]:
        """Drop every node not announced within ``tolerance`` seconds."""
        lines = []
        for key in list(self.pools):
            nodes = self.pools[key]
            for node in [n for n in nodes if now - n.last_seen > self.tolerance]:
                nodes.remove(node)
                lines.append(f"[subscription] {key} => removing node {node.address} "
                             f"(no announce received in {self.tolerance:g} seconds)")
            if not nodes:
                del self.pools[key]
        return lines

    def choose(self, key: str, now: float, exclude: Iterable[Node] = ()) -> Node | None:
        """The next node for ``key`` (smooth weighted round robin over the live ones), or None."""
        nodes = self.pools.get(key)
        if not nodes:
            return None
        skip = set(map(id, exclude))
        live = [n for n in nodes if not n.failed and id(n) not in skip and now - n.last_seen <= self.tolerance]
        if not live:
            return None
        total = 0
        best = live[0]
        for node in live:
            node.current += node.weight
            total += node.weight
            if node.current > best.current:
                best = node
        best.current -= total
        best.requests += 1
        return best

    def failed(self, node: Node) -> str:
        """A connection to ``node`` failed: skip it until it announces itself again."""
        node.failed = True
        node.failures += 1
        return f"[subscription] {node.key} => marking {node.address} as failed"

    def stats(self) -> list[dict[str, object]]:
        return [{"key": key, "nodes": [n.stats() for n in nodes]} for key, nodes in self.pools.items()]
