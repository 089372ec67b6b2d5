"""``python -m satrap.fastrouter [satrap options...]``: the fastrouter on its own.

Loads the config as satrap does, binds every ``fastrouter`` address (uwsgi protocol) and runs
:func:`satrap.fastrouter.process.run_fastrouter`. For a supervisor that is not a master (the
Emperor, when its own config has ``fastrouter``) and for tests; it exits when its parent dies.
"""

from __future__ import annotations

import sys

from satrap.config import load_config
from satrap.errors import SatrapError
from satrap.fastrouter.process import run_fastrouter
from satrap.net.listeners import bind


def main(argv: list[str] | None = None) -> int:
    try:
        cfg = load_config(sys.argv[1:] if argv is None else argv)
        listeners = [bind(address, "uwsgi", cfg) for address in cfg.fastrouter]
    except SatrapError as err:
        print(f"satrap: {err}", file=sys.stderr)
        return 2
    for lst in listeners:
        lst.role = "fastrouter"
    return run_fastrouter(cfg, listeners, 1)


if __name__ == "__main__":
    sys.exit(main())
