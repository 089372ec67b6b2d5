"""Test harness: run satrap's fastrouter alone, as ``python -m satrap.fastrouter`` does.

usage: python run_fastrouter.py [satrap options...]   (binds every --fastrouter address)
"""

from __future__ import annotations

import sys

from satrap.fastrouter.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
