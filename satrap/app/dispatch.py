"""Choose which mounted app answers a request, the way uWSGI's ``mount`` does.

uWSGI keeps a table of apps keyed by *mountpoint* (``mount = /blog=blog.py`` puts ``blog.py`` at
``/blog``; ``module``/``wsgi-file`` apps sit at ``""``). For each request it picks one
(``core/protocol.c`` ``uwsgi_get_app_id`` and the ``manage-script-name`` block before it):

1. With ``manage-script-name``: the longest mountpoint that is a prefix of ``PATH_INFO`` *on a path
   segment boundary* (``/app`` matches ``/app`` and ``/app/x``, never ``/apple``). That prefix becomes
   ``SCRIPT_NAME`` and is cut from ``PATH_INFO``. The root mount never matches here (it is length 0).
2. Otherwise (or when nothing matched): the mountpoint equal to ``UWSGI_APPID`` or ``SCRIPT_NAME``
   from the request vars (nginx ``uwsgi_param SCRIPT_NAME /app;``). ``PATH_INFO`` is left alone, as
   uWSGI does without ``uwsgi_modifier1 30``.
3. Otherwise the *default app*: the one mounted at ``""`` or ``"/"``.
4. Otherwise uWSGI answers ``500`` and logs "no python application found"; so does satrap.

Invariants: the dispatcher is built once; per request it does at most one dict lookup and one
``startswith`` per mounted prefix, longest first, so it stays cheap with dozens of mounts.
Mountpoints are normalised without a trailing slash (``/app/`` ≡ ``/app``; ``/`` ≡ ``""``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

WSGIApp = Callable[..., Iterable[bytes]]

log = logging.getLogger("satrap.app")

#: what a request gets when no mounted app matches it (uWSGI: 500 + "no python application found")
NO_APP_STATUS = "500 Internal Server Error"
NO_APP_BODY = b"Internal Server Error: no application is mounted for this URL\n"


def normalize_mountpoint(mountpoint: str) -> str:
    """``/app/`` and ``/app`` are the same mount, and ``/`` is the root (``""``), as in uWSGI
    which ignores one trailing slash of a mountpoint when matching."""
    return mountpoint.removesuffix("/")


def no_application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The answer when no app is loaded or mounted for a URL: what uWSGI does in "full dynamic
    mode" (500, text/plain), so monitoring sees the same thing after the switch."""
    log.error("--- no application found for SCRIPT_NAME=%r PATH_INFO=%r ---",
              environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""))
    start_response(NO_APP_STATUS, [("Content-Type", "text/plain"),
                                   ("Content-Length", str(len(NO_APP_BODY)))])
    return [NO_APP_BODY]


class MountDispatcher:
    """A WSGI app that forwards each request to one of several mounted apps (see module doc)."""

    __slots__ = ("mounts", "manage_script_name", "_prefixes", "_exact", "_default")

    def __init__(self, mounts: Sequence[tuple[str, WSGIApp]], manage_script_name: bool) -> None:
        #: the (normalised mountpoint, app) pairs in load order, for banners and tests
        self.mounts: tuple[tuple[str, WSGIApp], ...] = tuple(
            (normalize_mountpoint(mp), app) for mp, app in mounts)
        self.manage_script_name = manage_script_name
        exact: dict[str, WSGIApp] = {}
        for mountpoint, app in self.mounts:
            exact.setdefault(mountpoint, app)  # first one wins, as in uWSGI
        self._exact = exact
        self._default: WSGIApp | None = exact.get("")
        # longest first, so the first hit is the best one
        self._prefixes: tuple[tuple[str, WSGIApp], ...] = tuple(sorted(
            ((mp, app) for mp, app in exact.items() if mp), key=lambda item: -len(item[0])))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.manage_script_name and not environ.get("UWSGI_APPID"):
            path = environ.get("PATH_INFO", "")
            if len(path) > 1:
                for prefix, app in self._prefixes:
                    if path.startswith(prefix):
                        cut = len(prefix)
                        if len(path) == cut or path[cut] == "/":
                            environ["SCRIPT_NAME"] = prefix
                            environ["PATH_INFO"] = path[cut:]
                            return app(environ, start_response)
        key = environ.get("UWSGI_APPID") or environ.get("SCRIPT_NAME")
        chosen = self._exact.get(normalize_mountpoint(key)) if key else None
        if chosen is None:
            chosen = self._default
        if chosen is None:
            return no_application(environ, start_response)
        return chosen(environ, start_response)
