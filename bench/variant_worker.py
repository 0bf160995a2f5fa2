"""`flowgauge worker` with one client setting changed, to measure a proposal (not product code).

`BENCH_FETCH_MAX_WAIT_MS=100 python -m bench.variant_worker` runs the worker with its Kafka
consumers' `fetch_max_wait_ms` overridden (Faust hard-codes 1,500 ms; Tansu answers a waiting
Fetch late, so this wait shows up in freshness).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import aiokafka

from flowgauge.cli import main


def _patch_fetch_wait(wait_ms: int) -> None:
    original = aiokafka.AIOKafkaConsumer.__init__

    def init(self: Any, *topics: Any, **kwargs: Any) -> None:
        kwargs["fetch_max_wait_ms"] = wait_ms
        original(self, *topics, **kwargs)

    aiokafka.AIOKafkaConsumer.__init__ = init  # type: ignore[method-assign]


if __name__ == "__main__":
    if os.environ.get("BENCH_FETCH_MAX_WAIT_MS"):
        _patch_fetch_wait(int(os.environ["BENCH_FETCH_MAX_WAIT_MS"]))
    sys.exit(main(sys.argv[1:] or ["worker"]))
