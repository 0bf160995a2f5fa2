"""Rewrite flowgauge's Grafana dashboards, `grafana/dashboards/*.json`, from code.

`python grafana/generate.py` rewrites them; `python grafana/generate.py --check` exits 1 when the
committed JSON differs from a fresh build (tests/unit/test_deploy_files.py does the same). The
boards are the `flowgauge_boards` package beside this script; docs/dashboards.md explains them.
"""

from __future__ import annotations

import sys

from flowgauge_boards.build import main

if __name__ == "__main__":
    sys.exit(main())
