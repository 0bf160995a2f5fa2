"""`GapKeeper.tracked_batches`: the timelines-stage agents' batches, grouped by partition, written
standing on their own partition, every offset recorded, repair markers consumed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import orjson
from faust.streams import current_event
from faust.types import EventT

from flowgauge.stream.gaps import GapKeeper
from flowgauge.stream.offsets import REPAIR_KEY, OffsetSet, table_key


class Message:
    def __init__(self, partition: int, offset: int) -> None:
        self.partition, self.offset = partition, offset


class Event:
    def __init__(self, partition: int, offset: int, key: bytes | None, value: bytes) -> None:
        self.message, self.key, self.value = Message(partition, offset), key, value


def keeper() -> GapKeeper:
    return GapKeeper("127.0.0.1:9", "g", {"raw": "t-raw"}, lambda role, n: None, persist_every=0)


async def batches(*groups: list[Event]) -> AsyncIterator[Sequence[EventT[Any]]]:
    for group in groups:
        yield cast(Sequence[EventT[Any]], group)


def test_batches_yield_per_partition_standing_on_it_and_record_every_offset() -> None:
    first = [Event(0, 0, b"a", b"1"), Event(1, 0, b"b", b"2"), Event(0, 1, b"c", b"3")]
    marker = orjson.dumps({"from": 5, "to": 7})
    second = [Event(1, 7, REPAIR_KEY, marker), Event(1, 8, b"d", b"4")]
    gaps, table = keeper(), dict[bytes, bytes]()
    seen: list[tuple[int, list[tuple[bytes | None, bytes]], int | None]] = []

    async def run() -> None:
        async for partition, records in gaps.tracked_batches(batches(first, second), "raw", table):
            event = current_event()
            seen.append((partition, records, event.message.partition if event else None))

    asyncio.run(run())
    assert seen == [
        (0, [(b"a", b"1"), (b"c", b"3")], 0),
        (1, [(b"b", b"2")], 1),
        (1, [(b"d", b"4")], 1),  # the marker is consumed, not yielded
    ]
    assert current_event() is None
    assert list(gaps.sets[("raw", 0)].holes(0, 2)) == []
    record = OffsetSet.from_bytes(table[table_key("raw", 1)])
    assert list(record.holes(0, 9)) == [(1, 5)]  # 0, the repaired 5-6, the marker 7, and 8
