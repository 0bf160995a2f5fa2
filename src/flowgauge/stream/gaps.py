"""The worker's record of absorbed offsets, and the periodic check that repairs holes in it.

Each agent calls `absorbed()` for every message it handles; the record of a partition is
written into the table (key `\\x00o|<role>|<partition>`) at most every `persist_every` seconds,
from inside the agent, so it goes to that partition's changelog and recovers with the
timelines. `check()` runs on a timer: every hole below a partition's highest absorbed offset is
re-read (`admin.reread`), once; the marker that follows the copies closes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from faust.types import EventT

from flowgauge.stream import admin
from flowgauge.stream.batches import by_partition, standing_on
from flowgauge.stream.offsets import REPAIR_KEY, TABLE_PREFIX, OffsetSet, table_key

log = logging.getLogger(__name__)


class Store(Protocol):
    """Where the records are persisted: the table (written from inside the agent)."""

    def __setitem__(self, key: bytes, value: bytes) -> None: ...


class Message(Protocol):
    """The part of a Faust message read here."""

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


class Event(Protocol):
    """The part of a Faust stream event read here."""

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes: ...

    @property
    def message(self) -> Message: ...


class Stream(Protocol):
    """An agent's Faust stream, as far as `tracked` iterates it."""

    def events(self) -> AsyncIterator[Event]: ...


_RECORD_PREFIX = TABLE_PREFIX.encode()


@dataclass
class GapKeeper:
    """Offsets absorbed per (role, partition); roles are `raw` and `events`."""

    bootstrap: str
    group: str
    topics: dict[str, str]  # role -> topic name
    on_reread: Callable[[str, int], None]
    persist_every: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sets: dict[tuple[str, int], OffsetSet] = field(default_factory=dict)
    pending: dict[tuple[str, int], list[tuple[int, int]]] = field(default_factory=dict)
    _persisted_at: dict[tuple[str, int], float] = field(default_factory=dict)

    def absorbed(self, role: str, partition: int, offset: int, table: Store) -> None:
        """Record one handled offset; persist the partition's record when it is due."""
        key = (role, partition)
        self.sets.setdefault(key, OffsetSet()).add(offset)
        now = self.clock()
        if now - self._persisted_at.get(key, 0.0) >= self.persist_every:
            table[table_key(role, partition)] = self.sets[key].to_bytes()
            self._persisted_at[key] = now

    async def tracked(
        self, stream: Stream, role: str, table: Store
    ) -> AsyncIterator[tuple[int, bytes | None, bytes]]:
        """The stream's (partition, key, value)s; each offset is recorded once handled.

        Repair markers are consumed here. The record is written while the stream still stands
        on the message, so it goes to that message's partition of the changelog.
        """
        async for message in stream.events():
            partition, offset = message.message.partition, message.message.offset
            if message.key == REPAIR_KEY:
                self.repaired(role, partition, message.value, table)
                continue
            try:
                yield partition, message.key, message.value
            finally:
                self.absorbed(role, partition, offset, table)

    async def tracked_batches(
        self, batches: AsyncIterator[Sequence[EventT[Any]]], role: str, table: Store
    ) -> AsyncIterator[tuple[int, list[tuple[bytes | None, bytes]]]]:
        """`tracked` for a stream taken in batches (`take_events`, acked after each batch): per
        batch and partition, its records in order, while the group's partition is the current
        event (`batches.standing_on`: table writes go to that partition's changelog). Repair
        markers are consumed after the group's records, and each offset is recorded once the
        group is handled."""
        async for batch in batches:
            for partition, group in by_partition(batch).items():
                with standing_on(group):
                    records = [(e.key, e.value) for e in group if e.key != REPAIR_KEY]
                    try:
                        if records:
                            yield partition, records
                    finally:
                        for event in group:
                            if event.key == REPAIR_KEY:
                                self.repaired(role, partition, event.value, table)
                            self.absorbed(role, partition, event.message.offset, table)

    def repaired(self, role: str, partition: int, marker: bytes, table: Store) -> None:
        """A repair marker: the copies of [from, to) are below it, so the hole is closed."""
        data = orjson.loads(marker)
        key = (role, partition)
        self.sets.setdefault(key, OffsetSet()).add_range(int(data["from"]), int(data["to"]))
        self.pending[key] = [
            r for r in self.pending.get(key, []) if r != (int(data["from"]), int(data["to"]))
        ]
        table[table_key(role, partition)] = self.sets[key].to_bytes()
        self._persisted_at[key] = self.clock()

    def load(self, items: Iterable[tuple[bytes, bytes]], roles: Iterable[str]) -> None:
        """After recovery: the persisted records of `roles` (those one table holds) of the
        partitions this worker now holds."""
        gone = set(roles)
        for kept in (self.sets, self.pending, self._persisted_at):
            for held in [held for held in kept if held[0] in gone]:
                del kept[held]
        for key, value in items:
            role, _, partition = key.decode()[len(TABLE_PREFIX) :].partition("|")
            self.sets[(role, int(partition))] = OffsetSet.from_bytes(value)

    async def check(self, assigned: Iterable[tuple[str, int]]) -> int:
        """Re-read every hole of the assigned partitions; return the messages re-read.

        A hole is a range below the group's committed offset (or below the highest absorbed
        offset) that no agent absorbed: the group considers it done, the state never saw it.
        """
        by_role: dict[str, list[int]] = {}
        for role, partition in assigned:
            by_role.setdefault(role, []).append(partition)
        total = 0
        for role, partitions in sorted(by_role.items()):
            topic = self.topics[role]
            committed = await admin.committed_offsets(self.bootstrap, self.group, topic, partitions)
            for partition in sorted(partitions):
                total += await self._repair(role, topic, partition, committed.get(partition, 0))
        return total

    async def _repair(self, role: str, topic: str, partition: int, committed: int) -> int:
        record = self.sets.get((role, partition), OffsetSet())
        high = max(record.end, committed)
        if high == 0 or not any(record.holes(0, high)):
            return 0  # the usual case: no hole, and no need to ask the broker for more
        low = await admin.log_start(self.bootstrap, topic, partition)
        pending = self.pending.setdefault((role, partition), [])
        count = 0
        for start, end in list(record.holes(low, high)):
            if (start, end) in pending:
                continue
            n = await admin.reread(self.bootstrap, topic, partition, start, end)
            pending.append((start, end))
            self.on_reread(role, n)
            count += n
        return count

    @staticmethod
    def is_record_key(key: bytes | str) -> bool:
        """Whether a table key is an offset record (asked of every key a rebuild reads)."""
        if isinstance(key, bytes):
            return key.startswith(_RECORD_PREFIX)
        return key.startswith(TABLE_PREFIX)
