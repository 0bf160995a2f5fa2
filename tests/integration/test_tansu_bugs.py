"""The embedded broker's bugs that `stream/tansu_workarounds.py` works around, shown on it.

Each test shows the bug on the bare broker with plain aiokafka, then that the workaround gives
the right answer. Against Apache Kafka (FLOWGAUGE_KAFKA, testcontainers) there is no bug to
show: the tests then check that the workaround's answer equals the broker's own.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from stackkit import Broker

from flowgauge.stream.tansu_workarounds import fetch_highwaters

pytestmark = [pytest.mark.integration]


async def _produce_batches(bootstrap: str, topic: str, batches: list[int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, acks="all")
    await producer.start()
    try:
        for size in batches:  # each batch goes out as one record batch
            batch = producer.create_batch()
            for i in range(size):
                batch.append(key=None, value=f"v{i}".encode(), timestamp=None)
            fut = await producer.send_batch(batch, topic, partition=0)
            await fut
    finally:
        await producer.stop()


async def _end_offsets(bootstrap: str, tp: TopicPartition) -> tuple[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        listed = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
    return listed, (await fetch_highwaters(bootstrap, [tp]))[tp]


def test_list_offsets_underreports_the_end_and_fetch_highwaters_is_right(broker: Broker) -> None:
    topic = f"bug-hw-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    asyncio.run(_produce_batches(broker.bootstrap, topic, [10, 25]))
    listed, fixed = asyncio.run(_end_offsets(broker.bootstrap, tp))
    assert fixed == 35, "the Fetch high watermark is the true end offset"
    if broker.embedded:
        # Tansu 0.6.0: base offset of the newest batch + 1 (10 + 1), not the end (35).
        assert listed == 11
    else:
        assert listed == fixed


LEAVE_PROBE = textwrap.dedent("""
    import asyncio, sys, time
    from aiokafka import AIOKafkaConsumer
    from flowgauge.stream import tansu_workarounds
    bootstrap, topic, group, patched = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    if patched:
        tansu_workarounds.apply()

    async def member():
        c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             session_timeout_ms=6000, heartbeat_interval_ms=1000,
                             request_timeout_ms=20000)
        start = time.monotonic()
        await c.start()
        while not c.assignment():
            await asyncio.sleep(0.05)
        return c, start

    async def main():
        first, _ = await member()
        generation = first._coordinator.generation
        await first.stop()                  # a clean stop: LeaveGroup, if aiokafka sends it
        second, start = await member()
        took = time.monotonic() - start
        await second.stop()
        print(generation, round(took, 2))

    asyncio.run(main())
""")


def _second_member_join_seconds(broker: Broker, patched: bool) -> tuple[int, float]:
    topic = f"bug-leave-{uuid.uuid4().hex[:8]}"
    asyncio.run(_produce_batches(broker.bootstrap, topic, [1]))
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            LEAVE_PROBE,
            broker.bootstrap,
            topic,
            f"g-{topic}",
            "1" if patched else "0",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    generation, took = out.stdout.split()
    return int(generation), float(took)


@pytest.mark.slow
def test_first_generation_is_zero_so_a_stopped_member_never_leaves(broker: Broker) -> None:
    generation, stock = _second_member_join_seconds(broker, patched=False)
    _, patched = _second_member_join_seconds(broker, patched=True)
    if broker.embedded:
        assert generation == 0, "Tansu numbers the first generation 0 (Kafka: 1)"
        # Stock aiokafka skips LeaveGroup at generation 0: the successor waits for the dead
        # member's 6 s session to expire; with the workaround it joins at once (one join round).
        assert stock >= 6.0, stock
        assert patched < stock - 2.0, (patched, stock)
    else:
        assert generation >= 1
