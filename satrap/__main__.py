"""``python -m satrap`` is the same as the ``satrap`` console script."""

from satrap.cli import main

raise SystemExit(main())
