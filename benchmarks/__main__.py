"""`python -m benchmarks` (also `make bench`)."""

import sys

from benchmarks.runner import main

sys.exit(main())
