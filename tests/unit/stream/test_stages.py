"""The two stages without a broker: any number of workers show every series exactly once, equal to
the report, whatever order and however often the facts arrive, and again after a rebuild.

The timelines stage (`Handlers.apply`) turns events into facts; the facts are then delivered to
the stream stages (`StreamStage.apply`) of `workers` workers sharing the facts partitions, in a
shuffled order with duplicates (stronger than Kafka's per-partition order).
"""

from __future__ import annotations

import contextvars
import random
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from faust.streams import current_event
from faust.types import EventT
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from flowgauge.engine.processor import Processor, route
from flowgauge.engine.snapshot import Snapshot
from flowgauge.engine.timeline import Timeline
from flowgauge.keys import facts_key, partition_for, state_key
from flowgauge.model import FlowEvent
from flowgauge.model.loader import parse_config
from flowgauge.sources import generic
from flowgauge.stream.batches import by_partition, standing_on
from flowgauge.stream.facts import (
    SEPARATOR,
    Fact,
    dora_fact,
    item_fact,
    packs,
    supersedes,
    unpacked,
    watermark_fact,
)
from flowgauge.stream.handlers import Handlers
from flowgauge.stream.offsets import OffsetSet, table_key
from flowgauge.stream.stage import StreamStage, hide, restore_streams
from flowgauge.stream.state import WorkerState

CONFIG = parse_config(
    """
clock: event
streams:
  - name: web
    window: 20d
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: doing, kind: active, states: [Doing], wip_limit: 2}
      - {name: done, kind: done, states: [Done]}
  - name: ops
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: done, kind: done, states: [Done]}
  - name: data
    sle: 3d
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: doing, kind: active, states: [Doing]}
      - {name: done, kind: done, states: [Done]}
dora:
  production: [production]
  window: 30d
""",
    "stages-test.yaml",
)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def history(rng: random.Random, items: int, deploys: int) -> list[FlowEvent]:
    raw: list[dict[str, Any]] = []
    for i in range(items):
        t = T0 + timedelta(hours=rng.randint(0, 600))
        stream = rng.choice(["web", "ops", "data"])
        raw.append({"id": f"{i}-c", "type": "created", "item": f"I{i}", "at": t.isoformat()})
        for k, state in enumerate(rng.sample(["Todo", "Doing", "Done", "Todo", "Done"], 3)):
            t += timedelta(minutes=rng.randint(1, 3000))
            raw.append(
                {"id": f"{i}-{k}", "type": "state", "item": f"I{i}", "state": state}
                | {"at": t.isoformat()}
            )
        for event in raw[-4:]:
            event["stream"] = stream
        if rng.random() < 0.05:
            raw.append(
                {"id": f"{i}-x", "type": "deleted", "item": f"I{i}", "stream": stream}
                | {"at": (t + timedelta(hours=1)).isoformat()}
            )
    for d in range(deploys):
        t = T0 + timedelta(hours=rng.randint(0, 600))
        service = rng.choice(["api", "web"])
        raw.append(
            {"id": f"dep-{d}", "type": "deployment", "item": f"D{d}", "at": t.isoformat()}
            | {"service": service, "environment": "production", "status": "success"}
            | {"changes": [{"id": f"c{d}", "committed_at": (t - timedelta(hours=3)).isoformat()}]}
        )
        if rng.random() < 0.4:
            opened = t + timedelta(hours=2)
            raw.append(
                {"id": f"inc-{d}-o", "type": "incident_opened", "item": f"X{d}"}
                | {"at": opened.isoformat(), "service": service, "deployment": f"D{d}"}
            )
            resolved = {"id": f"inc-{d}-r", "type": "incident_resolved", "item": f"X{d}"}
            if rng.random() < 0.5:  # no service: the key `d||X<d>`, joined across keys
                resolved["service"] = service
            raw.append(resolved | {"at": (opened + timedelta(minutes=90)).isoformat()})
    return generic.normalize({}, raw)


def timelines_stage(events: list[FlowEvent]) -> tuple[list[tuple[bytes, bytes]], int]:
    """The facts the timelines stage sends for these deliveries, and its watermark."""
    state = WorkerState(CONFIG, CollectorRegistry())
    handlers = Handlers(state, {}, Unused(), Unused(), Unused(), partitions=1)
    facts: list[tuple[bytes, bytes]] = []
    for event in events:
        routed = route(CONFIG, event)
        if routed is not None:
            handlers.apply(state_key(routed).encode(), routed)
            facts += handlers.outbox.values()  # every fact sent, not only each key's latest
            handlers.outbox.clear()
    assert state.watermark is not None
    return facts, state.watermark


class Unused:
    async def send(
        self, *, key: bytes | None = None, value: bytes, partition: int | None = None
    ) -> None:
        raise AssertionError("not sent in these tests")


def worker(partitions: int, held: list[int]) -> tuple[WorkerState, StreamStage]:
    state = WorkerState(CONFIG, CollectorRegistry())
    state.partitions = partitions
    state.processor = restore_streams(CONFIG, (), held, partitions).processor
    table: dict[bytes, bytes] = {}
    return state, StreamStage(state, table)


def merged(snapshots: list[Snapshot]) -> dict[str, Any]:
    """Every series of the workers' snapshots, each stream and service counted once."""
    streams = [m for s in snapshots for m in s.streams]
    services = [m for s in snapshots for m in s.services]
    signals = [m for s in snapshots for m in s.signals]
    unmapped = [kv for s in snapshots for kv in s.unmapped_states.items()]
    return {
        "streams": sorted(streams, key=lambda m: m.stream),
        "services": sorted(services, key=lambda m: m.service),
        "signals": sorted(signals, key=lambda m: m.stream),
        "unmapped": sorted(unmapped),
        "now": {s.now_seconds for s in snapshots if s.streams or s.services},
    }


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    workers=st.integers(1, 4),
    partitions=st.integers(1, 6),
    dup_share=st.floats(0, 0.5),
    batch=st.sampled_from([1, 2, 7, 1000]),
)
def test_every_series_from_one_worker_equals_the_report(
    seed: int, workers: int, partitions: int, dup_share: float, batch: int
) -> None:
    rng = random.Random(seed)
    events = history(rng, 30, 8)
    delivered = events + rng.sample(events, int(len(events) * dup_share))
    rng.shuffle(delivered)
    facts, watermark = timelines_stage(delivered)
    facts += rng.sample(facts, int(len(facts) * dup_share))
    rng.shuffle(facts)  # any order, twice: stale facts must not win

    owner = {p: rng.randrange(workers) for p in range(partitions)}
    stages = [worker(partitions, [p for p in owner if owner[p] == w]) for w in range(workers)]
    tables = [cast(dict[bytes, bytes], stage.table) for _, stage in stages]
    queued: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    for key, value in facts:
        queued[partition_for(key, partitions)].append(value)
    for p, values in queued.items():  # in batches of up to `batch` records, as the agent takes
        for start in range(0, len(values), batch):
            assert stages[owner[p]][1].apply_batch(p, values[start : start + batch]) == []
    for p in range(partitions):
        stages[owner[p]][1].apply(p, watermark_fact(watermark))

    want = merged([Processor.from_events(CONFIG, events).snapshot(0)])
    assert merged([state.processor.snapshot(0) for state, _ in stages]) == want
    # a kill -9 of every worker: each rebuilt from its own table alone
    rebuilt = [
        restore_streams(
            CONFIG, tables[w].items(), [p for p in owner if owner[p] == w], partitions
        ).processor.snapshot(0)
        for w in range(workers)
    ]
    assert merged(rebuilt) == want


def test_a_lost_partition_is_hidden_at_once() -> None:
    state, _ = worker(2, [0, 1])
    assert {m.stream for m in state.processor.snapshot(0).streams} == {"web", "ops", "data"}
    lost = partition_for(facts_key("i|web|x"), 2)
    hide(state, [lost])
    kept = {m.stream for m in state.processor.snapshot(0).streams}
    assert "web" not in kept and kept == {
        s for s in ("web", "ops", "data") if partition_for(facts_key(f"i|{s}|x"), 2) != lost
    }


def test_a_fact_supersedes_only_an_older_one_of_its_config() -> None:
    processor = Processor(CONFIG)
    timeline = Timeline.from_events(history(random.Random(1), 1, 0))
    key = f"i|{timeline.events[0].stream}|{timeline.events[0].item}"
    entry = processor.entry(key, timeline)
    assert entry is not None
    ours = entry[0]
    old, new = (Fact.from_bytes(item_fact(key, n, entry)) for n in (3, 4))
    assert supersedes(new, old, ours) and not supersedes(old, new, ours)
    assert not supersedes(new, new, ours)  # the same fact again: a no-op
    other = Fact.from_bytes(item_fact(key, 9, ["another config", *entry[1:]]))
    assert not supersedes(other, old, ours)  # derived under another config: never taken
    assert supersedes(old, other, ours)  # and replaced even by a shorter timeline of ours
    low, high = Fact.from_bytes(watermark_fact(5)), Fact.from_bytes(watermark_fact(7))
    assert supersedes(high, low, None) and not supersedes(low, high, None)
    dora = Timeline.from_events(history(random.Random(2), 0, 1)[:1])
    assert Fact.from_bytes(dora_fact("d|api|D0", dora)).timeline is not None


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b'{"k": "i|a|b"}', b'{"k": "x|a", "n": 1, "x": [1, 2, 3]}', b"\xff"]
)
def test_a_record_that_is_no_fact_is_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(ValueError, match="bad fact"):
        Fact.from_bytes(raw)


class FakeMessage:
    def __init__(self, partition: int) -> None:
        self.partition = partition


class FakeEvent:
    def __init__(self, partition: int, value: bytes) -> None:
        self.message, self.value = FakeMessage(partition), value


def test_a_batch_is_grouped_by_partition_and_written_standing_on_its_own() -> None:
    events = [FakeEvent(p, bytes([n])) for n, p in enumerate([1, 0, 1, 2, 0])]
    groups = by_partition(events)
    assert {p: [e.value for e in g] for p, g in groups.items()} == {
        1: [b"\x00", b"\x02"],
        0: [b"\x01", b"\x04"],
        2: [b"\x03"],
    }
    assert current_event() is None
    with standing_on(cast(list[EventT[Any]], groups[0])):
        event = current_event()
        assert event is not None and event.message.partition == 0
    assert current_event() is None


def test_a_batch_closed_in_another_context_does_not_raise() -> None:
    """At shutdown the loop closes a suspended agent generator from a task of its own: the
    batch's `standing_on` exits in another context (a ValueError logged on every stop)."""
    batch = standing_on(cast(list[EventT[Any]], [FakeEvent(0, b"")]))
    contextvars.copy_context().run(batch.__enter__)
    contextvars.copy_context().run(batch.__exit__, GeneratorExit, GeneratorExit(), None)


def test_a_batch_writes_each_key_once_and_dead_letters_what_is_no_fact() -> None:
    facts, _ = timelines_stage(history(random.Random(3), 5, 0))
    state, stage = worker(1, [0])
    writes: list[bytes] = []

    class Counting(dict[bytes, bytes]):
        def __setitem__(self, key: bytes, value: bytes) -> None:
            writes.append(key)
            super().__setitem__(key, value)

    stage.table = Counting()
    bad = stage.apply_batch(0, [value for _, value in facts] + [b"nonsense"])
    assert [value for value, _ in bad] == [b"nonsense"]
    assert sorted(writes) == sorted({Fact.from_bytes(v).key.encode() for _, v in facts})
    assert state.processor.snapshot(0) == worker_fed(facts).processor.snapshot(0)


def worker_fed(facts: list[tuple[bytes, bytes]]) -> WorkerState:
    state, stage = worker(1, [0])
    for _, value in facts:
        stage.apply(0, value)
    return state


def test_a_rebuild_sets_the_facts_offset_records_aside() -> None:
    facts, _ = timelines_stage(history(random.Random(4), 3, 0))
    state, stage = worker(1, [0])
    for _, value in facts:
        stage.apply(0, value)
    record = (table_key("facts", 0), OffsetSet([(0, 5)]).to_bytes())
    items = [*cast(dict[bytes, bytes], stage.table).items(), record]
    done = restore_streams(CONFIG, items, [0], 1)
    assert done.records == [record] and not done.refused
    assert done.processor.snapshot(0) == state.processor.snapshot(0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([b"a", b"b", b"c"]), st.binary(min_size=1, max_size=40)),
        max_size=60,
    ),
    st.integers(min_value=1, max_value=200),
)
def test_packs_keep_each_keys_facts_in_order_within_the_bound(
    facts: list[tuple[bytes, bytes]], most: int
) -> None:
    facts = [(key, fact.replace(b"\n", b" ")) for key, fact in facts]  # compact JSON has none
    records = list(packs(facts, most))
    for key in {key for key, _ in facts}:
        sent = [fact for k, pack in records if k == key for fact in unpacked(pack)]
        assert sent == [fact for k, fact in facts if k == key]
    for _, pack in records:
        assert len(pack) <= most or SEPARATOR not in pack  # over the bound only alone


def test_a_pack_of_facts_gives_what_its_facts_give_one_by_one_and_refuses_its_bad_one() -> None:
    facts, _ = timelines_stage(history(random.Random(5), 6, 2))
    state, stage = worker(1, [0])
    records = [pack for _, pack in packs([*facts, (facts[0][0], b"nonsense")], 2_000)]
    assert len(records) < len(facts)  # packed
    bad = stage.apply_batch(0, records)
    assert [value for value, _ in bad] == [b"nonsense"]
    one_state, one_stage = worker(1, [0])
    for _, value in facts:
        one_stage.apply(0, value)
    assert state.processor.snapshot(0) == one_state.processor.snapshot(0)
    assert stage.table == one_stage.table  # each fact stored alone, as it came
