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
        if not getattr(cfg, "static_map", None) and not getattr(cfg, "static_map2", None):
            return None  # the worker answers 500 "no python application found" itself
        from satrap.app.dispatch import no_application

        app = no_application  # uWSGI serves static-map even without an app
    app = static_layer(cfg, app)  # static files are looked up before the app
    app = routing_layer(cfg, app)  # route rules run first of all
    return app
