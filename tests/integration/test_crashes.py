"""Nothing lost, nothing counted twice: the worker killed and restarted while events stream in.

The final `/metrics` must equal `flowgauge report --format prom` over the same events, sample for
sample. Timelines are absolute per-item values that ignore events they already hold, so the
replays after a crash are no-ops and a lost table write heals on recovery from the changelog.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from compare import gauges, record, report_text
from scenario import (
    EVENT_CLOCK_CONFIG,
    dora_history,
    item_history,
    post_generic,
    shuffled_with_duplicates,
)
from stackkit import Stack, missing, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _feed(stack: Stack, events: list[dict[str, Any]], done: threading.Event) -> None:
    try:
        for start in range(0, len(events), 20):
            status, body = post_generic(stack.ingest_url, stack.secret, events[start : start + 20])
            assert status == 202, body
            time.sleep(0.02)
    finally:
        done.set()


def _scenario(tmp_path: Path, seed: int, items: int) -> tuple[Path, Path, list[Any]]:
    config = tmp_path / "flow.yaml"
    config.write_text(EVENT_CLOCK_CONFIG)
    rng = random.Random(seed)
    events = item_history(rng, items) + dora_history(rng, 30)
    recorded = record(events, tmp_path / "events.jsonl")
    return config, recorded, shuffled_with_duplicates(rng, events, dup_share=0.10)


def _restart_while_streaming(stack: Stack, delivered: list[Any], sig: int, kills: int) -> None:
    done = threading.Event()
    feeder = threading.Thread(target=_feed, args=(stack, delivered, done), daemon=True)
    feeder.start()
    rng = random.Random(sig)
    for _ in range(kills):
        time.sleep(rng.uniform(1.0, 3.0))
        stack.stop("worker", sig=sig)
        stack.start_worker()
    feeder.join(300)
    assert done.is_set() and not feeder.is_alive(), "the feed did not finish"


@pytest.mark.parametrize(
    ("sig", "store", "guarantee"),
    [
        (signal.SIGKILL, "memory", "at_least_once"),
        (signal.SIGTERM, "memory", "at_least_once"),
        (signal.SIGKILL, "rocksdb", "at_least_once"),
        (signal.SIGKILL, "memory", "exactly_once"),
    ],
    ids=["kill-9", "sigterm", "kill-9-rocksdb", "kill-9-exactly-once"],
)
def test_worker_restarts_while_streaming_equal_the_report(
    stack: Stack, tmp_path: Path, sig: int, store: str, guarantee: str
) -> None:
    """With rocksdb the table survives in DATA_DIR and only the changelog's tail is replayed.
    exactly_once is Faust's transactional mode, measured here for docs/reliability.md; the
    embedded broker cannot run it (InitProducerId, ../shared/notes/faust-on-tansu.md)."""
    if guarantee == "exactly_once" and stack.broker.embedded:
        missing("the session broker is the embedded one, which has no working transactions")
    config, recorded, delivered = _scenario(tmp_path, seed=int(sig), items=250)
    stack.config = config
    stack.store = store
    stack.settings["FLOWGAUGE_PROCESSING_GUARANTEE"] = guarantee
    stack.start_ingester()
    stack.start_worker()
    _restart_while_streaming(stack, delivered, sig, kills=4)
    expected = gauges(report_text(config, recorded))

    def converged() -> bool:
        return gauges(stack.metrics()) == expected

    wait_until(converged, 120, interval=1.0, what="worker gauges equal to the report")
