"""One benchmark of `bench.pipeline` on its own fresh broker, its raw figures as JSON.

    python -m bench.one throughput ITEMS EVENTS_PER_ITEM [--profile] [--floors] [--tansu]
                                   [--exactly-once] [--grouped] [--one-by-one]
                                   [--faust-as-shipped]
    python -m bench.one recovery ITEMS memory|rocksdb [KILLS] [--tansu]
    python -m bench.one freshness RATE SECONDS [--tansu] [--faust-as-shipped]
    python -m bench.one scrape ITEMS [--tansu]

Apache Kafka (scripts/kafka-up) unless `--tansu` asks for the embedded broker.

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
from bench.brokers import Broker


def main(argv: list[str]) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="flowgauge-bench-one-"))
    command, *args = [a for a in argv if not a.startswith("--")]
    with Broker(workdir, "tansu" if "--tansu" in argv else "kafka") as bootstrap:
        if command == "throughput":
            items, per_item = int(args[0]), int(args[1])
            profile, floors = "--profile" in argv, "--floors" in argv
            guarantee = "exactly_once" if "--exactly-once" in argv else "at_least_once"
            env = {"FLOWGAUGE_PROCESSING_GUARANTEE": guarantee}
            if "--one-by-one" in argv:  # agents without batches (stream/topology.py `batched`)
                env["FLOWGAUGE_BATCHES"] = "0"
            env.update(shipped(argv))
            return pipeline.throughput_run(
                bootstrap, workdir, items, per_item, 0, profile, env, floors, "--grouped" in argv
            )
        if command == "recovery":
            kills = int(args[2]) if len(args) > 2 else 2
            return pipeline.recovery(bootstrap, workdir, int(args[0]), kills, args[1])
        if command == "scrape":
            return pipeline.scrape_cost(bootstrap, workdir, int(args[0]))
        if command == "freshness":
            return pipeline.freshness(
                bootstrap, workdir / "fresh", float(args[1]), int(args[0]), shipped(argv)
            )
    raise SystemExit(__doc__)


def shipped(argv: list[str]) -> dict[str, str]:
    """`--faust-as-shipped`: the worker without stream/faust_patches.py."""
    return {"FLOWGAUGE_FAUST_PATCHES": "0"} if "--faust-as-shipped" in argv else {}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=1, default=str))
