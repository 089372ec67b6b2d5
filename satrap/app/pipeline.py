"""The layers satrap puts around the user's app, in the order a request meets them.

uWSGI does these in C before the app is called (internal routing, static files, added
headers); satrap does them as plain WSGI layers built once at start-up, and only the layers the
config asks for: an app with none of these options is called directly, at no cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WSGIApp = Callable[..., Any]


def wrap(cfg: Any, app: WSGIApp | None) -> WSGIApp | None:
    """The app as the worker calls it."""
    if app is None:
        if cgi_configured(cfg):
            from satrap.app.cgi import build_cgi_gateway

            app = build_cgi_gateway(cfg)  # no WSGI app: the CGI gateway answers every request
        elif not getattr(cfg, "static_map", None) and not getattr(cfg, "static_map2", None):
            return None  # the worker answers 500 "no python application found" itself
        else:
            from satrap.app.dispatch import no_application

            app = no_application  # uWSGI serves static-map even without an app
    from satrap.config.model import category_given

    if category_given(cfg, "static"):
        from satrap.app.static import static_layer

        app = static_layer(cfg, app)  # static files are looked up before the app
    if category_given(cfg, "routing"):
        from satrap.routing import routing_layer

        app = routing_layer(cfg, app)  # route rules run first of all
    return app


def cgi_configured(cfg: Any) -> bool:
    """Whether the config asks for the CGI gateway at all (``cgi`` or ``cgi-from-docroot``). Kept
    here, not in ``app/cgi.py``: deciding must not import the gateway, since a module first
    imported in a worker after fork costs it private memory."""
    return bool(getattr(cfg, "cgi", None)) or bool(getattr(cfg, "cgi_from_docroot", False))


def wsgi_configured(cfg: Any) -> bool:
    """Whether the config names a WSGI app (the CGI gateway stands in for one when it does not)."""
    return bool(getattr(cfg, "module", None) or getattr(cfg, "wsgi_file", None) or getattr(cfg, "mount", None))


def modifier1_apps(cfg: Any, app: WSGIApp | None) -> dict[int, WSGIApp | None]:
    """uwsgi modifier1 -> the (wrapped) app that serves it, decided once per worker.

    0 and 30 are WSGI (30: SCRIPT_NAME is cut from PATH_INFO first). With ``cgi`` configured, 9 is
    the CGI gateway: ``app`` itself when no WSGI app is configured (then ``wrap`` made it the
    gateway), else a gateway of its own beside the app, as uWSGI's cgi plugin sits beside python.
    A modifier1 missing here is refused, as uWSGI refuses a plugin it has not loaded.
    """
    table: dict[int, WSGIApp | None] = {0: app, 30: app}
    if cgi_configured(cfg):
        from satrap.app.cgi import CGI_MODIFIER1, build_cgi_gateway

        table[CGI_MODIFIER1] = app if not wsgi_configured(cfg) else wrap(cfg, build_cgi_gateway(cfg))
    return table
