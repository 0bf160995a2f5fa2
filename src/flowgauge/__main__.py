"""`python -m flowgauge`: the same as the `flowgauge` console script."""

import sys

from flowgauge.cli import main

sys.exit(main())
