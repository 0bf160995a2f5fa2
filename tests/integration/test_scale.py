"""Exact at any scale: three workers, every series from exactly one of them, summing to the report.

Three workers and an ingester on one broker; a shuffled, duplicated history of flow (four
streams) and DORA events; one worker kill -9'd mid-stream and restarted. Then no flow, DORA or
forecast series is exposed by two workers, and the sum over the workers' `/metrics` of every
series equals `flowgauge report --format prom` over the same events, sample for sample
(quantiles included: the stream stage holds a stream whole, docs/architecture.md).
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from compare import Sample, difference, gauges, record, report_text
from scenario import (
    STREAMS,
    dora_history,
    item_history,
    post_generic,
    several_streams,
    shuffled_with_duplicates,
    spread,
)
from stackkit import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKERS = ("w1", "w2", "w3")


def history(rng: random.Random) -> list[dict[str, Any]]:
    """Items spread over the streams (by their explicit `stream`), and DORA events."""
    items = item_history(rng, 240)
    spread(items)
    return items + dora_history(rng, 40)


def owners(texts: Iterable[tuple[str, str]]) -> tuple[list[Sample], dict[Any, list[str]]]:
    """All workers' flow/DORA/forecast samples, and the series shown by more than one worker."""
    shown: defaultdict[tuple[Any, ...], list[str]] = defaultdict(list)
    summed: defaultdict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
    for worker, text in texts:
        for name, labels, value in gauges(text):
            shown[(name, labels)].append(worker)
            summed[(name, labels)] += value
    twice = {series: who for series, who in shown.items() if len(who) > 1}
    return sorted((n, ls, v) for (n, ls), v in summed.items()), twice


def feed(
    stack: Stack, events: list[dict[str, Any]], half: threading.Event, done: threading.Event
) -> None:
    try:
        for start in range(0, len(events), 25):
            status, body = post_generic(stack.ingest_url, stack.secret, events[start : start + 25])
            assert status == 202, body
            if start >= len(events) // 2:
                half.set()
            time.sleep(0.02)
    finally:
        half.set()
        done.set()


def test_three_workers_each_series_once_and_summing_to_the_report(
    stack: Stack, tmp_path: Path
) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(several_streams())
    stack.config = config
    rng = random.Random(16)
    events = history(rng)
    recorded = record(events, tmp_path / "events.jsonl")
    expected = gauges(report_text(config, recorded))
    assert {ls for n, ls, _ in expected if n == "flowgauge_forecast_items"}, "forecasts shown"

    stack.start_ingester()
    for name in WORKERS:
        stack.start_worker(name)
    delivered = shuffled_with_duplicates(rng, events, dup_share=0.15)
    half, done = threading.Event(), threading.Event()
    feeder = threading.Thread(target=feed, args=(stack, delivered, half, done), daemon=True)
    feeder.start()
    assert half.wait(120), "the feed did not get half way"
    assert not done.is_set()
    stack.stop("w2", sig=signal.SIGKILL)  # mid-stream
    stack.start_worker("w2")
    feeder.join(300)
    assert done.is_set() and not feeder.is_alive(), "the feed did not finish"

    seen: list[str] = []

    def exact() -> bool:
        total, twice = owners((name, stack.metrics(name)) for name in WORKERS)
        if twice:
            seen.append(f"shown twice: {list(twice.items())[:4]}")
            return False
        seen.append(difference(expected, total))
        return total == expected

    try:
        wait_until(exact, 180, interval=1.0, what="the workers' sum equal to the report")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {seen[-1] if seen else ''}") from None
    streams_by_worker = {
        name: {
            dict(ls)["stream"]
            for n, ls, _ in gauges(stack.metrics(name))
            if n == "flowgauge_wip_items"
        }
        for name in WORKERS
    }
    assert set().union(*streams_by_worker.values()) == set(STREAMS), streams_by_worker
    assert sum(1 for shown in streams_by_worker.values() if shown) >= 2, streams_by_worker
