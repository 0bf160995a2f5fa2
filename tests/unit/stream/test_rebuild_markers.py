"""The timelines stage's rebuild and its per-partition "facts sent" markers: a partition marked
under this config is not read at all (its facts are the stream stage's), one marked under another
config (or by an older flowgauge) is read and its stale facts re-derived and sent, one never
marked sends every fact; each is marked with this config's value at its next message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from flowgauge.model.loader import parse_config
from flowgauge.sources import generic
from flowgauge.stream import recovery
from flowgauge.stream.facts import Fact, sent_key, unpacked
from flowgauge.stream.gaps import GapKeeper
from flowgauge.stream.handlers import Handlers
from flowgauge.stream.offsets import OffsetSet, table_key
from flowgauge.stream.recovery import OWN_RECORD, home_partition, own_records, rebuild
from flowgauge.stream.state import WorkerState

STREAMS = """
clock: event
streams:
  - name: ops
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: doing, kind: active, states: [%s]}
      - {name: done, kind: done, states: [Done]}
"""
CONFIG = parse_config(STREAMS % "Doing", "markers.yaml")
REMAPPED = parse_config(STREAMS % "Doing, Review", "markers.yaml")  # another stage mapping
PARTITIONS = 2
T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Table(dict[bytes, bytes]):
    """A memory store's table (`stored_items` reads `items()`); `reads`: timelines decoded."""

    data = None
    reads = 0


class Unused:
    async def send(self, **_: object) -> object:
        raise AssertionError("nothing is sent here")


def written(config_marked: bool = True) -> Table:
    """What the agents left: 12 items over both partitions, each partition marked, a gap record."""
    table = Table()
    state = WorkerState(CONFIG, CollectorRegistry())
    state.partitions = PARTITIONS
    handlers = Handlers(state, table, Unused(), Unused(), Unused(), PARTITIONS)
    for n in range(12):
        for k, status in enumerate(["Todo", "Doing", "Done"][: 1 + n % 3]):
            body = {"id": f"{n}-{k}", "type": "state", "item": f"I{n}", "state": status}
            body["at"] = (T0 + timedelta(hours=n + k)).isoformat()
            for event in generic.normalize({}, body):
                handlers.apply(f"i|ops|{event.item}".encode(), event)
    for partition in range(PARTITIONS):
        table[sent_key(partition)] = state.marker if config_marked else b"1"
    table[table_key("events", 0)] = OffsetSet([(0, 9)]).to_bytes()
    return table


def rebuilt(table: Table, config: object = CONFIG) -> tuple[WorkerState, GapKeeper, list[Fact]]:
    state = WorkerState(config, CollectorRegistry())  # type: ignore[arg-type]
    state.partitions = PARTITIONS
    gaps = GapKeeper("127.0.0.1:1", "g", {"raw": "r", "events": "e"}, lambda *_: None)
    sent: list[Fact] = []

    async def send(key: bytes, value: bytes) -> None:
        sent.extend(Fact.from_bytes(fact) for fact in unpacked(value))

    def loads(value: bytes) -> Any:
        table.reads += 1
        return orjson.loads(value)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recovery, "orjson", SimpleNamespace(loads=loads))
        asyncio.run(rebuild(state, table, gaps, range(PARTITIONS), send))
    return state, gaps, sent


def test_a_partition_marked_under_this_config_is_not_read() -> None:
    table = written()
    state, gaps, sent = rebuilt(table)
    assert table.reads == 0 and sent == [] and state.unmarked == set()
    assert gaps.sets[("events", 0)].to_bytes() == b"[[0,9]]"  # the offset records come back


def test_a_marker_of_an_older_flowgauge_reads_the_partition_once_and_is_rewritten() -> None:
    table = written(config_marked=False)
    state, _, sent = rebuilt(table)
    assert table.reads == 12 and sent == []  # every cached fact is current: nothing to send
    assert state.watermark is not None
    assert state.unmarked == {0, 1}  # marked with this config's value at the next message
    handlers = Handlers(state, table, Unused(), Unused(), Unused(), PARTITIONS)
    handlers.mark(0)
    handlers.mark(1)
    assert table[sent_key(0)] == table[sent_key(1)] == state.marker
    table.reads = 0
    assert rebuilt(table)[2] == [] and table.reads == 0


def test_another_stage_mapping_re_derives_and_sends_every_stale_fact() -> None:
    table = written()
    state, _, sent = rebuilt(table, REMAPPED)
    assert table.reads == 12 and state.unmarked == {0, 1}
    assert sorted(fact.key for fact in sent) == sorted(f"i|ops|generic:I{n}" for n in range(12))
    assert {fact.entry[0] for fact in sent if fact.entry} == {state.deriver.flow.fingerprint("ops")}


def test_a_partition_never_marked_sends_all_its_facts_and_only_its() -> None:
    table = written()
    del table[sent_key(1)]
    _, _, sent = rebuilt(table)
    keys = {fact.key for fact in sent}
    assert keys and all(home_partition(key, PARTITIONS) == 1 for key in keys)
    assert table.reads == len(keys) < 12  # only the unmarked partition is read


def test_the_tables_own_records_sort_before_every_state_key() -> None:
    """`own_records` stops a RocksDB partition at its first state key: every record of the
    table's own (offset records, markers) must sort before every state key and Faust's offset
    key."""
    own = [table_key("events", 3), table_key("raw", 0), sent_key(2)]
    others = [b"i|ops|generic:I0", b"d|api|D0", b"__faust\x00offset__"]
    assert max(own) < min(others) and all(key.startswith(OWN_RECORD) for key in own)
    table = written()
    assert dict(own_records(table)) == {k: v for k, v in table.items() if k.startswith(b"\x00")}
