"""Faults of Apache Kafka itself, on private clusters started by `scripts/kafka-up`.

Unlike the embedded broker, a real broker keeps its log: stopped or killed and started again, it
must come back with everything it acknowledged, and flowgauge must count nothing twice. Each test
streams signed webhooks through a real ingester and worker while brokers die, then holds every
flow and DORA sample of `/metrics` equal to `flowgauge report` over the same events, and every
delivery answered 202 on the raw topic.
"""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from compare import Sample, difference, gauges, record, report_text
from kafkakit import KafkaCluster, kafka_version
from scenario import (
    EVENT_CLOCK_CONFIG,
    dora_history,
    item_history,
    post_generic,
    shuffled_with_duplicates,
)
from stackkit import Broker, Stack, wait_until
from test_broker_outage import read_raw, spool_gauges

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Feed(threading.Thread):
    """Posts the events in deliveries of ten, spread over about `seconds`, keeping each accepted
    delivery id, so that webhooks arrive before, during and after a fault."""

    def __init__(self, stack: Stack, events: list[dict[str, Any]], seconds: float) -> None:
        super().__init__(daemon=True)
        self.stack, self.events = stack, events
        self.pause = seconds / max(1, len(events) // 10)
        self.accepted: list[str] = []
        self.refused: list[tuple[int, Any]] = []

    def run(self) -> None:
        for start in range(0, len(self.events), 10):
            status, body = post_generic(
                self.stack.ingest_url, self.stack.secret, self.events[start : start + 10]
            )
            if status == 202:
                self.accepted.append(str(body["delivery"]))
            else:
                self.refused.append((status, body))
            time.sleep(self.pause)

    def finish(self, timeout: float = 300) -> None:
        self.join(timeout)
        assert not self.is_alive(), "the feed did not finish"
        assert not self.refused, f"deliveries refused while brokers failed: {self.refused[:3]}"


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    kafka = KafkaCluster(tmp_path / "kafka")
    kafka.up(brokers=getattr(request, "param", 1))
    try:
        yield kafka
    finally:
        kafka.down()


def _stack(
    kafka: KafkaCluster, tmp_path: Path, seed: int, items: int
) -> tuple[Stack, str, list[dict[str, Any]]]:
    """A stack on the cluster, the report over the scenario, and the deliveries to send."""
    config = tmp_path / "flow.yaml"
    config.write_text(EVENT_CLOCK_CONFIG)
    rng = random.Random(seed)
    events = item_history(rng, items) + dora_history(rng, 30)
    recorded = record(events, tmp_path / "events.jsonl")
    broker = Broker(kafka.up(), embedded=False, kind=f"kafka-{kafka_version()}")
    stack = Stack(broker=broker, workdir=tmp_path / "stack", config=config)
    stack.workdir.mkdir()
    expected = report_text(config, recorded)
    return stack, expected, shuffled_with_duplicates(rng, events, dup_share=0.10)


def _converges(stack: Stack, report: str, accepted: list[str]) -> None:
    """Spool drained, every accepted delivery on the raw topic, gauges equal to the report."""
    wait_until(
        lambda: spool_gauges(stack)["flowgauge_spool_depth_records"] == 0, 120, what="spool empty"
    )
    read_raw(stack.broker.bootstrap, f"{stack.prefix}-raw", set(accepted), 60)
    expected = gauges(report)
    last: list[Sample] = []

    def equal() -> bool:
        got = gauges(stack.metrics())
        last[:] = got
        return got == expected

    try:
        wait_until(equal, 180, interval=1.0, what="worker gauges equal to the report")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {difference(expected, last)}") from None


@pytest.mark.parametrize(
    ("how", "outage"),
    [("kill-9", 5.0), ("stopped", 30.0)],
    ids=["broker-kill-9", "broker-stopped-30s"],
)
def test_the_broker_restarted_on_its_log_loses_and_doubles_nothing(
    cluster: KafkaCluster, tmp_path: Path, how: str, outage: float
) -> None:
    stack, report, delivered = _stack(cluster, tmp_path, seed=11, items=200)
    try:
        stack.start_ingester()
        stack.start_worker()
        feed = Feed(stack, delivered, seconds=outage + 15)
        feed.start()
        time.sleep(2.0)
        if how == "kill-9":
            cluster.kill(1, signal.SIGKILL)
        else:
            cluster.down()  # a controlled shutdown while webhooks keep arriving
        time.sleep(outage)
        during = len(feed.accepted)
        cluster.up()  # the same node, ports and log
        feed.finish()
        assert len(feed.accepted) > during > 0
        _converges(stack, report, feed.accepted)
    finally:
        stack.stop_all()


async def _replicas(bootstrap: str, topic: str) -> set[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return {len(p["replicas"]) for p in described[0]["partitions"]}


@pytest.mark.parametrize("cluster", [3], indirect=True)
def test_three_brokers_lose_one_at_a_time_and_count_every_webhook_once(
    cluster: KafkaCluster, tmp_path: Path
) -> None:
    stack, report, delivered = _stack(cluster, tmp_path, seed=23, items=200)
    stack.settings["FLOWGAUGE_REPLICATION_FACTOR"] = "3"
    try:
        stack.start_ingester()
        stack.start_worker()
        for topic in ("raw", "events", "timelines-changelog"):
            assert asyncio.run(_replicas(stack.broker.bootstrap, f"{stack.prefix}-{topic}")) == {3}
        feed = Feed(stack, delivered, seconds=40)
        feed.start()
        for node in (2, 3):  # one at a time: min.insync.replicas=2 keeps acks=all writable
            time.sleep(3.0)
            cluster.kill(node, signal.SIGKILL)
            time.sleep(6.0)
            cluster.up()
        feed.finish()
        _converges(stack, report, feed.accepted)
    finally:
        stack.stop_all()
