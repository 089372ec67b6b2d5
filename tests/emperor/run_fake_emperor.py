"""Run the real Emperor with ``fake_vassal.py`` in place of ``python -m satrap`` (test helper)."""

from __future__ import annotations

import os
import sys

from satrap.config import load_config
from satrap.emperor.emperor import Emperor

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_vassal.py")

if __name__ == "__main__":
    cfg = load_config(sys.argv[1:], {})
    raise SystemExit(Emperor(cfg, command=(sys.executable, FAKE)).run())
