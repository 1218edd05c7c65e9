"""``python -m ghl_async``: the ``ghl-async`` command line."""

import sys

from ghl_async.cli import main

if __name__ == "__main__":
    sys.exit(main())
