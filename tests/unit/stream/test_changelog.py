"""`Writes`: a batch's table writes held (and read back), then put in the store and produced to
the changelog partition of the current event, with the RocksDB offset kept once acknowledged.
The worker's real path (Faust's producer, Apache Kafka, a kill -9 and the changelog read back)
is in tests/integration (test_crashes.py, test_scale.py, test_rebalance.py)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from faust.types import TP, EventT

from flowgauge.stream.batches import standing_on
from flowgauge.stream.changelog import Writes


class Message:
    def __init__(self, partition: int) -> None:
        self.partition = partition


class Event:
    def __init__(self, partition: int) -> None:
        self.message, self.value = Message(partition), b""


class Store(dict[bytes, bytes]):
    def __init__(self) -> None:
        super().__init__()
        self.persisted: dict[TP, int] = {}

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        self.persisted[tp] = offset


class Topic:
    def get_topic_name(self) -> str:
        return "fg-timelines-changelog"


class Table:
    """What `Writes` reads of a Faust table; `__setitem__` is Faust's own per-record path."""

    def __init__(self) -> None:
        self.data, self.changelog_topic = Store(), Topic()
        self.through_table: list[bytes] = []

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.through_table.append(key)
        self.data[key] = value


class Producer:
    """Records what is sent; `turns`: loop turns a send waits first, as aiokafka's may."""

    def __init__(self, turns: int = 0) -> None:
        self.turns = turns
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.acks: list[asyncio.Future[Any]] = []

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> asyncio.Future[Any]:
        for _ in range(self.turns):
            await asyncio.sleep(0)
        self.sent.append((topic, key, value, partition))
        self.acks.append(asyncio.get_running_loop().create_future())
        return self.acks[-1]


class Metadata:
    def __init__(self, offset: int) -> None:
        self.offset = offset


def test_a_batch_is_held_read_back_then_written_to_the_store_and_its_partitions_changelog() -> None:
    table, producer = Table(), Producer()
    table.data[b"old"] = b"0"
    writes = Writes(table, producer)

    async def go() -> None:
        with on(2):
            writes[b"a"] = b"1"
            writes[b"b"] = b"2"
            writes[b"a"] = b"3"  # the newest value of a key, written once
            assert writes.get(b"a") == b"3" and writes.get(b"old") == b"0"
            assert b"a" not in table.data and not producer.sent
            await writes.commit()
        assert table.data == {b"old": b"0", b"a": b"3", b"b": b"2"}
        topic = "fg-timelines-changelog"
        assert producer.sent == [(topic, b"a", b"3", 2), (topic, b"b", b"2", 2)]
        assert not table.data.persisted  # nothing acknowledged yet
        for offset, ack in enumerate(producer.acks, start=40):
            ack.set_result(Metadata(offset))
        await asyncio.sleep(0)
        assert table.data.persisted == {TP(topic, 2): 41}  # the batch's last record
        assert not table.through_table and not writes.pending

    asyncio.run(go())


def test_a_failed_send_keeps_the_persisted_offset_where_it_was() -> None:
    table, producer = Table(), Producer()
    writes = Writes(table, producer)

    async def go() -> None:
        with on(0):
            writes[b"a"] = b"1"
            await writes.commit()
        producer.acks[-1].set_exception(OSError("broker gone"))
        await asyncio.sleep(0)
        assert not table.data.persisted

    asyncio.run(go())


def test_without_a_producer_the_tables_own_path_writes_each_value() -> None:
    """Exactly-once: the records must be inside the partition's transaction."""
    table = Table()
    writes = Writes(table, None)
    with on(1):
        writes[b"a"], writes[b"b"] = b"1", b"2"
        asyncio.run(writes.commit())
    assert table.through_table == [b"a", b"b"] and table.data == {b"a": b"1", b"b": b"2"}


def test_writes_outside_an_event_are_refused_not_sent_to_a_guessed_partition() -> None:
    writes = Writes(Table(), Producer())
    with pytest.raises(RuntimeError, match="outside of a stream"):
        writes[b"a"] = b"1"
    with pytest.raises(RuntimeError, match="outside of a stream"):
        asyncio.run(writes.commit())


def test_agents_sharing_a_table_commit_only_their_own_partitions_values() -> None:
    """The normalize and timelines agents share the timelines table and run concurrently: one
    agent's commit must not write another's values under its partition (a RocksDB store reads
    a key from its partition's database only; an integration kill -9 test found this)."""
    table, producer = Table(), Producer()
    writes = Writes(table, producer)

    async def go() -> None:
        with on(1):
            writes[b"one"] = b"1"
        with on(3):
            writes[b"three"] = b"3"
            assert writes.get(b"one") is None  # not this partition's
            await writes.commit()
        assert [(key, partition) for _, key, _, partition in producer.sent] == [(b"three", 3)]
        with on(1):
            await writes.commit()
        assert [(key, partition) for _, key, _, partition in producer.sent][1:] == [(b"one", 1)]

    asyncio.run(go())


def on(partition: int) -> Any:
    """Stand on an event of `partition`, as an agent's batch group does."""
    return standing_on(cast(list[EventT[Any]], [Event(partition)]))


def test_a_commit_stores_every_value_before_it_waits_on_the_producer() -> None:
    """While one agent's commit waits on a send, the other agent on the partition reads the
    keys that commit holds: from the store, so each must be there already (a commit that
    stored each key just before its send let the other agent read a stale timeline and drop
    events: found by a CI run's end-to-end test)."""
    table = Table()
    writes = Writes(table, Producer(turns=1))

    async def go() -> None:
        with on(1):
            writes[b"a"], writes[b"b"] = b"A1", b"B1"
            committing = asyncio.ensure_future(writes.commit())
            await asyncio.sleep(0)  # the commit is waiting on its first send
            assert not committing.done()
            assert (writes.get(b"a"), writes.get(b"b")) == (b"A1", b"B1")
            await committing

    asyncio.run(go())
