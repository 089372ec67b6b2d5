"""Config loading: every source (env, argv, ini/yaml/json/xml) into one :class:`Config`."""

from __future__ import annotations

from .merge import load_config
from .model import Config

__all__ = ["Config", "load_config"]
