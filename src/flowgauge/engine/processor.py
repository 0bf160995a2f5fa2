"""One processor's whole state: item timelines into flow metrics, DORA timelines into DORA's keys.

The live worker and the batch report both go through this class with the same keys and the same
stored values, so `/metrics` and `flowgauge report --format prom` cannot drift apart.

State keys (also the events topic's message keys): `i|<stream>|<item>` for an item of a stream,
`d|<service>|<item>` for one DORA entity of a service (a deployment, an incident, a push or merged
pull request: `dora_key`). The DORA engine joins a service's entities across keys.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager

import orjson

from flowgauge.engine.dora import DoraState
from flowgauge.engine.flow import FlowState
from flowgauge.engine.snapshot import Snapshot, StreamSignals
from flowgauge.engine.stored import Cached, cached, facts_from_json
from flowgauge.engine.timeline import Timeline
from flowgauge.keys import DORA_PREFIX, ITEM_PREFIX, item_parts, state_key
from flowgauge.model import DORA_TYPES, MICROS, FlowConfig, FlowEvent, to_micros


def last_micros(timeline: Timeline) -> int | None:
    """The time of a timeline's latest event (None: no events)."""
    return to_micros(timeline.events[-1].at) if timeline.events else None


def route(config: FlowConfig, event: FlowEvent) -> FlowEvent | None:
    """The event with its stream set (item events), itself (DORA), or None when it goes nowhere.

    None is either an item event that no stream matches (unrouted: a config gap, counted) or an
    incident candidate of a tracker issue that the config does not make an incident (dropped:
    the normal fate of most issues, not an error; `DoraConfig.counts_incident`). The two are told
    apart by the event's type: only DORA events are dropped.
    """
    if event.type in DORA_TYPES:
        return event if config.dora.counts_incident(event) else None
    stream = config.route(event)
    if stream is None:
        return None
    if event.stream == stream.name:
        return event
    return event.model_copy(update={"stream": stream.name})


class Processor:
    """Timelines in, a `Snapshot` out; `now` is the wall clock or the latest stored event time."""

    def __init__(self, config: FlowConfig) -> None:
        self.config = config
        self.flow = FlowState(config)
        self.dora = DoraState(config.dora)
        self.latest_event_micros: int | None = None
        self.exposed: frozenset[str] | None = None  # None: every stream (a report)
        self.exposes_dora = True

    def entry(self, key: str, timeline: Timeline) -> Cached | None:
        """What an item's timeline contributes, as stored beside it (engine/stored.py), without
        applying it: the timelines stage derives, the stream stage applies. None for DORA keys."""
        if not key.startswith(ITEM_PREFIX):
            return None
        stream = item_parts(key)[0]
        facts = self.flow.derive(stream, timeline)
        return cached(self.flow.fingerprint(stream), last_micros(timeline), facts)

    def put_entry(self, key: str, entry: Cached) -> bool:
        """Replace an item's contribution by a stored entry derived elsewhere (the timelines
        stage); False, and nothing applied, when the entry was derived under another config
        (another fingerprint) or the key is not an item of a configured stream."""
        if not self.accepts(key) or not key.startswith(ITEM_PREFIX):
            return False
        if entry[0] != self.flow.fingerprint(item_parts(key)[0]):
            return False
        self.put_current(key, entry)
        return True

    def put_current(self, key: str, entry: Cached) -> None:
        """`put_entry` of an entry the caller checked is of this config's stream (a rebuild
        checks each stream's fingerprint once, not its 1,000,000 items')."""
        stream, item = item_parts(key)
        self.flow.apply_facts(stream, item, None if entry[2] is None else facts_from_json(entry[2]))
        self._saw(entry[1])

    def see(self, micros: int) -> None:
        """An event time seen elsewhere (another worker's timelines): `now` of `clock: event`."""
        self._saw(micros)

    def expose(self, streams: Collection[str] | None, dora: bool) -> None:
        """Show only these streams (None: all) and DORA only if `dora`: a worker shows what it
        holds the facts of, so that every series comes from exactly one worker."""
        self.exposed = None if streams is None else frozenset(streams)
        self.exposes_dora = dora

    def signals(self, now_micros: int) -> list[StreamSignals]:
        """The bottleneck signals of the streams this processor shows."""
        return self.flow.signals(now_micros, self.exposed)

    def apply(self, key: str, timeline: Timeline) -> Cached | None:
        """Replace the contribution of `key` with that of its (whole, deduplicated) timeline.

        Returns what to store beside an item's timeline (`Timeline.to_bytes(cached=...)`) so a
        rebuild can skip re-deriving it (engine/stored.py); None for DORA keys.
        """
        last = last_micros(timeline)
        entry: Cached | None = None
        if key.startswith(ITEM_PREFIX):
            stream, item = item_parts(key)
            facts = self.flow.apply(stream, item, timeline)
            entry = cached(self.flow.fingerprint(stream), last, facts)
        elif key.startswith(DORA_PREFIX):
            self.dora.apply(key[len(DORA_PREFIX) :], list(timeline.events))
        else:
            raise ValueError(f"not a state key: {key!r}")
        self._saw(last)
        return entry

    def accepts(self, key: str) -> bool:
        """Whether `key` is state under this config: a DORA key or an item of a configured stream.

        Keys carry their stream's name, so a stream renamed or removed from the config leaves its
        stored items with no stream: callers skip them (and count them) instead of failing.
        """
        if key.startswith(ITEM_PREFIX):
            return self.flow.knows(item_parts(key)[0])
        return key.startswith(DORA_PREFIX)

    def restore(self, key: str, value: bytes) -> None:
        """`apply` of a stored value: its cached facts when the config still derives them the
        same way (same fingerprint), else the decoded timeline. For rebuilds."""
        data = orjson.loads(value)
        entry = data.get("x")
        if entry is not None and key.startswith(ITEM_PREFIX) and self.put_entry(key, entry):
            return
        self.apply(key, Timeline.from_data(data))

    def _saw(self, last: int | None) -> None:
        latest = self.latest_event_micros
        if last is not None and (latest is None or last > latest):
            self.latest_event_micros = last

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Apply many timelines at once (a rebuild, a report): the sorted structures are sorted
        once at the end instead of per value (engine/bulk.py). Read no metrics meanwhile."""
        self.flow.begin_load()
        try:
            yield
        finally:
            self.flow.end_load()

    def forget(self, key: str) -> None:
        """Drop a key whose partition this processor no longer holds."""
        if key.startswith(ITEM_PREFIX):
            stream, item = item_parts(key)
            self.flow.forget(stream, item)
        elif key.startswith(DORA_PREFIX):
            self.dora.apply(key[len(DORA_PREFIX) :], [])

    def now_micros(self, wall_micros: int) -> int:
        """METRICS.md `now`: the wall clock, or with `clock: event` the latest event time seen."""
        if self.config.clock == "event":
            return self.latest_event_micros if self.latest_event_micros is not None else 0
        return wall_micros

    def snapshot(self, wall_micros: int) -> Snapshot:
        now, shown = self.now_micros(wall_micros), self.exposed
        return Snapshot(
            now_seconds=now / MICROS,
            streams=tuple(self.flow.metrics(now, shown)),
            services=tuple(self.dora.metrics(now)) if self.exposes_dora else (),
            unmapped_states={
                k: v for k, v in self.flow.unmapped.items() if shown is None or k in shown
            },
            signals=tuple(self.flow.signals(now, shown)),
            stream_types={
                s.name: s.type for s in self.config.streams if shown is None or s.name in shown
            },
            unmapped_by_state={
                s: dict(n)
                for s, n in self.flow.unmapped_by_state.items()
                if shown is None or s in shown
            },
        )

    @classmethod
    def from_events(cls, config: FlowConfig, events: Iterable[FlowEvent]) -> Processor:
        """Batch: the state a worker would hold after seeing exactly these events."""
        processor = cls(config)
        timelines: dict[str, Timeline] = {}
        for event in events:
            routed = route(config, event)
            if routed is None:
                continue  # unrouted (the worker counts them) or a dropped incident candidate
            key = state_key(routed)
            current = timelines.get(key) or Timeline.from_events(())
            updated = current.add(routed)
            if updated is not None:
                timelines[key] = updated
        with processor.loading():
            for key, timeline in timelines.items():
                processor.apply(key, timeline)
        return processor
