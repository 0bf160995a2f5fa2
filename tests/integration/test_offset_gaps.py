"""Skipped offsets: the group's committed offset jumps past deliveries nobody processed.

This is what Faust did on the embedded broker (it took a jump in fetched offsets for a
compaction hole and committed over ~4,500 unprocessed offsets). The test makes the same gap by
committing the worker group's raw-topic offsets to the end while the worker is down; the worker
must find the hole in its absorbed offsets, re-read it, and end equal to the report.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from compare import gauges, record, report_text
from scenario import EVENT_CLOCK_CONFIG, item_history, post_generic
from stackkit import Stack, wait_until

from flowgauge.exposition import FLOW_FAMILIES
from flowgauge.report import samples
from flowgauge.stream.tansu_workarounds import fetch_highwaters

FLOW_GAUGES = [f.name for f in FLOW_FAMILIES]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def commit_to_end(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """Commit the group's offsets of `topic` to each partition's end; return the total end."""
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    ends = await fetch_highwaters(bootstrap, tps)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.commit({tp: OffsetAndMetadata(ends[tp], "") for tp in tps})
    finally:
        await consumer.stop()
    return sum(ends.values())


def test_a_committed_gap_is_found_and_reread(stack: Stack, tmp_path: Path) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(EVENT_CLOCK_CONFIG)
    stack.config = config
    rng = random.Random(5)
    events = item_history(rng, 120)
    recorded = record(events, tmp_path / "events.jsonl")
    first, second = events[: len(events) // 2], events[len(events) // 2 :]

    stack.start_ingester()
    stack.start_worker()
    for start in range(0, len(first), 40):
        assert post_generic(stack.ingest_url, stack.secret, first[start : start + 40])[0] == 202
    wait_until(
        lambda: (
            f'flowgauge_events_total{{outcome="applied"}} {float(len(first))}' in stack.metrics()
        ),
        60,
        what="the first half applied",
    )
    stack.stop("worker")

    for start in range(0, len(second), 40):
        assert post_generic(stack.ingest_url, stack.secret, second[start : start + 40])[0] == 202
    asyncio.run(commit_to_end(stack.broker.bootstrap, stack.prefix, f"{stack.prefix}-raw", 4))

    stack.start_worker()
    expected = gauges(report_text(config, recorded), FLOW_GAUGES)
    wait_until(
        lambda: gauges(stack.metrics(), FLOW_GAUGES) == expected,
        90,
        interval=1.0,
        what="gauges equal to the report after the gap is re-read",
    )
    reread = [
        v
        for n, labels, v in samples(stack.metrics())
        if n == "flowgauge_reread_messages_total" and labels == (("role", "raw"),)
    ]
    assert reread and reread[0] > 0, "the fix came from re-reading the gap"
