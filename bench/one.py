"""One benchmark of `bench.pipeline` on its own fresh embedded broker, its raw figures as JSON.

    python -m bench.one throughput ITEMS EVENTS_PER_ITEM [--profile] [--floors]
    python -m bench.one recovery ITEMS memory|rocksdb [KILLS]
    python -m bench.one freshness RATE SECONDS

For sizes `make bench` does not reach in its 15 minutes (e.g. recovery at 1,000,000 items) and
for checking one change without the whole run. Nothing is appended to docs/performance.md.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import pipeline
from bench.run import Broker


def main(argv: list[str]) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="flowgauge-bench-one-"))
    command, *args = argv
    with Broker(workdir) as bootstrap:
        if command == "throughput":
            items, per_item = int(args[0]), int(args[1])
            profile, floors = "--profile" in args, "--floors" in args
            return pipeline.throughput_run(
                bootstrap, workdir, items, per_item, 0, profile, floors=floors
            )
        if command == "recovery":
            kills = int(args[2]) if len(args) > 2 else 2
            return pipeline.recovery(bootstrap, workdir, int(args[0]), kills, args[1])
        if command == "freshness":
            return pipeline.freshness(bootstrap, workdir / "fresh", float(args[1]), int(args[0]))
    raise SystemExit(__doc__)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=1, default=str))
