"""State keys and partitioning: where an event's state lives. Imported by both sides.

The ingester keys a raw record so the worker finds most of its events' state on that record's
own partition; the worker keys its table by state key. Neither needs the other's machinery, so
this module needs nothing but the event model (and Kafka's hash): the stateless ingester never
imports the engine.

*State key* (the table key of one timeline): `i|<stream>|<item>` for an item (its stream comes
from the config's routing), `d|<service>|<entity>` for one DORA entity of a service.

*Partition key* (what the partition is derived from, config-free): an item event's item, a DORA
event's service. A table value is written to the changelog partition of the message being
processed, so every key must always be written from one partition number: every topic is
partitioned by the partition key with Kafka's default hash (murmur2), so the ingester's producer
and the worker agree without sharing anything but the partition count. An item belongs to one
stream, so its state key and its partition key name one partition.

*Facts key* (the facts topic, the stream stage's partitioning): a stream's name for its items,
one key for all of DORA (`facts_key`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.partitioner import murmur2

from flowgauge.model import DORA_TYPES, FlowEvent

ITEM_PREFIX = "i|"
DORA_PREFIX = "d|"
STREAM_FACTS_PREFIX = "s|"
#: The facts-topic key of every DORA key: DORA joins an incident's or a deployment's events
#: across services' keys (an incident resolved without its service lands under `d||<id>`), so
#: all of DORA is aggregated in one place to stay exact. DORA events are few.
DORA_FACTS_KEY = b"d|"


def dora_key(event: FlowEvent) -> str:
    """A DORA event's key within `d|`: `<service>|<item>` ("" for no service).

    `item` is the deployment id, the incident id, or the commit event's id, so a key holds one
    entity's few events, never a service's history (docs/dora.md, "What a key holds").
    """
    return f"{event.service or ''}|{event.item}"


def state_key(event: FlowEvent) -> str:
    """The key of the timeline an event belongs to; item events must already carry a stream."""
    if event.type in DORA_TYPES:
        return DORA_PREFIX + dora_key(event)
    if event.stream is None:
        raise ValueError("an item event needs its stream before it can be keyed")
    return f"{ITEM_PREFIX}{event.stream}|{event.item}"


def item_parts(key: str) -> tuple[str, str]:
    """(stream, item) of an item state key `i|<stream>|<item>` (`state_key`)."""
    stream, _, item = key[len(ITEM_PREFIX) :].partition("|")
    return stream, item


def partition_key(event: FlowEvent) -> bytes:
    """The bytes the partition of `event`'s state is derived from.

    DORA events by their service, not their whole state key: every key of a service then lives
    on one partition, so one worker shows a service's DORA gauges whole (docs/dashboards.md),
    and each key still has exactly one partition.
    """
    if event.type in DORA_TYPES:
        return (DORA_PREFIX + (event.service or "")).encode()
    return (ITEM_PREFIX + event.item).encode()


def facts_key(key: str) -> bytes:
    """The facts topic's key (so its partition) of a state key: `s|<stream>` for an item, so a
    stream's facts share one partition and one worker aggregates the stream whole;
    `DORA_FACTS_KEY` for every DORA key."""
    if key.startswith(ITEM_PREFIX):
        return (STREAM_FACTS_PREFIX + key[len(ITEM_PREFIX) :].partition("|")[0]).encode()
    if key.startswith(DORA_PREFIX):
        return DORA_FACTS_KEY
    raise ValueError(f"not a state key: {key!r}")


def stream_facts_key(stream: str) -> bytes:
    """The facts topic's key of a stream's items (`facts_key` of any of its items)."""
    return (STREAM_FACTS_PREFIX + stream).encode()


def raw_record_key(events: Sequence[FlowEvent], delivery_id: str) -> bytes:
    """The raw record's key: its first event's partition key, or the delivery id if none."""
    if events:
        return partition_key(events[0])
    return delivery_id.encode("utf-8", "surrogatepass")


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (what aiokafka's producer does with a keyed record)."""
    return int((murmur2(key) & 0x7FFFFFFF) % partitions)
