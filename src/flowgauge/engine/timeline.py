"""One item's (or one service's) events: deduplicated by id, in timeline order.

METRICS.md makes metrics a function of the *set* of events, never of their arrival order or of
redeliveries. Keeping the events as an ordered set by `(at, id)` gives exactly that: whatever
order the events came in, the same set gives the same `Timeline`, and a redelivery is a no-op.

The whole value is stored per key in a Faust table, so it serializes compactly (fields every
event shares are written once) and round-trips to an equal value.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import TypeAdapter

from flowgauge.model.events import FlowEvent

#: Fields that nearly always repeat across one timeline's events: written once, as the values of
#: the first event, and per event only where they differ.
_HOISTED: tuple[str, ...] = ("item", "stream", "source", "project", "kind")
_FORMAT = 1
_EVENTS: TypeAdapter[tuple[FlowEvent, ...]] = TypeAdapter(tuple[FlowEvent, ...])
#: What `exclude_defaults` leaves out of a hoisted field (all of them strings or None).
_HOISTED_DEFAULTS: dict[str, Any] = {n: FlowEvent.model_fields[n].default for n in _HOISTED}


@dataclass(frozen=True, slots=True)
class Timeline:
    """Events ordered by `FlowEvent.sort_key()` (time, then id), each id at most once.

    `stream` is the value stream the timeline belongs to (None for DORA timelines, or when not
    known); it defaults to the first `stream` an event carries.
    """

    events: tuple[FlowEvent, ...] = ()
    stream: str | None = None

    @classmethod
    def from_events(cls, events: Iterable[FlowEvent], stream: str | None = None) -> Timeline:
        """Batch construction: sort once instead of inserting one by one; first id wins."""
        seen: set[str] = set()
        unique: list[FlowEvent] = []
        for event in events:
            if event.id not in seen:
                seen.add(event.id)
                unique.append(event)
        unique.sort(key=FlowEvent.sort_key)
        if stream is None:
            stream = next((e.stream for e in unique if e.stream is not None), None)
        return cls(tuple(unique), stream)

    def add(self, event: FlowEvent) -> Timeline | None:
        """A new timeline with `event` in place, or None if its id is already present.

        None lets the caller skip the table write entirely for a redelivered event.
        """
        if any(existing.id == event.id for existing in self.events):
            return None
        index = bisect_right(self.events, event.sort_key(), key=FlowEvent.sort_key)
        events = (*self.events[:index], event, *self.events[index:])
        return Timeline(events, self.stream if self.stream is not None else event.stream)

    def merge(self, events: Iterable[FlowEvent]) -> tuple[Timeline, int]:
        """This timeline with `events` in place, and how many were new (ids not present yet,
        first id wins): one sort for the lot, so a record of an item's whole history costs
        O((n + k) log(n + k)) instead of a copy of the timeline per event."""
        seen = {existing.id for existing in self.events}
        new: list[FlowEvent] = []
        for event in events:
            if event.id not in seen:
                seen.add(event.id)
                new.append(event)
        if len(new) <= 1:
            added = self.add(new[0]) if new else None
            return (self, 0) if added is None else (added, 1)
        merged = sorted((*self.events, *new), key=FlowEvent.sort_key)
        stream = self.stream
        if stream is None:  # as `add` one by one would: the first new event naming one
            stream = next((e.stream for e in new if e.stream is not None), None)
        return Timeline(tuple(merged), stream), len(new)

    def to_bytes(self, cached: list[Any] | None = None) -> bytes:
        """Compact JSON: shared fields once, each event without its defaults.

        `cached` (engine/stored.py) is stored beside the events under "x" for a faster rebuild;
        `from_bytes` ignores it.
        """
        hoisted: dict[str, Any] = {}
        if self.events:
            first = self.events[0]
            hoisted = {name: getattr(first, name) for name in _HOISTED}
        # one serializer call for the whole tuple, not a `model_dump` per event (faster: see
        # `python -m bench.engine timeline-codec`, docs/performance.md)
        encoded: list[dict[str, Any]] = _EVENTS.dump_python(
            self.events, mode="json", exclude_defaults=True
        )
        for data in encoded:
            for name, value in hoisted.items():
                own = data.get(name, _HOISTED_DEFAULTS[name])  # absent: it is the default
                if own == value:
                    data.pop(name, None)
                elif name not in data:  # written even when it is the default (absent would
                    data[name] = own  # mean "hoisted")
        shared = {name: value for name, value in hoisted.items() if value is not None}
        stored: dict[str, Any] = {"v": _FORMAT, "s": self.stream, "h": shared, "e": encoded}
        if cached is not None:
            stored["x"] = cached
        raw = orjson.dumps(stored)
        # orjson's bytes keep a ~4 KiB allocation behind a ~350 B value; the table holds one
        # value per item, so copy it to its exact size (4.8 KB -> 1.1 KB per item, bench/).
        return bytes(memoryview(raw))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Timeline:
        """Inverse of `to_bytes` (events are stored in order already, so no re-sort)."""
        return cls.from_data(orjson.loads(raw))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Timeline:
        """`from_bytes` after `orjson.loads`, for a caller that read the value's "x" first."""
        if data.get("v") != _FORMAT:
            raise ValueError(f"unknown timeline format: {data.get('v')!r}")
        hoisted: dict[str, Any] = data["h"]
        # one validator call for the whole list: 7.8 instead of 10.7 us for 3 events (bench/)
        events = _EVENTS.validate_python([{**hoisted, **event} for event in data["e"]])
        return cls(events, data["s"])
