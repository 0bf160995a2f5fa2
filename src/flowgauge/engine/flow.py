"""Flow metrics of every configured stream, from whole item timelines.

The live worker calls `apply` with the stored timeline of an item each time it changes (and
`forget` when it loses the item's partition); the batch report builds the same state with
`from_events`. Both end in the same `StreamAggregate`s, so they cannot disagree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Mapping

from flowgauge.engine.aggregate import StreamAggregate
from flowgauge.engine.item import ItemFacts, derive
from flowgauge.engine.snapshot import StreamMetrics, StreamSignals
from flowgauge.engine.stored import fingerprint
from flowgauge.engine.timeline import Timeline
from flowgauge.model.config import FlowConfig
from flowgauge.model.events import ITEM_TYPES, FlowEvent


class FlowState:
    """One `StreamAggregate` per configured stream, plus the unmapped-state counts."""

    def __init__(self, config: FlowConfig) -> None:
        self.config = config
        teams = config.team_of()
        self._streams = {s.name: StreamAggregate(s, teams) for s in config.streams}
        #: per stream, per item: the names of its unmapped stage events (docs/metrics.md)
        self._unmapped_by_item: dict[str, dict[str, tuple[str, ...]]] = {
            s.name: {} for s in config.streams
        }
        self._unmapped = dict.fromkeys(self._streams, 0)
        self._unmapped_names: dict[str, Counter[str]] = {s: Counter() for s in self._streams}
        self._prints: dict[str, str] = {}
        #: item events `from_events` could route to no stream (distinct event ids)
        self.unrouted = 0

    @property
    def unmapped(self) -> Mapping[str, int]:
        """Per stream: state events (of live, not deleted items) whose state maps to no stage."""
        return self._unmapped

    @property
    def unmapped_by_state(self) -> Mapping[str, Mapping[str, int]]:
        """Per stream, per state name: the unmapped stage events counted in `unmapped`."""
        return self._unmapped_names

    def apply(self, stream: str, item: str, timeline: Timeline) -> ItemFacts | None:
        """Replace `item`'s contribution with the one its whole timeline gives; its facts."""
        aggregate = self._aggregate(stream)
        facts = derive(timeline, aggregate.stream, aggregate.plan)
        self.apply_facts(stream, item, facts)
        return facts

    def derive(self, stream: str, timeline: Timeline) -> ItemFacts | None:
        """The facts `apply` would put, without putting them (the timelines stage's job)."""
        aggregate = self._aggregate(stream)
        return derive(timeline, aggregate.stream, aggregate.plan)

    def apply_facts(self, stream: str, item: str, facts: ItemFacts | None) -> None:
        """`apply` with the facts already derived (a rebuild from cached facts, engine/stored)."""
        self._aggregate(stream).put(item, facts)
        self._set_unmapped(stream, item, () if facts is None else facts.unmapped_states)

    def items(self, stream: str) -> Mapping[str, ItemFacts]:
        """The facts of every item of `stream` this state holds (read-only)."""
        return self._aggregate(stream).items

    def knows(self, stream: str) -> bool:
        """Whether `stream` is one of the config's streams."""
        return stream in self._streams

    def fingerprint(self, stream: str) -> str:
        """The `engine.stored` fingerprint of what `derive` reads of `stream`'s config."""
        found = self._prints.get(stream)
        if found is None:
            found = self._prints[stream] = fingerprint(stream, self._aggregate(stream).plan)
        return found

    def forget(self, stream: str, item: str) -> None:
        """Drop `item` from every metric (its partition moved to another worker)."""
        self._aggregate(stream).put(item, None)
        self._set_unmapped(stream, item, ())

    def begin_load(self) -> None:
        for aggregate in self._streams.values():
            aggregate.begin_load()

    def end_load(self) -> None:
        for aggregate in self._streams.values():
            aggregate.end_load()

    def metrics(
        self, now_micros: int, streams: Container[str] | None = None
    ) -> list[StreamMetrics]:
        """Every stream's (of `streams`, None: all) gauges at `now`, in config order."""
        return [
            aggregate.metrics(now_micros)
            for name, aggregate in self._streams.items()
            if streams is None or name in streams
        ]

    def signals(
        self, now_micros: int, streams: Container[str] | None = None
    ) -> list[StreamSignals]:
        """Every stream's (of `streams`, None: all) bottleneck signals at `now`, in config order."""
        return [
            aggregate.signals(now_micros)
            for name, aggregate in self._streams.items()
            if streams is None or name in streams
        ]

    def _aggregate(self, stream: str) -> StreamAggregate:
        try:
            return self._streams[stream]
        except KeyError:
            raise ValueError(f"no stream named {stream!r} in the config") from None

    def _set_unmapped(self, stream: str, item: str, names: tuple[str, ...]) -> None:
        by_item = self._unmapped_by_item[stream]
        old = by_item.pop(item, ())
        if not old and not names:  # most items, and every item of a rebuild: nothing to count
            return
        if names:
            by_item[item] = names
        self._unmapped[stream] += len(names) - len(old)
        counts = self._unmapped_names[stream]
        counts.subtract(old)
        counts.update(names)
        for name in set(old).difference(names):
            if counts[name] <= 0:
                del counts[name]

    @classmethod
    def from_events(cls, config: FlowConfig, events: Iterable[FlowEvent]) -> FlowState:
        """Batch: the state the worker would hold after exactly these events (DORA ignored)."""
        state = cls(config)
        grouped: defaultdict[tuple[str, str], list[FlowEvent]] = defaultdict(list)
        unrouted: set[str] = set()
        for event in events:
            if event.type not in ITEM_TYPES:
                continue
            stream = config.route(event)
            if stream is None:
                unrouted.add(event.id)
                continue
            grouped[(stream.name, event.item)].append(event)
        for (stream_name, item), item_events in grouped.items():
            state.apply(stream_name, item, Timeline.from_events(item_events, stream_name))
        state.unrouted = len(unrouted)
        return state
