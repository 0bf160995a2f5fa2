"""The embedded broker's bugs that `stream/tansu_workarounds.py` works around, shown on it.

Each test shows the bug on the bare broker with plain aiokafka, then that the workaround gives
the right answer. Each also runs on the session's Apache Kafka, where there is no bug to show:
there it checks that the workaround's answer equals the broker's own, so a workaround that
would be wrong on Kafka fails here too.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from stackkit import Broker, missing

from flowgauge.stream.tansu_workarounds import FETCH_MAX_WAIT_MS, fetch_highwaters

pytestmark = [pytest.mark.integration]


@pytest.fixture(params=["tansu", "broker"])
def any_broker(request: pytest.FixtureRequest) -> Broker:
    """The embedded broker, then the session's broker when that is not Tansu too."""
    chosen: Broker = request.getfixturevalue(request.param)
    if request.param == "broker" and chosen.embedded:
        missing("the session broker is the embedded one: no Apache Kafka to compare with")
    return chosen


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


def test_list_offsets_underreports_the_end_and_fetch_highwaters_is_right(
    any_broker: Broker,
) -> None:
    broker = any_broker
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
def test_first_generation_is_zero_so_a_stopped_member_never_leaves(any_broker: Broker) -> None:
    broker = any_broker
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


async def _delivery_seconds(bootstrap: str, fetch_wait_ms: int) -> list[float]:
    """Seconds from a record's acked produce to a waiting consumer having it, several times."""
    topic = f"bug-wait-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, fetch_max_wait_ms=fetch_wait_ms
    )
    try:
        await (await producer.send(topic, b"first", partition=0))
        await consumer.start()
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        seconds = []
        for pause in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
            await asyncio.sleep(pause)  # the consumer is now waiting in a Fetch
            start = time.monotonic()
            await (await producer.send(topic, b"x", partition=0))
            deadline = start + 10
            while not (await consumer.getmany(tp, timeout_ms=2000)).get(tp):
                assert time.monotonic() < deadline, "the record never arrived"
            seconds.append(time.monotonic() - start)
        return seconds
    finally:
        await consumer.stop()
        await producer.stop()


FAUST_WAIT_PROBE = textwrap.dedent("""
    import asyncio, sys
    import faust
    from flowgauge.stream import tansu_workarounds
    if sys.argv[2] == "1":
        tansu_workarounds.apply()

    async def main():
        app = faust.App("probe", broker="kafka://" + sys.argv[1], autodiscover=False)
        thread = app.consumer._thread
        print(thread._create_worker_consumer(app.transport)._fetch_max_wait_ms)

    asyncio.run(main())
""")


def _faust_fetch_wait(broker: Broker, patched: bool) -> int:
    out = subprocess.run(
        [sys.executable, "-c", FAUST_WAIT_PROBE, broker.bootstrap, "1" if patched else "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(out.stdout.split()[-1])


def test_a_waiting_fetch_is_answered_at_its_max_wait_not_when_data_arrives(
    any_broker: Broker,
) -> None:
    broker = any_broker
    stock = asyncio.run(_delivery_seconds(broker.bootstrap, 1500))  # Faust's hard-coded wait
    fixed = asyncio.run(_delivery_seconds(broker.bootstrap, FETCH_MAX_WAIT_MS))
    if broker.embedded:
        # Tansu holds the Fetch for its whole max wait even though a record arrived meanwhile
        # (Kafka answers as soon as fetch.min.bytes is there): the record waits with it.
        assert statistics.mean(stock) > 0.3, stock
        assert max(fixed) < 0.3, fixed
    else:
        assert max(stock) < 0.3, stock
    assert (_faust_fetch_wait(broker, False), _faust_fetch_wait(broker, True)) == (
        1500,
        FETCH_MAX_WAIT_MS,
    ), "the workaround reaches the consumers Faust creates"
