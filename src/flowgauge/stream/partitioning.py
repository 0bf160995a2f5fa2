"""Which partition an event's state lives on, so that most events never cross a second topic.

A table value is written to the changelog partition of the message being processed (Faust's
`partition_for_key`), so the state of a key must always be written from the same partition
number. Partitioning every topic by one *partition key* per event, computable without the
config, gives exactly that: the ingester keys a delivery's raw record by its first event's
partition key, and the worker applies each event of the delivery in the raw agent when the
event's partition is the raw record's own (the usual case: one item per delivery), or sends it
to the events topic *on that partition* otherwise. The partition key of an item event is its
item (its stream needs the config, and an item belongs to one stream); of a DORA event, its
service. The hash is the Kafka default (murmur2), so the ingester's producer and the worker
agree without sharing anything but the partition count.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.partitioner import murmur2

from flowgauge.engine.processor import DORA_PREFIX, ITEM_PREFIX
from flowgauge.model import DORA_TYPES, FlowEvent


def partition_key(event: FlowEvent) -> bytes:
    """The bytes the partition of `event`'s state is derived from.

    DORA events by their service, not their whole state key (`d|<service>|<entity>`): every
    key of a service then lives on one partition, so one worker shows a service's DORA gauges
    whole (docs/dashboards.md), and each key still has exactly one partition.
    """
    if event.type in DORA_TYPES:
        return (DORA_PREFIX + (event.service or "")).encode()
    return (ITEM_PREFIX + event.item).encode()


def raw_record_key(events: Sequence[FlowEvent], delivery_id: str) -> bytes:
    """The raw record's key: its first event's partition key, or the delivery id if none."""
    if events:
        return partition_key(events[0])
    return delivery_id.encode("utf-8", "surrogatepass")


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (what aiokafka's producer does with a keyed record)."""
    return int((murmur2(key) & 0x7FFFFFFF) % partitions)
