"""uWSGI internal routing (``route*``, ``add-header``): placeholder until implemented."""

from __future__ import annotations

from typing import Any, Callable


def routing_layer(cfg: Any, app: Callable[..., Any]) -> Callable[..., Any]:
    return app
