"""The ``--http`` router: one asyncio process between HTTP clients and the workers.

Why a separate process (uWSGI's "http 1"): sync workers must never wait on a slow client. The
router reads a whole request head (and buffers the body) with non-blocking I/O, and only then
opens a NEW uwsgi-protocol connection to the workers' internal socket for that one request. The
kernel hands that connection to a worker blocked in ``accept``/epoll, so only free workers take
requests, and a client that dribbles bytes (slowloris) costs the router one socket and nothing
else. The response is streamed back with HTTP/1.1 framing so clients keep their connection.

Modules:

* :mod:`satrap.router.settings` - the knobs, read once from the Config;
* :mod:`satrap.router.upstream` - the worker side: address, connect, vars, response head;
* :mod:`satrap.router.proxy` - one client connection, a callback state machine on raw sockets
  (keep-alive, pipelining, bodies, errors);
* :mod:`satrap.router.server` - accept loop, connection cap, timeout sweeper, graceful stop;
* :mod:`satrap.router.process` - :func:`run_router`, the body of the router process.
"""

from __future__ import annotations
