"""Broker I/O outside Faust: creating the topics, and re-reading offsets the state never absorbed.

`ensure_topics` creates the project's topics (ingester, worker and replay call it at start, so
either can start first). The rest serves `gaps.py`: a hole [a, b) of a partition is read back
with a plain consumer and produced again to the same partition, with the same key and value,
followed by a repair marker naming [a, b). The agents handle the copies like any message (a
timeline ignores events it holds; records carry the same event ids), and the marker closes the
hole in the recorded offsets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from flowgauge.settings import Settings
from flowgauge.stream.offsets import REPAIR_KEY
from flowgauge.stream.topics import Topics

log = logging.getLogger(__name__)


class Client(Protocol):
    """An aiokafka consumer or producer, as far as starting and stopping it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


C = TypeVar("C", bound=Client)


async def started(client: C) -> C:
    """The client started; stopped again if its start fails, then the error raised. A failed
    start keeps its connections: the gap check, retried every few seconds while the broker is
    away, leaked one consumer a try ("Unclosed AIOKafkaConsumer"). Every Kafka client of the
    project starts through here (the ingester's producer had its own copy of this)."""
    try:
        await client.start()
    except BaseException:
        await client.stop()
        raise
    return client


@asynccontextmanager
async def running(client: C) -> AsyncIterator[C]:
    """`started`, and stopped when the block ends: a client for one job."""
    await started(client)
    try:
        yield client
    finally:
        await client.stop()


async def ensure_topics(settings: Settings, timeout_ms: int = 10_000) -> None:
    """Create the project's topics and the tables' changelogs with `settings.partitions`
    partitions if they are missing."""
    topics = Topics.of(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=timeout_ms)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        replicas = settings.replication_factor
        wanted = [
            NewTopic(name, num_partitions=settings.partitions, replication_factor=replicas)
            for name in topics.all()
            if name not in existing
        ]
        # The tables' changelogs too (compacted, as Faust makes them): a table written before
        # Faust's own metadata knows a changelog it just created crashes its agent
        # (PartitionsMismatch), which drops the agent's fetched batch.
        wanted += [
            NewTopic(
                name,
                num_partitions=settings.partitions,
                replication_factor=replicas,
                topic_configs={"cleanup.policy": "compact"},
            )
            for name in topics.changelogs()
            if name not in existing
        ]
        if wanted:
            response = await admin.create_topics(wanted, timeout_ms=timeout_ms)
            for error in getattr(response, "topic_errors", ()):
                name, code = error[0], error[1]
                if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (a racing process made it)
                    raise RuntimeError(f"cannot create topic {name}: error code {code}")
    finally:
        await admin.close()


async def log_start(bootstrap: str, topic: str, partition: int) -> int:
    """The partition's first offset still stored (retention may have removed older ones)."""
    tp = TopicPartition(topic, partition)
    async with running(AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)) as consumer:
        return int((await consumer.beginning_offsets([tp]))[tp])


async def committed_offsets(
    bootstrap: str, group: str, topic: str, partitions: list[int]
) -> dict[int, int]:
    """The group's committed offset per partition (partitions with none are left out)."""
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    async with running(consumer):
        result = {}
        for tp in tps:
            offset = await consumer.committed(tp)
            if offset is not None and offset >= 0:
                result[tp.partition] = int(offset)
        return result


async def reread(
    bootstrap: str, topic: str, partition: int, start: int, end: int, timeout: float = 30.0
) -> int:
    """Produce offsets [start, end) of the partition again, then the marker; return the count."""
    tp = TopicPartition(topic, partition)
    async with (
        running(
            AIOKafkaConsumer(
                bootstrap_servers=bootstrap,
                group_id=None,
                enable_auto_commit=False,
                fetch_max_wait_ms=100,
            )
        ) as consumer,
        running(AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)) as producer,
    ):
        count = await _copy(consumer, producer, tp, start, end, timeout)
        marker = orjson.dumps({"from": start, "to": end})
        await (await producer.send(topic, key=REPAIR_KEY, value=marker, partition=partition))
    log.warning(
        "re-read %d messages of %s[%d] offsets %d-%d that no agent had absorbed",
        count,
        topic,
        partition,
        start,
        end,
    )
    return count


async def _copy(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    tp: TopicPartition,
    start: int,
    end: int,
    timeout: float,
) -> int:
    """Offsets [start, end) of `tp` produced again (markers left out), flushed; the count."""
    consumer.assign([tp])
    consumer.seek(tp, start)
    position, count = start, 0
    deadline = _now() + timeout
    while position < end and _now() < deadline:
        batch = await consumer.getmany(tp, timeout_ms=200, max_records=1000)
        for message in batch.get(tp, []):
            if message.offset >= end:
                position = end
                break
            if message.key != REPAIR_KEY:
                await producer.send(
                    tp.topic, key=message.key, value=message.value, partition=tp.partition
                )
                count += 1
            position = message.offset + 1
    await producer.flush()
    if position < end:
        raise TimeoutError(f"{tp.topic}[{tp.partition}] re-read stopped at {position} of {end}")
    return count


def _now() -> float:
    return time.monotonic()
