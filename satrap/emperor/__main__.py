"""``python -m satrap.emperor --emperor DIR [options]``: run the Emperor without going through the
CLI (the CLI routes ``satrap --emperor`` to the same :func:`run_emperor`)."""

from __future__ import annotations

import os
import sys

from satrap.config import load_config
from satrap.emperor.emperor import run_emperor
from satrap.errors import SatrapError


def main(argv: list[str] | None = None) -> int:
    try:
        cfg = load_config(sys.argv[1:] if argv is None else argv, os.environ)
    except SatrapError as err:
        sys.stderr.write(f"satrap: {err}\n")
        return int(err.exit_code)
    if not cfg.emperor:
        sys.stderr.write("satrap: give --emperor DIR (or a glob) of vassal config files\n")
        return 2
    return run_emperor(cfg)


if __name__ == "__main__":
    raise SystemExit(main())
