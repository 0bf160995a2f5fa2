"""After a recovery: the processor rebuilt from exactly the table's timelines.

The table then holds the worker's active partitions only (`table_standby_replicas=0`); the
processor is built from them, the gap keeper gets its persisted offset records back, and the
worker is ready. No aggregate is ever persisted, so nothing else needs restoring.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, cast

from faust.stores.base import SerializedStore

from flowgauge.engine.processor import Processor
from flowgauge.stream.gaps import GapKeeper
from flowgauge.stream.state import WorkerState

log = logging.getLogger(__name__)


class StoredTable(Protocol):
    """The part of the Faust table a rebuild reads: its store, and its items."""

    @property
    def data(self) -> object: ...

    def items(self) -> Iterable[tuple[bytes, bytes]]: ...


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


@dataclass
class Restored:
    """What one pass over the table gave: the processor, the offset records, what was left out."""

    processor: Processor
    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    timelines: int = 0
    left_out: Counter[str] = field(default_factory=Counter)  # per stream no longer configured


def restore(state: WorkerState, items: Iterable[tuple[bytes, bytes]]) -> Restored:
    """One pass: timelines into a new processor, offset records set aside."""
    done = Restored(Processor(state.config))
    with without_cyclic_gc(), done.processor.loading():
        for key, value in items:
            if GapKeeper.is_record_key(key):
                done.records.append((key, value))
                continue
            text = key.decode()
            if done.processor.accepts(text):
                done.processor.restore(text, value)
                done.timelines += 1
            else:  # i|<stream>|<item> of a stream the config no longer has
                done.left_out[text.partition("|")[2].partition("|")[0]] += 1
    return done


async def rebuild(state: WorkerState, table: StoredTable, gaps: GapKeeper) -> None:
    """Faust's `on_recover`: the processor is exactly the table's (active partitions') state."""
    done = restore(state, stored_items(table))
    gaps.load(done.records)
    state.processor = done.processor
    state.ready = True
    state.metrics.ready.set(1)
    # counted in the loop: len(table) walks every key of a RocksDB store once more (~1 s/1M)
    log.info("state rebuilt from the table: %d timelines", done.timelines)
    if done.left_out:
        log.warning(
            "%d stored items of streams not in the config left out of every metric: %s "
            "(a stream renamed or removed; they come back if it returns)",
            done.left_out.total(),
            dict(done.left_out.most_common(10)),
        )
