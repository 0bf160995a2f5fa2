"""Re-reading offsets the worker's state never absorbed, through the idempotent path.

A hole [a, b) of a partition is read back with a plain consumer and produced again to the same
partition, with the same key and value, followed by a repair marker naming [a, b). The agents
handle the copies like any message (a timeline ignores events it holds, normalization derives
the same event ids), and the marker closes the hole in the recorded offsets.
"""

from __future__ import annotations

import logging

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from flowgauge.stream.offsets import REPAIR_KEY

log = logging.getLogger(__name__)


async def log_start(bootstrap: str, topic: str, partition: int) -> int:
    """The partition's first offset still stored (retention may have removed older ones)."""
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        return int((await consumer.beginning_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def committed_offsets(
    bootstrap: str, group: str, topic: str, partitions: list[int]
) -> dict[int, int]:
    """The group's committed offset per partition (partitions with none are left out)."""
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        result = {}
        for tp in tps:
            offset = await consumer.committed(tp)
            if offset is not None and offset >= 0:
                result[tp.partition] = int(offset)
        return result
    finally:
        await consumer.stop()


async def reread(
    bootstrap: str, topic: str, partition: int, start: int, end: int, timeout: float = 30.0
) -> int:
    """Produce offsets [start, end) of the partition again, then the marker; return the count."""
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    count = 0
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        position = start
        deadline = _now() + timeout
        while position < end and _now() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=200, max_records=1000)
            for message in batch.get(tp, []):
                if message.offset >= end:
                    position = end
                    break
                if message.key != REPAIR_KEY:
                    await producer.send(
                        topic, key=message.key, value=message.value, partition=partition
                    )
                    count += 1
                position = message.offset + 1
        await producer.flush()
        if position < end:
            raise TimeoutError(f"{topic}[{partition}] re-read stopped at {position} of {end}")
        marker = orjson.dumps({"from": start, "to": end})
        await (await producer.send(topic, key=REPAIR_KEY, value=marker, partition=partition))
    finally:
        await producer.stop()
        await consumer.stop()
    log.warning(
        "re-read %d messages of %s[%d] offsets %d-%d that no agent had absorbed",
        count,
        topic,
        partition,
        start,
        end,
    )
    return count


def _now() -> float:
    import time

    return time.monotonic()
