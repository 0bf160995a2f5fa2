"""Issue 7, "Broker outage": the ingester keeps answering 202 while the broker is away.

Each test runs its own embedded broker (memory storage) so it can be stopped without touching the
session broker. A restarted memory broker has lost its topics and everything on them, so the
assertion is what CONTRACT.md promises for the ingester: every delivery accepted while the
broker was away reaches the raw topic once the broker is back, in the order it was accepted (per
partition: Kafka orders nothing across partitions), and the spool empties.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from scenario import post_generic
from stackkit import Broker, Stack, free_port, http_get, wait_until

from flowgauge.model.delivery import Delivery
from flowgauge.report import samples
from flowgauge.stream.embedded_broker import EmbeddedBroker
from flowgauge.stream.offsets import REPAIR_KEY

pytestmark = [pytest.mark.integration, pytest.mark.slow]
OUTAGE_SECONDS = 60  # the figure


@pytest.fixture
def private(tmp_path: Path) -> Iterator[tuple[EmbeddedBroker, Stack]]:
    broker = EmbeddedBroker("127.0.0.1", free_port(), log_path=tmp_path / "tansu.log")
    broker.start()
    stack = Stack(broker=Broker(broker.bootstrap, embedded=True), workdir=tmp_path)
    try:
        yield broker, stack
    finally:
        stack.stop_all()
        broker.stop()


def event(n: int, tag: str) -> dict[str, Any]:
    return {"id": f"{tag}-{n}", "type": "created", "item": f"{tag}-{n}", "at": "2026-11-01T10:00Z"}


def accept(stack: Stack, n: int, tag: str) -> str:
    """Post one delivery; it must be accepted (202). Returns its delivery id."""
    status, body = post_generic(stack.ingest_url, stack.secret, [event(n, tag)])
    assert status == 202, body
    return str(body["delivery"])


def spool_gauges(stack: Stack) -> dict[str, float]:
    text = http_get(f"{stack.ingest_url}/metrics")[1].decode()
    return {n: v for n, _, v in samples(text) if n.startswith("flowgauge_spool_")}


def read_raw(bootstrap: str, topic: str, wanted: set[str], timeout: float) -> dict[int, list[str]]:
    """Delivery ids on the raw topic, per partition in offset order, once all `wanted` are seen.

    A worker that re-read a hole (`stream/gaps.py`) put copies and a marker after it: the copies
    are deliveries again, the marker is skipped.
    """

    async def read() -> dict[int, list[str]]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        seen: dict[int, list[str]] = {}
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for tp, messages in batches.items():
                    for m in messages:
                        if m.key == REPAIR_KEY:  # a worker's gap repair marker, not a delivery
                            continue
                        seen.setdefault(tp.partition, []).append(
                            Delivery.from_bytes(m.value).delivery_id
                        )
                if wanted <= {d for ids in seen.values() for d in ids}:
                    return seen
        finally:
            await consumer.stop()
        missing = wanted - {d for ids in seen.values() for d in ids}
        raise AssertionError(f"{len(missing)} accepted deliveries never reached {topic}")

    return asyncio.run(read())


def assert_in_order(accepted: list[str], on_topic: dict[int, list[str]]) -> None:
    """Each accepted delivery is on the topic, and per partition the first copies keep the
    acceptance order (a resend after an unconfirmed batch may add later duplicates)."""
    position = {d: i for i, d in enumerate(accepted)}
    for partition, ids in on_topic.items():
        firsts = list(dict.fromkeys(d for d in ids if d in position))
        assert firsts == sorted(firsts, key=position.__getitem__), f"partition {partition}"
    assert set(accepted) <= {d for ids in on_topic.values() for d in ids}


def test_a_60s_outage_loses_nothing_and_keeps_order(
    private: tuple[EmbeddedBroker, Stack],
) -> None:
    broker, stack = private
    stack.start_worker()
    stack.start_ingester()
    for n in range(5):
        accept(stack, n, "before")

    broker.stop()
    accepted: list[str] = []
    end = time.monotonic() + OUTAGE_SECONDS
    n = 0
    while time.monotonic() < end:
        accepted.append(accept(stack, n, "outage"))
        n += 1
        time.sleep(0.3)
    assert stack.ready(f"{stack.ingest_url}/readyz"), "the spool can accept: /readyz is 200"
    gauges = spool_gauges(stack)
    assert gauges["flowgauge_spool_depth_records"] >= len(accepted) - 1, gauges
    assert gauges["flowgauge_spool_bytes"] > 0
    assert gauges["flowgauge_spool_oldest_age_seconds"] > OUTAGE_SECONDS / 2

    broker.start()  # same port, empty: the forwarder recreates the topics before forwarding
    accepted += [accept(stack, n, "after") for n in range(3)]
    wait_until(
        lambda: spool_gauges(stack)["flowgauge_spool_depth_records"] == 0,
        60,
        what="the spool drained",
    )
    gauges = spool_gauges(stack)
    assert gauges["flowgauge_spool_bytes"] == 0
    assert gauges["flowgauge_spool_oldest_age_seconds"] == 0
    on_topic = read_raw(broker.bootstrap, f"{stack.prefix}-raw", set(accepted), 30)
    assert_in_order(accepted, on_topic)


def test_kill_9_with_a_full_spool_loses_nothing(private: tuple[EmbeddedBroker, Stack]) -> None:
    broker, stack = private
    stack.start_ingester()
    accept(stack, 0, "direct")  # onto the broker whose memory dies with it below
    # On a loaded machine the first send can outlast FLOWGAUGE_PUBLISH_TIMEOUT and be spooled
    # (as designed): let it reach the broker before the broker goes, so the count below is exact.
    wait_until(
        lambda: spool_gauges(stack)["flowgauge_spool_depth_records"] == 0, 60, what="spool empty"
    )
    broker.stop()
    accepted = [accept(stack, n, "spooled") for n in range(25)]
    assert spool_gauges(stack)["flowgauge_spool_depth_records"] == 25

    stack.stop("ingest", sig=signal.SIGKILL)
    stack.start_ingester()  # the broker is still away: it starts on its spool alone
    assert spool_gauges(stack)["flowgauge_spool_depth_records"] == 25
    accepted += [accept(stack, n, "restarted") for n in range(5)]
    log = stack.log("ingest")
    assert stack.secret not in log

    broker.start()
    wait_until(
        lambda: spool_gauges(stack)["flowgauge_spool_depth_records"] == 0,
        60,
        what="the spool drained",
    )
    on_topic = read_raw(broker.bootstrap, f"{stack.prefix}-raw", set(accepted), 30)
    assert_in_order(accepted, on_topic)
    total = sum(len(ids) for ids in on_topic.values())
    assert total <= len(accepted) + 500, "a restart resends at most one batch"
    assert orjson.loads(http_get(f"{stack.ingest_url}/readyz")[1])["broker"] == "up"
