"""Two workers share the partitions; one dies; the survivor takes its partitions.

Every series comes from exactly one worker (the stream stage of the worker holding the stream's
facts partition, docs/architecture.md), so while both run, `sum by` over both equals the report
for every flow, DORA and forecast family, quantiles included. After one is killed, the survivor
alone equals the report, and the dead one's series are gone with it.
"""

from __future__ import annotations

import random
import signal
from collections import defaultdict
from pathlib import Path

import pytest
from compare import Sample, difference, gauges, record, report_text
from scenario import (
    dora_history,
    item_history,
    post_generic,
    several_streams,
    shuffled_with_duplicates,
    spread,
)
from stackkit import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Series = tuple[str, tuple[tuple[str, str], ...]]


def summed(texts: list[str]) -> tuple[list[Sample], list[Series]]:
    """`sum by (all labels)` over the workers' scrapes, and the series shown by two of them."""
    total: defaultdict[Series, float] = defaultdict(float)
    shown: defaultdict[Series, int] = defaultdict(int)
    for text in texts:
        for name, labels, value in gauges(text):
            total[(name, labels)] += value
            shown[(name, labels)] += 1
    twice = sorted(series for series, n in shown.items() if n > 1)
    return sorted((n, ls, v) for (n, ls), v in total.items()), twice


def test_two_workers_sum_to_the_report_and_the_survivor_takes_over(
    stack: Stack, tmp_path: Path
) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(several_streams())
    stack.config = config
    rng = random.Random(77)
    events = item_history(rng, 200)
    spread(events)
    events += dora_history(rng, 30)
    recorded = record(events, tmp_path / "events.jsonl")
    expected = gauges(report_text(config, recorded))

    stack.start_ingester()
    stack.start_worker("w1")
    stack.start_worker("w2")
    delivered = shuffled_with_duplicates(rng, events, dup_share=0.1)
    for start in range(0, len(delivered), 50):
        status, body = post_generic(stack.ingest_url, stack.secret, delivered[start : start + 50])
        assert status == 202, body

    seen: list[str] = []

    def both_exact() -> bool:
        texts = [stack.metrics("w1"), stack.metrics("w2")]
        total, twice = summed(texts)
        shares = [len(gauges(text)) for text in texts]
        if total == expected and not twice and all(shares):
            return True
        seen.append(f"shares {shares}; twice {twice[:4]}; {difference(expected, total)}")
        return False

    try:
        wait_until(both_exact, 120, interval=1.0, what="w1 + w2 equal to the report, both holding")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {seen[-1] if seen else ''}") from None

    stack.stop("w2", sig=signal.SIGKILL)
    last: list[Sample] = []

    def survivor_exact() -> bool:
        last[:] = gauges(stack.metrics("w1"))
        return last == expected

    try:
        wait_until(survivor_exact, 120, 1.0, what="the survivor alone equal to the report")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {difference(expected, last)}") from None
