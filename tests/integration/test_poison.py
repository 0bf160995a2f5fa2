"""Poison input never stalls a partition; a changed state mapping applies to stored history.

Bad records on the raw topic (not a delivery, an unknown source, a body that is not a payload of
its source: records of format 1, which the worker normalizes; a format-2 record whose events are
not canonical) go to the dead-letter topic with their reason, and the events behind them on the
same partition are still applied. A config that maps a state to another stage applies to the
whole stored history on the next start: timelines keep the tools' state names, and the stage
mapping is applied when the processor is rebuilt.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from compare import record, report_text
from scenario import EVENT_CLOCK_CONFIG, post_generic
from stackkit import Stack, wait_until

from flowgauge.model.deadletter import DeadLetter
from flowgauge.model.delivery import Delivery
from flowgauge.report import samples

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def produce_raw(bootstrap: str, topic: str, records: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for record in records:  # all on partition 0, ahead of the good event below
            await producer.send_and_wait(topic, key=b"poison", value=record, partition=0)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, want: int, timeout: float = 30) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[DeadLetter] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < want and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            out.extend(DeadLetter.from_bytes(m.value) for ms in batch.values() for m in ms)
    finally:
        await consumer.stop()
    return out


def wip(text: str, stage: str, stream: str = "delivery") -> float | None:
    wanted = (("stage", stage), ("stream", stream))
    return next(
        (v for n, ls, v in samples(text) if n == "flowgauge_wip_items" and ls == wanted), None
    )


def test_poison_goes_to_the_dead_letter_topic_and_the_partition_keeps_moving(
    stack: Stack, tmp_path: Path
) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(EVENT_CLOCK_CONFIG)
    stack.config = config
    stack.start_ingester()
    stack.start_worker()
    bad_body = orjson.dumps(
        {"id": "1", "type": "teleported", "item": "X", "at": "2026-11-01T00:00:00Z"}
    ).decode()
    poison = [
        b"\xff not a delivery record",
        Delivery("nosuch", {}, "{}", "", "p1").to_bytes(),
        Delivery("generic", {}, bad_body, "", "p2").to_bytes(),
        Delivery("generic", {}, "{not json", "", "p3").to_bytes(),
        orjson.dumps(
            {"source": "generic", "headers": {}, "body": "[]", "delivery_id": "p4", "v": 2}
            | {"events": [{"id": "e", "type": "teleported", "item": "X"}]}
        ),
    ]
    asyncio.run(produce_raw(stack.broker.bootstrap, f"{stack.prefix}-raw", poison))
    good = [
        {
            "id": f"g{i}",
            "type": "created",
            "item": f"G{i}",
            "state": "In Progress",
            "at": "2026-11-02T00:00:00Z",
        }
        for i in range(20)
    ]  # some land on partition 0
    assert post_generic(stack.ingest_url, stack.secret, good)[0] == 202
    wait_until(
        lambda: wip(stack.metrics(), "development") == 20.0,
        60,
        what="the good events applied behind the poison",
    )
    dead = asyncio.run(read_all(stack.broker.bootstrap, f"{stack.prefix}-deadletter", 5))
    reasons = sorted(d.reason for d in dead)
    assert len(reasons) == 5, reasons
    assert sum("bad delivery record" in r for r in reasons) == 2
    assert any("unknown source 'nosuch'" in r for r in reasons)
    assert any("type must be one of" in r for r in reasons)
    assert any("not JSON" in r for r in reasons)


def items_in_testing(stack: Stack, tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    """Start the stack on EVENT_CLOCK_CONFIG (returned, to be rewritten) with `events` (all
    moving items to QA) applied: as many items in the testing stage."""
    config = tmp_path / "flow.yaml"
    config.write_text(EVENT_CLOCK_CONFIG)
    stack.config = config
    stack.start_ingester()
    stack.start_worker()
    assert post_generic(stack.ingest_url, stack.secret, events)[0] == 202
    count = float(len(events))
    wait_until(lambda: wip(stack.metrics(), "testing") == count, 60, what="items in testing")
    return config


def test_a_changed_state_mapping_applies_to_the_stored_history(
    stack: Stack, tmp_path: Path
) -> None:
    events = [
        {
            "id": f"e{i}",
            "type": "state",
            "item": f"I{i}",
            "state": "QA",
            "at": f"2026-11-0{1 + i % 5}T00:00:00Z",
        }
        for i in range(10)
    ]
    config = items_in_testing(stack, tmp_path, events)

    stack.stop("worker")
    remapped = EVENT_CLOCK_CONFIG.replace("states: [In Review]", "states: [In Review, QA]").replace(
        "states: [QA]", "states: [Testing]"
    )
    config.write_text(remapped)
    stack.start_worker()
    wait_until(lambda: wip(stack.metrics(), "review") == 10.0, 60, what="QA now mapped to review")
    recorded = record(events, tmp_path / "events.jsonl")
    assert wip(report_text(config, recorded), "review") == 10.0
    assert wip(stack.metrics(), "testing") == 0.0


def test_a_stream_dropped_from_the_config_leaves_its_stored_items_out(
    stack: Stack, tmp_path: Path
) -> None:
    """Renaming or removing a stream must not stop the worker: its stored items belong to no
    configured stream, so they count nowhere (and are logged once); the new stream starts empty
    and takes new events."""
    events = [
        {
            "id": f"o{i}",
            "type": "state",
            "item": f"O{i}",
            "state": "QA",
            "at": "2026-11-01T00:00:00Z",
        }
        for i in range(4)
    ]
    config = items_in_testing(stack, tmp_path, events)

    stack.stop("worker")
    config.write_text(EVENT_CLOCK_CONFIG.replace("name: delivery", "name: flow"))
    stack.start_worker()  # waits for /readyz: the rebuild met keys of a stream it does not know

    assert wip(stack.metrics(), "testing", "flow") == 0.0
    later = [
        {"id": "n1", "type": "state", "item": "N1", "state": "QA", "at": "2026-11-02T00:00:00Z"}
    ]
    assert post_generic(stack.ingest_url, stack.secret, later)[0] == 202
    wait_until(
        lambda: wip(stack.metrics(), "testing", "flow") == 1.0,
        60,
        what="the new stream takes new events",
    )
    assert "stored items of streams not in the config" in stack.log("worker")
