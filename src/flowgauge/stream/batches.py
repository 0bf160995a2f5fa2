"""Batches of a Faust stream: what already arrived, grouped by partition, tables written per group.

An agent that takes its stream in batches (acked after the batch's body) pays flowgauge's
per-record work per key instead of per record. `drained` makes the batches: the events the
consumer has already handed to the agent's queue, up to a bound, read through the stream's own
iterator (never Faust's `take_events`, whose background drainer task can die unseen and leave
the agent waiting for good: docs/architecture.md "Per batch, not per event"). A live trickle
gives batches of one with no added wait; a backlog gives full batches.

Faust decides a table write's changelog partition (and a RocksDB store's partition) from the
*current event*, which a batch leaves on its last event, of any partition. `standing_on` sets
it to an event of the group's own partition while that group's values are written, so a key is
still always written to the partition of the records it came from. Faust internals used here
(faust-streaming 0.15): the context variable behind `faust.streams.current_event`, and the
stream's channel queue (`empty()`), the consumer's hand-over point.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Protocol, TypeVar

from faust import streams
from faust.streams import Stream
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
        # At shutdown the loop closes a suspended agent generator from a task of its own:
        # the token is then another context's, and that context ends with the agent.
        with suppress(ValueError):
            streams._current_event.reset(token)


class Queue(Protocol):
    def empty(self) -> bool: ...


#: Loop turns a batch waits for the consumer's next event before it ends (`_more_coming`).
PATIENCE = 16


async def _more_coming(queue: Queue) -> bool:
    """Whether an event reaches the queue within a few loop turns.

    Faust's consumer hands over a fetched record in a few loop turns of its own (a task per
    record, `../shared/notes/faust-per-message.md`), so an agent that ends its batch on the first
    empty queue takes a backlog of one-event records as batches of one, measured: 7,800 of
    10,800 batches, and pays its per-batch work (facts, table writes, offsets) per record. A few
    turns let a backlog gather while a live trickle waits only microseconds."""
    for _ in range(PATIENCE):
        await asyncio.sleep(0)
        if not queue.empty():
            return True
    return False


async def drained(stream: Stream[Any], most: int) -> AsyncIterator[Sequence[EventT[Any]]]:
    """The stream's events in batches of what had arrived, at most `most`, each batch acked
    once the caller's body for it is done (so a crash mid-batch re-reads the whole batch).

    A batch ends when the channel's queue is empty (nothing more fetched yet) or it is full;
    events still being gathered when the stream stops are left unacked, never half-done.
    """
    stream.enable_acks = False  # acked here, after the body, not when the next event is read
    queue: Queue = stream.channel.queue  # type: ignore[attr-defined]
    batch: list[EventT[Any]] = []
    async for event in stream.events():
        batch.append(event)
        if len(batch) < most and not queue.empty():
            continue
        if len(batch) < most and await _more_coming(queue):
            continue
        try:
            yield tuple(batch)
        finally:
            for done in batch:
                await stream.ack(done)
            batch.clear()
