"""The stream stage: the facts agent's logic, and its rebuild after a recovery.

It holds, per facts partition it is assigned, every fact of the streams keyed there (a changelogged
table, co-partitioned with the facts topic) and the `Processor` built from them, and it alone shows
those streams' gauges, quantiles and signals (and DORA's, on DORA's partition): every series comes
from exactly one worker. A fact replaces the key's contribution only when it supersedes the
stored one (`facts.supersedes`), so replays and duplicates are no-ops.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from flowgauge.engine.processor import Processor
from flowgauge.engine.timeline import Timeline
from flowgauge.keys import DORA_FACTS_KEY, ITEM_PREFIX, item_parts, partition_for, stream_facts_key
from flowgauge.model import FlowConfig
from flowgauge.stream.facts import (
    Fact,
    supersedes,
    unpacked,
    watermark_key,
)
from flowgauge.stream.gaps import GapKeeper
from flowgauge.stream.recovery import StoredTable, stored_items, without_cyclic_gc
from flowgauge.stream.state import WorkerState

log = logging.getLogger(__name__)


class Table(Protocol):
    """The part of the Faust table the stream stage uses: one fact's bytes per key."""

    def get(self, key: bytes) -> bytes | None: ...

    def __setitem__(self, key: bytes, value: bytes) -> None: ...


def shown(config: FlowConfig, held: Iterable[int], partitions: int) -> tuple[set[str], bool]:
    """The streams (and whether DORA) whose facts partition is among `held`."""
    held = set(held)
    streams = {
        stream.name
        for stream in config.streams
        if partition_for(stream_facts_key(stream.name), partitions) in held
    }
    return streams, partition_for(DORA_FACTS_KEY, partitions) in held


def fingerprint_of(processor: Processor, key: str) -> str | None:
    """The fingerprint this config gives an item key's stream (None: not a configured item)."""
    if not key.startswith(ITEM_PREFIX) or not processor.accepts(key):
        return None
    return processor.flow.fingerprint(item_parts(key)[0])


@dataclass
class Fingerprints:
    """`fingerprint_of` per key, computed once per stream (a batch or a rebuild asks per fact:
    1,000,000 times in a rebuild at the issue's size)."""

    processor: Processor
    known: dict[str, str | None] = field(default_factory=dict)  # per `i|<stream>`, `d|`, ``

    def __call__(self, key: str) -> str | None:
        scope = key[: key.find("|", 2)] if key.startswith(ITEM_PREFIX) else key[:2]
        if scope not in self.known:
            self.known[scope] = fingerprint_of(self.processor, key)
        return self.known[scope]


def put(processor: Processor, fact: Fact) -> bool:
    """Apply one fact to a processor; False when its stream is not configured here."""
    if fact.watermark is not None:
        processor.see(fact.watermark)
        return True
    if fact.entry is not None:
        return processor.put_entry(fact.key, fact.entry)
    assert fact.timeline is not None
    processor.apply(fact.key, Timeline.from_data(fact.timeline))
    return True


@dataclass
class StreamStage:
    """What the facts agent does with one record: store it if newer, and apply it."""

    state: WorkerState
    table: Table

    def apply(self, partition: int, value: bytes) -> None:
        """One facts record of `partition` (raises ValueError for a fact that is no fact)."""
        for _, reason in self.apply_batch(partition, (value,)):
            raise ValueError(reason)

    def apply_batch(self, partition: int, values: Iterable[bytes]) -> list[tuple[bytes, str]]:
        """Records (packs of facts, `facts.unpacked`) of one partition, in order: per key only
        the newest is compared with the stored fact, written and applied (one table write per
        key per batch). Returns the facts that are no fact, with the reason (for the
        dead-letter topic)."""
        processor, counts = self.state.processor, self.state.metrics.facts
        fingerprint = Fingerprints(processor)

        bad: list[tuple[bytes, str]] = []
        newest: dict[bytes, tuple[Fact, bytes]] = {}
        superseded = 0
        for value in (fact for record in values for fact in unpacked(record)):
            try:
                fact = Fact.from_bytes(value)
            except ValueError as exc:
                bad.append((value, str(exc)))
                continue
            key = watermark_key(partition) if fact.watermark is not None else fact.key.encode()
            held = newest.get(key)
            if held is None or supersedes(fact, held[0], fingerprint(fact.key)):
                newest[key] = (fact, value)
            superseded += held is not None  # one of the two is left out
        outcomes = Counter({"same": superseded})
        for key, (fact, value) in newest.items():
            outcomes[self._store(processor, key, fact, value, fingerprint(fact.key))] += 1
        for outcome, n in outcomes.items():
            counts.labels(outcome).inc(n)
        return bad

    def _store(
        self, processor: Processor, key: bytes, fact: Fact, value: bytes, print_: str | None
    ) -> str:
        current = self.table.get(key)
        old = Fact.from_bytes(current) if current is not None else None
        if not supersedes(new=fact, old=old, fingerprint=print_):
            return "stale" if fact.entry is not None and fact.entry[0] != print_ else "same"
        self.table[key] = value
        put(processor, fact)
        return "applied"


@dataclass
class RestoredStreams:
    """One pass over the facts table: the processor, and the facts it could not take."""

    processor: Processor
    facts: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # per key prefix or reason
    records: list[tuple[bytes, bytes]] = field(default_factory=list)  # offset records (gaps)


def restore_streams(
    config: FlowConfig, items: Iterable[tuple[bytes, bytes]], held: Iterable[int], partitions: int
) -> RestoredStreams:
    """The stream stage's processor from exactly the facts table, showing what it holds."""
    done = RestoredStreams(Processor(config))
    processor = done.processor
    fingerprint = Fingerprints(processor)
    with processor.loading():
        for key, value in items:
            if GapKeeper.is_record_key(key):
                done.records.append((key, value))
                continue
            try:
                fact = Fact.from_bytes(value)
            except ValueError:
                done.refused["undecodable"] += 1
                continue
            if fact.entry is not None:  # an item's: of this config's stream, or stale
                if fact.entry[0] != fingerprint(fact.key):
                    done.refused["stale"] += 1  # the timelines stage re-derives and re-sends
                    continue
                processor.put_current(fact.key, fact.entry)
                done.facts += 1
                continue
            if put(processor, fact):
                done.facts += 1
    streams, dora = shown(config, held, partitions)
    processor.expose(streams, dora)
    return done


def rebuild_streams(
    state: WorkerState, table: StoredTable, held: Iterable[int], gaps: GapKeeper
) -> None:
    """The facts table's `on_recover`: the shown processor is exactly the table's facts."""
    with without_cyclic_gc():
        done = restore_streams(state.config, stored_items(table), held, state.partitions)
    gaps.load(done.records, ("facts",))
    state.processor = done.processor
    log.info("stream stage rebuilt from the table: %d facts", done.facts)
    if done.refused:
        log.warning("stored facts left out: %s", dict(done.refused))


def hide(state: WorkerState, lost: Iterable[int]) -> None:
    """Stop showing the streams (and DORA) of facts partitions this worker just lost."""
    processor = state.processor
    streams, dora = shown(state.config, lost, state.partitions)
    now = processor.exposed
    if now is None:
        now = frozenset(stream.name for stream in state.config.streams)
    processor.expose(now - streams, processor.exposes_dora and not dora)
