"""What the two timelines-stage agents do with one record: the logic between Faust's stream and
the timelines table.

Each applied (or re-delivered) event sends its key's new absolute fact to the facts topic
(`stream/facts.py`); the stream stage (`stream/stage.py`) aggregates them. A duplicate sends the
key's fact again: a crash may have lost the first send after the table write, and a fact is
idempotent. The collaborators are Protocols, not Faust types: the agents pass a Faust table and
topics, the tests a dict and a list-backed sender, and both run this very code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from flowgauge.engine.processor import last_micros
from flowgauge.engine.stored import Cached
from flowgauge.engine.timeline import Timeline
from flowgauge.keys import ITEM_PREFIX, facts_key, partition_for, partition_key
from flowgauge.model import FlowEvent
from flowgauge.model.deadletter import DeadLetter
from flowgauge.model.delivery import Delivery
from flowgauge.stream.facts import dora_fact, item_fact, packs, sent_key
from flowgauge.stream.pipeline import encode_event, normalize_delivery
from flowgauge.stream.state import WorkerState


class Table(Protocol):
    """The part of the Faust table the handlers use: one timeline's bytes per state key."""

    def get(self, key: bytes) -> bytes | None: ...

    def __setitem__(self, key: bytes, value: bytes) -> None: ...


class Sender(Protocol):
    """The part of a Faust topic the handlers use (the events and dead-letter topics)."""

    async def send(
        self, *, key: bytes | None = None, value: bytes, partition: int | None = None
    ) -> object: ...


@dataclass
class Handlers:
    """The normalize agent's `normalize`, the timelines agent's `apply_record`; both `apply`,
    which queues facts that `flush` sends (both agents' calls end with it)."""

    state: WorkerState
    table: Table
    events_topic: Sender
    dead_topic: Sender
    facts_topic: Sender
    partitions: int
    #: state key -> (facts key, its latest fact), sent by `flush`
    outbox: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    _facts_partitions: dict[bytes, int] = field(default_factory=dict)

    def mark(self, partition: int) -> None:
        """Write `partition`'s sent marker if a rebuild asked for it (`recovery.rebuild`): from
        inside the agent, so it goes to that partition's changelog."""
        unmarked = self.state.unmarked
        if partition in unmarked:
            self.table[sent_key(partition)] = self.state.marker
            unmarked.discard(partition)

    async def flush(self) -> None:
        """Send the queued facts in packs (`facts.packs`), each to its stream's partition."""
        outbox, self.outbox = self.outbox, {}
        homes = self._facts_partitions  # one per stream (and DORA): murmur2 once each
        for key, pack in packs(outbox.values()):
            home = homes.get(key)
            if home is None:
                home = homes[key] = partition_for(key, self.partitions)
            await self.facts_topic.send(key=key, value=pack, partition=home)

    async def normalize(self, partition: int, value: bytes) -> None:
        """A delivery record's events: applied here when their state lives on this partition
        (`flowgauge/keys.py`), else sent to the events topic on the partition it lives on.
        """
        await self.normalize_batch(partition, (value,))

    async def normalize_batch(self, partition: int, values: Iterable[bytes]) -> None:
        """Delivery records of one partition, in order: their local events grouped by key over
        the whole batch (each key's timeline once), then the facts sent."""
        local: dict[str, list[FlowEvent]] = {}  # by key, in order
        for value in values:
            await self._route(partition, value, local)
        for key, events in local.items():
            self.apply_many(key.encode(), events)
        await self.flush()

    async def _route(self, partition: int, value: bytes, local: dict[str, list[FlowEvent]]) -> None:
        """One delivery record: its local events into `local`, the others sent on."""
        state = self.state
        try:
            delivery = Delivery.from_bytes(value)
        except (ValueError, KeyError, TypeError) as exc:
            await self.dead(value, f"bad delivery record: {exc}", "raw")
            return
        result = normalize_delivery(delivery, state.config)
        if result.error is not None:
            await self.dead(value, result.error, delivery.source, delivery.delivery_id)
            state.metrics.deliveries.labels(delivery.source, "dead_letter").inc()
            return
        homes: dict[str, int] = {}  # an item-grouped record: one key, one murmur2
        for key, event in result.events:
            home = homes.get(key)
            if home is None:
                home = homes[key] = partition_for(partition_key(event), self.partitions)
            if home == partition:
                local.setdefault(key, []).append(event)
            else:
                await self.events_topic.send(
                    key=key.encode(), value=encode_event(event), partition=home
                )
        if result.unrouted:
            state.metrics.events.labels("unrouted").inc(result.unrouted)
        if result.dropped:
            state.metrics.events.labels("dropped").inc(result.dropped)
        outcome = "normalized" if result.events else ("unrouted" if result.unrouted else "ignored")
        state.metrics.deliveries.labels(delivery.source, outcome).inc()

    async def apply_record(self, raw_key: bytes | None, value: bytes) -> None:
        """An events-topic record: decode it, then `apply`."""
        await self.apply_records(((raw_key, value),))

    async def apply_records(self, records: Iterable[tuple[bytes | None, bytes]]) -> None:
        """Events-topic records of one partition, in order: decoded, grouped by key (each key's
        timeline once), then the facts sent."""
        local: dict[bytes, list[FlowEvent]] = {}
        for raw_key, value in records:
            try:
                event = FlowEvent.model_validate_json(value)
            except ValueError as exc:
                await self.dead(value, f"bad event: {exc}", "events")
                continue
            if raw_key is None:
                await self.dead(value, "bad event: a record without a state key", "events")
                continue
            local.setdefault(raw_key, []).append(event)
        for raw_key, events in local.items():
            self.apply_many(raw_key, events)
        await self.flush()

    def apply(self, raw_key: bytes, event: FlowEvent) -> None:
        """Add the event to its key's timeline and queue the key's new fact."""
        self.apply_many(raw_key, (event,))

    def apply_many(self, raw_key: bytes, events: Sequence[FlowEvent]) -> None:
        """Add events of one key to its timeline: decoded, derived, encoded, written and sent
        once for all of them (a record of many events pays per key, not per event)."""
        state, key = self.state, raw_key.decode()
        deriver, counts = state.deriver, state.metrics.events
        if not deriver.accepts(key):  # its stream left the config meanwhile
            counts.labels("unrouted").inc(len(events))
            return
        current = self.table.get(raw_key)
        timeline = Timeline.from_bytes(current) if current else Timeline.from_events(())
        timeline, added = timeline.merge(events)
        if added < len(events):
            counts.labels("duplicate").inc(len(events) - added)
        entry = deriver.entry(key, timeline)
        if added:
            self.table[raw_key] = timeline.to_bytes(entry)  # the facts too: a faster rebuild
            counts.labels("applied").inc(added)
        self.emit(key, timeline, entry)  # a duplicate sends it again: it may have been lost

    def emit(self, key: str, timeline: Timeline, entry: Cached | None) -> None:
        """Queue `key`'s absolute fact (`entry`: its item facts) and raise the watermark."""
        if key.startswith(ITEM_PREFIX):
            assert entry is not None
            value = item_fact(key, len(timeline.events), entry)
        else:
            value = dora_fact(key, timeline)
        self.outbox[key] = (facts_key(key), value)  # the latest fact of a key is enough
        self.state.saw(last_micros(timeline))

    async def dead(self, value: bytes, reason: str, source: str, key: str | None = None) -> None:
        await self.dead_topic.send(
            key=key.encode() if key is not None else None,
            value=DeadLetter.of(value, reason, source).to_bytes(),
        )
        self.state.metrics.dead_letters.labels(source).inc()
