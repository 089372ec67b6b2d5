"""The layers satrap puts around the user's app, in the order a request meets them.

uWSGI does these in C before the app is called (internal routing, static files, added
headers); satrap does them as plain WSGI layers built once at start-up, and only the layers the
config asks for: an app with none of these options is called directly, at no cost.
"""

from __future__ import annotations

from typing import Any, Callable

WSGIApp = Callable[..., Any]


def wrap(cfg: Any, app: WSGIApp | None) -> WSGIApp | None:
    """The app as the worker calls it."""
    from satrap.app.static import static_layer
    from satrap.routing import routing_layer

    if app is None:
        from satrap.app.cgi import build_cgi_gateway, cgi_configured

        if cgi_configured(cfg):
            app = build_cgi_gateway(cfg)  # no WSGI app: the CGI gateway answers every request
        elif not getattr(cfg, "static_map", None) and not getattr(cfg, "static_map2", None):
            return None  # the worker answers 500 "no python application found" itself
        else:
            from satrap.app.dispatch import no_application

            app = no_application  # uWSGI serves static-map even without an app
    app = static_layer(cfg, app)  # static files are looked up before the app
    app = routing_layer(cfg, app)  # route rules run first of all
    return app


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
    if not (getattr(cfg, "cgi", None) or getattr(cfg, "cgi_from_docroot", False)):
        return table  # (no import of the gateway: a module imported after fork dirties pages)
    from satrap.app.cgi import CGI_MODIFIER1, build_cgi_gateway, cgi_configured

    if cgi_configured(cfg):
        table[CGI_MODIFIER1] = app if not wsgi_configured(cfg) else wrap(cfg, build_cgi_gateway(cfg))
    return table
