"""Router knobs, read once from the Config so the per-request path touches plain attributes."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Any

from satrap.protocol.http11 import Limits

# Bodies up to this size are held in memory; chunked bodies beyond it spill to a temp file and
# Content-Length bodies beyond it are streamed to the worker (uWSGI post-buffering semantics).
DEFAULT_BODY_BUFFER = 1 << 20
# The worker's response head (the app's headers) may be bigger than a request head.
MAX_RESPONSE_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class RouterSettings:
    """Everything the router needs to know, in the units it uses (seconds, bytes)."""

    limits: Limits
    header_timeout: float  # a request head (or a body read) must arrive within this
    idle_timeout: float  # an idle keep-alive connection is closed after this
    upstream_timeout: float  # the worker must answer (and keep sending) within this → 504
    body_buffer: int
    max_connections: int
    stop_mercy: float  # graceful stop: in-flight requests get this long
    modifier1: int = 0  # http-modifier1: in every uwsgi packet sent to the workers (9 = CGI)
    modifier2: int = 0  # http-modifier2: likewise (satrap's workers ignore it)

    @classmethod
    def from_config(cls, cfg: Any) -> RouterSettings:
        timeout = float(getattr(cfg, "http_timeout", 60) or 60)
        keepalive = float(getattr(cfg, "http_keepalive", 0) or 0)
        post_buffering = int(getattr(cfg, "post_buffering", 0) or 0)
        return cls(
            limits=Limits(max_head=int(getattr(cfg, "buffer_size", 4096) or 4096),
                          limit_post=int(getattr(cfg, "limit_post", 0) or 0)),
            header_timeout=timeout,
            idle_timeout=keepalive if keepalive > 0 else timeout,
            upstream_timeout=timeout,
            body_buffer=max(post_buffering, DEFAULT_BODY_BUFFER),
            max_connections=connection_cap(getattr(cfg, "max_fd", None)),
            stop_mercy=float(getattr(cfg, "worker_reload_mercy", 60) or 60),
            modifier1=int(getattr(cfg, "http_modifier1", 0) or 0),
            modifier2=int(getattr(cfg, "http_modifier2", 0) or 0),
        )


def connection_cap(max_fd: Any = None) -> int:
    """Client connections the router holds at once. Each in-flight request needs a second fd
    (its upstream socket), so the cap is half the fd limit less a reserve; past it the router
    stops accepting and new clients wait in the kernel's listen backlog instead of failing
    with EMFILE. ``max-fd`` (when set) raises the soft limit first, as in uWSGI."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if max_fd:
        want = int(max_fd)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(16, min((soft - 64) // 2, 50_000))
