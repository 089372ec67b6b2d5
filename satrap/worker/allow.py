"""``uwsgi-allow``: which peers may talk the uwsgi protocol to this instance.

A uwsgi socket trusts its peer the way an app trusts nginx, so an operator may want to name the
peers. The list is parsed once per worker; the check costs one ``ip_address`` per connection,
and only on uwsgi sockets with a list.
"""

from __future__ import annotations

from typing import Any


def allow_list(entries: list[str]) -> tuple[Any, ...]:
    """``uwsgi-allow``: IPs or CIDRs (comma or space separated too), parsed once per worker."""
    import ipaddress

    from satrap.errors import ConfigError

    nets = []
    for entry in entries:
        for item in entry.replace(",", " ").split():
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ConfigError(f"uwsgi-allow = {item}: not an IP address or CIDR network") from None
    return tuple(nets)


def peer_allowed(allow: tuple[Any, ...], address: str) -> bool:
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in allow)
