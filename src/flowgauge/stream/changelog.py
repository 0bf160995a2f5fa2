"""A batch's table writes: held while the batch is handled, then written to the table's store and
its changelog in one go, not through Faust's per-record changelog path.

Faust writes a table value as `Table.__setitem__`: the store, then `send_changelog` ->
`Topic.send_soon` (a PendingMessage and a FutureMessage, the producer buffer's background task,
sensors, callbacks, `../shared/notes/faust-per-message.md` "A table write"), ~100-150 us a record
here, twice per one-event record (the timelines and the stream stage's facts). `Writes` keeps a
batch's values (reads see them) and `commit` puts each in the table's store and hands it to the
app's own Kafka producer, the same one Faust's path ends in: Faust's commit flushes that producer
before it commits any source offset (`Consumer._commit`), so an offset is still never committed
before the table writes of its records are on the broker. After the last record of a batch is
acknowledged, a RocksDB store keeps its changelog offset (`set_persisted_offset`), as Faust's own
`_on_changelog_sent` does, so a restart reads the changelog only from there.

Under exactly-once (`processing_guarantee`) the table's own `__setitem__` is used: those records
must be in the partition's transaction.
The partition is the current event's, as in Faust (`batches.standing_on` sets it per group).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, cast

from faust.streams import current_event
from faust.types import TP


class Producer(Protocol):
    """The part of Faust's transport producer (`app.producer`) used here."""

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> Awaitable[Any]: ...


def _persisted(store: Any, tp: TP, acked: asyncio.Future[Any]) -> None:
    """Record the changelog offset a RocksDB store has (no-op for the memory store)."""
    if not acked.cancelled() and acked.exception() is None:
        store.set_persisted_offset(tp, acked.result().offset)


def _partition() -> int:
    """The current event's partition: the store's and the changelog's, as in Faust."""
    event = current_event()
    if event is None:
        raise RuntimeError("table writes outside of a stream's event")
    return int(event.message.partition)


@dataclass
class Writes:
    """One Faust table's writes of the batches being handled, per partition (`get` sees them).

    Per partition, because the agents sharing a table run concurrently: one agent's commit must
    never write another's values under its own event's partition (a RocksDB store keeps one
    database per partition, and reads a key from its partition's)."""

    table: Any  # faust.Table: its store (`.data`) and changelog topic
    producer: Producer | None  # None: write through the table (exactly-once, tests)
    pending: dict[int, dict[bytes, bytes]] = field(default_factory=dict)

    def get(self, key: bytes) -> bytes | None:
        value = self.pending.get(_partition(), {}).get(key)
        return value if value is not None else self.table.get(key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.pending.setdefault(_partition(), {})[key] = value

    async def commit(self) -> None:
        """Write the current event's partition's held values to its store and changelog."""
        partition = _partition()
        pending = self.pending.pop(partition, None)
        if not pending:
            return
        if self.producer is None:
            for key, value in pending.items():
                self.table[key] = value
            return
        store, topic = self.table.data, self.table.changelog_topic.get_topic_name()
        for key, value in pending.items():  # all stored before the first await: the other
            store[key] = value  # agent on this partition reads these keys from the store now
        acked: asyncio.Future[Any] | None = None
        for key, value in pending.items():
            sent = await self.producer.send(topic, key, value, partition, None, None)
            acked = cast("asyncio.Future[Any]", sent)  # aiokafka's future of the record
        assert acked is not None
        acked.add_done_callback(partial(_persisted, store, TP(topic, partition)))
