"""Batches of a Faust stream: group a fetched batch by partition, and write tables for each group.

An agent that takes its stream in batches (`Stream.take_events`, acked after the batch's body)
pays flowgauge's per-record work per key instead of per record, but Faust decides a table
write's changelog partition (and a RocksDB store's partition) from the *current event*, which
`take_events` leaves on the batch's last event, of any partition. `standing_on` sets it to an
event of the group's own partition while that group's values are written, so a key is still
always written to the partition of the records it came from (docs/architecture.md). It sets
the context variable behind `faust.streams.current_event`, the one piece of Faust's internals
used here (faust-streaming 0.15).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from faust import streams
from faust.types import EventT


class Message(Protocol):
    @property
    def partition(self) -> int: ...


class Event(Protocol):
    """The part of a Faust stream event read here."""

    @property
    def message(self) -> Message: ...

    @property
    def value(self) -> Any: ...


E = TypeVar("E", bound=Event)


def by_partition(events: Iterable[E]) -> dict[int, list[E]]:
    """A batch's events per partition, each partition's in their order."""
    groups: dict[int, list[E]] = {}
    for event in events:
        groups.setdefault(event.message.partition, []).append(event)
    return groups


@contextmanager
def standing_on(group: Sequence[EventT[Any]]) -> Iterator[None]:
    """Make the group's last event the current event (table writes go to its partition)."""
    token = streams._current_event.set(weakref.ref(group[-1]))
    try:
        yield
    finally:
        streams._current_event.reset(token)
