"""``static-map``: files served by satrap before the app (placeholder until implemented)."""

from __future__ import annotations

from typing import Any, Callable


def static_layer(cfg: Any, app: Callable[..., Any]) -> Callable[..., Any]:
    return app
