"""Two workers share the partitions; one dies; the survivor takes its partitions.

While both run, each exposes only the partitions it holds, so the PromQL the boards use
(`sum by (stream, stage)`) over both equals the report. After one is killed, the survivor
alone equals the report, and the dead one's series are gone with it.
"""

from __future__ import annotations

import math
import random
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from compare import record, report_text
from scenario import EVENT_CLOCK_CONFIG, item_history, post_generic, shuffled_with_duplicates
from stackkit import Stack, wait_until

from flowgauge.report import samples

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Counts and sums add up across workers whatever each worker's `now` is, as long as the window
# holds everything: a ten-year window, no SLE (breaches depend on `now`).
LONG_WINDOW = EVENT_CLOCK_CONFIG.replace("window: 30d", "window: 3650d").replace(
    "    sle: 5d\n", ""
)
SUMMABLE = (
    "flowgauge_wip_items",
    "flowgauge_blocked_items",
    "flowgauge_throughput_items",
    "flowgauge_stage_seconds",
)


Key = tuple[str, tuple[tuple[str, str], ...]]


def summed(texts: list[str]) -> dict[Key, float]:
    """`sum by (all labels)` of the summable families over the workers' scrapes."""
    total: dict[Key, float] = defaultdict(float)
    for text in texts:
        for name, labels, value in samples(text):
            if name in SUMMABLE:
                total[(name, labels)] += value
    return dict(total)


def differences(got: dict[Key, float], want: dict[Key, float]) -> list[tuple[Key, Any, float]]:
    """Samples that differ; sums of floats from two workers compare to 1e-9 relative."""
    out = [
        (k, got.get(k), v)
        for k, v in want.items()
        if got.get(k) is None or not math.isclose(got[k], v, rel_tol=1e-9, abs_tol=1e-6)
    ]
    return out + [(k, v, float("nan")) for k, v in got.items() if k not in want]


def test_two_workers_sum_to_the_report_and_the_survivor_takes_over(
    stack: Stack, tmp_path: Path
) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(LONG_WINDOW)
    stack.config = config
    rng = random.Random(77)
    events = item_history(rng, 200)
    recorded = record(events, tmp_path / "events.jsonl")
    expected = summed([report_text(config, recorded)])

    stack.start_ingester()
    stack.start_worker("w1")
    stack.start_worker("w2")
    delivered = shuffled_with_duplicates(rng, events, dup_share=0.1)
    for start in range(0, len(delivered), 50):
        status, body = post_generic(stack.ingest_url, stack.secret, delivered[start : start + 50])
        assert status == 202, body

    def both_equal() -> bool | str:
        texts = [stack.metrics("w1"), stack.metrics("w2")]
        shares = [sum(v for (n, _), v in summed([t]).items() if n == SUMMABLE[0]) for t in texts]
        total = summed(texts)
        diff = differences(total, expected)
        if not diff and all(s > 0 for s in shares):
            return True
        return f"shares {shares}; differs: {diff[:6]}"

    seen: list[bool | str] = []

    def check() -> bool:
        seen.append(both_equal())
        return seen[-1] is True

    try:
        wait_until(check, 120, interval=1.0, what="w1 + w2 equal to the report, both holding")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {seen[-1]}") from None

    stack.stop("w2", sig=signal.SIGKILL)
    wait_until(
        lambda: not differences(summed([stack.metrics("w1")]), expected),
        120,
        1.0,
        what="the survivor alone equal to the report",
    )
