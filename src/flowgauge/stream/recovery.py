"""After a recovery of the timelines table: the watermark back, and facts sent again if needed.

The table then holds the worker's active partitions only (`table_standby_replicas=0`). The
timelines stage keeps no aggregate (the stream stage does, `stream/stage.py`): a rebuild reads
the latest event time (the watermark), gives the gap keeper its offset records back, and sends
the facts of keys the stream stage may not have: those whose stored facts another config derived
(a changed stage mapping: re-derived here), and every key of a partition not yet marked as sent
(a store written before the facts topic existed).
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, cast

import orjson
from faust.stores.base import SerializedStore

from flowgauge.engine.processor import last_micros
from flowgauge.engine.stored import Cached
from flowgauge.engine.timeline import Timeline
from flowgauge.keys import ITEM_PREFIX, facts_key, partition_for
from flowgauge.stream.facts import SENT_PREFIX, dora_fact, item_fact, packs, sent_key
from flowgauge.stream.gaps import GapKeeper
from flowgauge.stream.state import WorkerState

log = logging.getLogger(__name__)


class StoredTable(Protocol):
    """The part of the Faust table a rebuild reads: its store, and its items."""

    @property
    def data(self) -> object: ...

    def items(self) -> Iterable[tuple[bytes, bytes]]: ...

    def get(self, key: bytes) -> bytes | None: ...


class Send(Protocol):
    """Send one (facts key, fact) record to the facts topic."""

    async def __call__(self, key: bytes, value: bytes) -> None: ...


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Build long-lived state without the cyclic collector, then exempt it from later scans.

    A rebuild allocates several tracked objects per item and nothing it builds is garbage, yet
    each full collection walks the whole growing heap: at 300,000 items that made the rebuild
    2.8x slower (bench/engine.py `rebuild`). `gc.freeze()` then keeps the rebuilt state out of
    every later collection; reference counting still frees it when a rebalance replaces it.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.freeze()


def stored_items(table: StoredTable) -> Iterable[tuple[bytes, bytes]]:
    """The (key, value) bytes the table holds for the active partitions.

    Keys and values use the raw codec, so a serialized store's (RocksDB's) own iterator gives
    the same pairs without Faust passing each through its serializer registry; the memory store
    holds them as they are.
    """
    store = table.data
    if isinstance(store, SerializedStore):
        return cast(Iterable[tuple[bytes, bytes]], store._iteritems())
    return table.items()


#: The first byte of the keys of the table's own records (offset records, "facts sent" markers):
#: they sort before every state key (`i|...`, `d|...`) and Faust's offset key.
OWN_RECORD = b"\x00"


def own_records(table: StoredTable) -> Iterable[tuple[bytes, bytes]]:
    """The table's own records only: a RocksDB store reads each active partition's database up
    to its first state key (keys are sorted), not its 1,000,000 timelines."""
    store = table.data
    if not isinstance(store, SerializedStore):
        return ((key, value) for key, value in table.items() if key.startswith(OWN_RECORD))

    def leading() -> Iterator[tuple[bytes, bytes]]:
        for db in store._dbs_for_actives():  # type: ignore[attr-defined]
            for key, value in store._visible_items(db):  # type: ignore[attr-defined]
                if not key.startswith(OWN_RECORD):
                    break
                yield key, value

    return leading()


def home_partition(key: str, partitions: int) -> int:
    """The timelines partition of a state key (`keys.partition_key` of its events)."""
    kind, _, rest = key.partition("|")
    scope = rest.partition("|")[2] if kind == "i" else rest.partition("|")[0]
    return partition_for(f"{kind}|{scope}".encode(), partitions)


@dataclass
class Restored:
    """What one pass over the timelines table gave: the watermark, the offset records, the
    facts to send again, what was left out."""

    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    watermark: int | None = None
    timelines: int = 0
    #: (state key, its event count, its timeline or its valid stored facts)
    resend: list[tuple[str, int, Timeline | Cached]] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)  # per stream no longer configured

    def saw(self, micros: int | None) -> None:
        if micros is not None and (self.watermark is None or micros > self.watermark):
            self.watermark = micros


def restore(
    state: WorkerState,
    items: Iterable[tuple[bytes, bytes]],
    unsent: Callable[[str], bool],
    current: Callable[[str], bool] = lambda _: False,
) -> Restored:
    """One pass over the timelines table: the watermark, offset records set aside, and the facts
    to send again: of keys whose stored facts another config derived (stale), and of every key
    `unsent` names (its partition's facts never went out). A key `current` names (its partition
    marked as sent under this config) is counted, not read: its facts are the stream stage's."""
    done = Restored()
    deriver = state.deriver
    for key, value in items:
        if GapKeeper.is_record_key(key):
            done.records.append((key, value))
            continue
        if key.startswith(SENT_PREFIX):
            continue
        text = key.decode()
        if current(text):
            done.timelines += 1
            continue
        if not deriver.accepts(text):  # i|<stream>|<item> of a stream the config no longer has
            done.left_out[text.partition("|")[2].partition("|")[0]] += 1
            continue
        done.timelines += 1
        data = orjson.loads(value)
        entry = data.get("x")
        if text.startswith(ITEM_PREFIX) and entry is not None:
            stream = text[len(ITEM_PREFIX) :].partition("|")[0]
            if entry[0] == deriver.flow.fingerprint(stream):
                done.saw(entry[1])
                if unsent(text):
                    done.resend.append((text, len(data["e"]), entry))
                continue
        timeline = Timeline.from_data(data)
        done.saw(last_micros(timeline))
        if text.startswith(ITEM_PREFIX) or unsent(text):  # stale facts, or never sent
            done.resend.append((text, len(timeline.events), timeline))
    return done


def resent_facts(
    state: WorkerState, resend: list[tuple[str, int, Timeline | Cached]]
) -> Iterator[tuple[bytes, bytes]]:
    """The (facts key, fact) records of `Restored.resend`."""
    for key, events, stored in resend:
        if isinstance(stored, Timeline):
            if not key.startswith(ITEM_PREFIX):
                yield facts_key(key), dora_fact(key, stored)
                continue
            entry = state.deriver.entry(key, stored)
            assert entry is not None
            stored = entry
        yield facts_key(key), item_fact(key, events, stored)


async def rebuild(
    state: WorkerState, table: StoredTable, gaps: GapKeeper, held: Collection[int], send: Send
) -> None:
    """The timelines table's `on_recover`: the watermark back, and the facts the stream stage
    may lack sent again (stale ones, and those of partitions never marked sent).

    A partition marked as sent under this very config (`facts.sent_marker`: the usual restart)
    is not read at all: its stored facts are the stream stage's already, and decoding 1,000,000
    timelines to find that out was a third of a recovery (docs/performance.md). The timelines'
    watermark then comes back with the next event; the stream stage keeps the one it stored."""
    partitions = state.partitions
    marks = {p: table.get(sent_key(p)) for p in held}
    unmarked = {p for p, mark in marks.items() if mark is None}
    current = {p for p, mark in marks.items() if mark == state.marker}

    def unsent(key: str) -> bool:
        return bool(unmarked) and home_partition(key, partitions) in unmarked

    everything = bool(current) and current == set(marks)  # the usual restart: no hashing

    def read_none(key: str) -> bool:
        return everything or (bool(current) and home_partition(key, partitions) in current)

    items = own_records(table) if everything else stored_items(table)
    done = restore(state, items, unsent, read_none)
    gaps.load(done.records, ("raw", "events"))
    state.saw(done.watermark)  # of the partitions read: the stream stage keeps the others'
    state.watermark_sent = None  # send it again: the stream stage may be new
    for key, pack in packs(resent_facts(state, done.resend)):
        await send(key, pack)
    state.unmarked = set(marks) - current  # marked (again) at their next message
    if everything:
        log.info("timelines rebuilt: every partition's facts current, no timeline read")
    else:
        log.info(
            "timelines rebuilt: %d timelines, %d facts sent again", done.timelines, len(done.resend)
        )
    if done.left_out:
        log.warning(
            "%d stored items of streams not in the config left out of every metric: %s "
            "(a stream renamed or removed; they come back if it returns)",
            done.left_out.total(),
            dict(done.left_out.most_common(10)),
        )
