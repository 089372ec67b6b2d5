"""Write docs/options.md from the option table (run after changing satrap/options/catalog.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from satrap.options.help import format_markdown  # noqa: E402


def main() -> int:
    (ROOT / "docs" / "options.md").write_text(format_markdown(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
