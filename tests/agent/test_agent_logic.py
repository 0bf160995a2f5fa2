"""The agents' logic without a broker: what the normalize and timelines agents do per message.

The agents are thin: `Handlers.normalize` per raw message (`normalize_delivery`, then apply or
send on), `Handlers.apply` per event ("add to the key's timeline, write it whole, send the key's
new fact"), `StreamStage.apply` per fact. These tests call that very code with dicts standing in
for the tables, and check it against the batch path and the rebuilds after a recovery
(`recovery.restore`, `stage.restore_streams`).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from flowgauge.engine.processor import Processor
from flowgauge.keys import partition_for
from flowgauge.model import FlowEvent
from flowgauge.model.deadletter import DeadLetter
from flowgauge.model.delivery import Delivery
from flowgauge.model.loader import load_config, parse_config
from flowgauge.sources import generic
from flowgauge.stream.facts import Fact, unpacked, watermark_fact
from flowgauge.stream.handlers import Handlers
from flowgauge.stream.pipeline import encode_event, normalize_delivery
from flowgauge.stream.recovery import restore
from flowgauge.stream.stage import StreamStage, restore_streams
from flowgauge.stream.state import WorkerState

CONFIG = parse_config(
    """
clock: event
streams:
  - name: web
    match: {project: ["acme/*"]}
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: doing, kind: active, states: [Doing]}
      - {name: done, kind: done, states: [Done]}
  - name: ops
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: done, kind: done, states: [Done]}
""",
    "agent-test.yaml",
)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def delivery(body: object, source: str = "generic") -> Delivery:
    return Delivery(
        source=source,
        headers={},
        body=orjson.dumps(body).decode(),
        received_at="2026-11-24T00:00:00+00:00",
        delivery_id="d1",
    )


def test_normalize_routes_by_explicit_stream_and_keys_by_stream_and_item() -> None:
    body = [
        {"id": "1", "type": "created", "item": "A", "at": "2026-11-01T00:00:00Z", "stream": "ops"},
        {
            "id": "2",
            "type": "deployment",
            "item": "D1",
            "at": "2026-11-01T00:00:00Z",
            "service": "api",
            "environment": "production",
            "status": "success",
        },
    ]
    result = normalize_delivery(delivery(body), CONFIG)
    assert result.error is None
    assert [key for key, _ in result.events] == ["i|ops|generic:A", "d|api|generic:D1"]
    assert result.events[0][1].stream == "ops"


def test_events_of_no_stream_are_counted_not_dropped_silently() -> None:
    body = {
        "id": "1",
        "type": "created",
        "item": "A",
        "at": "2026-11-01T00:00:00Z",
        "stream": "nope",
    }
    result = normalize_delivery(delivery(body), CONFIG)
    assert (result.events, result.unrouted, result.error) == ([], 1, None)


def test_bad_deliveries_become_a_reason_never_an_exception() -> None:
    cases = {
        "unknown source 'nosuch'": delivery({}, source="nosuch"),
        "body is not JSON": Delivery("generic", {}, "{nope", "", "d"),
        "type must be one of": delivery(
            {"id": "1", "type": "moved", "item": "A", "at": "2026-11-01T00:00:00Z"}
        ),
        "empty array": delivery([]),
    }
    for reason, bad in cases.items():
        result = normalize_delivery(bad, CONFIG)
        assert result.error is not None and reason in result.error, (reason, result.error)
        assert result.events == []


def _events(rng: random.Random, n_items: int) -> list[FlowEvent]:
    raw = []
    for i in range(n_items):
        t = T0 + timedelta(hours=rng.randint(0, 200))
        raw.append(
            {
                "id": f"{i}-c",
                "type": "created",
                "item": f"I{i}",
                "at": t.isoformat(),
                "stream": rng.choice(["web", "ops"]),
            }
        )
        for k, state in enumerate(rng.sample(["Todo", "Doing", "Done", "Todo", "Done"], 3)):
            t += timedelta(minutes=rng.randint(1, 3000))
            raw.append(
                {
                    "id": f"{i}-{k}",
                    "type": "state",
                    "item": f"I{i}",
                    "state": state,
                    "at": t.isoformat(),
                    "stream": raw[-1]["stream"],
                }
            )
    return generic.normalize({}, raw)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), dup_share=st.floats(0, 0.5))
def test_the_timelines_agent_loop_equals_batch_and_rebuild(seed: int, dup_share: float) -> None:
    rng = random.Random(seed)
    events = _events(rng, 25)
    delivered = events + rng.sample(events, int(len(events) * dup_share))
    rng.shuffle(delivered)

    table: dict[bytes, bytes] = {}
    state = WorkerState(CONFIG, CollectorRegistry())
    handlers = Handlers(state, table, Unused(), Unused(), Unused(), partitions=1)
    for event in delivered:  # what the timelines agent does per message
        handlers.apply(f"i|{event.stream}|{event.item}".encode(), event)
    # the stream stage of a worker holding the one partition, fed what `flush` would send
    facts_table: dict[bytes, bytes] = {}
    state.processor = restore_streams(CONFIG, (), held=[0], partitions=1).processor
    stage = StreamStage(state, facts_table)
    for _, fact in handlers.outbox.values():
        stage.apply(0, fact)
    stage.apply(0, watermark_fact(state.watermark or 0))

    timelines = restore(state, table.items(), unsent=lambda _: False)  # after a recovery
    rebuilt = restore_streams(CONFIG, facts_table.items(), held=[0], partitions=1)
    batch = Processor.from_events(CONFIG, events)
    wall = 0
    assert state.processor.snapshot(wall) == batch.snapshot(wall)
    assert rebuilt.processor.snapshot(wall) == batch.snapshot(wall)
    assert timelines.timelines == len({(e.stream, e.item) for e in events})
    assert timelines.watermark == batch.latest_event_micros == state.watermark
    assert timelines.resend == []  # every stored fact is current: nothing to send again
    applied = state.metrics.events.labels("applied")._value.get()
    duplicates = state.metrics.events.labels("duplicate")._value.get()
    assert (applied, duplicates) == (len(set(events)), len(delivered) - len(set(events)))


class Unused:
    """A topic `apply` never sends to."""

    async def send(
        self, *, key: bytes | None = None, value: bytes, partition: int | None = None
    ) -> None:
        raise AssertionError("apply sent a record")


def test_the_builtin_default_config_routes_everything_to_one_stream() -> None:
    config = load_config(None)
    event = generic.normalize(
        {}, {"id": "1", "type": "created", "item": "A", "at": "2026-11-01T00:00:00Z"}
    )[0]
    assert config.route(event) is not None


class Recording:
    """A topic that keeps what it is sent: (key, value, partition)."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes, int | None]] = []

    async def send(
        self, *, key: bytes | None = None, value: bytes, partition: int | None = None
    ) -> None:
        self.sent.append((key, value, partition))


def test_normalize_applies_its_partitions_events_and_sends_the_others_to_theirs() -> None:
    body = [
        {"id": f"{i}", "type": "created", "item": f"I{i}", "at": "2026-11-01T00:00:00Z"}
        | {"stream": "ops"}
        for i in range(12)
    ]
    record = delivery(body).with_events(generic.normalize({}, body)).to_bytes()
    state = WorkerState(CONFIG, CollectorRegistry())
    table: dict[bytes, bytes] = {}
    events, dead = Recording(), Recording()
    handlers = Handlers(state, table, events, dead, Recording(), partitions=4)
    asyncio.run(handlers.normalize(1, record))
    asyncio.run(handlers.normalize(1, b"\xff not a record"))
    homes = {
        f"i|ops|generic:I{i}".encode(): partition_for(f"i|generic:I{i}".encode(), 4)
        for i in range(12)
    }
    assert table and events.sent  # both paths taken
    assert set(table) == {key for key, home in homes.items() if home == 1}
    assert sorted((k, p) for k, _, p in events.sent) == sorted(
        (key, home) for key, home in homes.items() if home != 1
    )
    [(_, value, _)] = dead.sent
    assert DeadLetter.from_bytes(value).reason.startswith("bad delivery record")


class CountingTable(dict[bytes, bytes]):
    """A table that counts its writes."""

    writes = 0

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def test_a_record_of_many_events_writes_and_sends_each_key_once() -> None:
    """A delivery of many events (a JSON array, an import) pays per key, not per event, and
    leaves the very table the events give one by one."""
    body = [
        {"id": f"{i}-{k}", "type": "state", "item": f"I{i}", "state": state, "stream": "ops"}
        | {"at": f"2026-11-0{k + 1}T00:00:00Z"}
        for i in range(2)
        for k, state in enumerate(["Todo", "Done", "Todo", "Done", "Todo"])
    ]
    body.append(body[3])  # a duplicate inside the record
    events = generic.normalize({}, body)
    grouped, facts = CountingTable(), Recording()
    state = WorkerState(CONFIG, CollectorRegistry())
    handlers = Handlers(state, grouped, Unused(), Unused(), facts, partitions=1)
    asyncio.run(handlers.normalize(0, delivery(body).with_events(events).to_bytes()))

    one_by_one: dict[bytes, bytes] = {}
    single = Handlers(
        WorkerState(CONFIG, CollectorRegistry()), one_by_one, Unused(), Unused(), Unused(), 1
    )
    for event in events:
        single.apply(f"i|ops|{event.item}".encode(), event)
    assert grouped.writes == 2 and dict(grouped) == one_by_one
    [(_, pack, _)] = facts.sent  # both items' facts in one record (one stream)
    assert {v for _, v in single.outbox.values()} == set(unpacked(pack))
    applied = state.metrics.events.labels("applied")._value.get()
    assert (applied, state.metrics.events.labels("duplicate")._value.get()) == (10, 1)


def test_a_batch_of_records_leaves_the_table_records_one_by_one_leave() -> None:
    """The agents' batches (many records, events of a key spread over them) give the very table
    and facts that the records give one at a time, with one write per key per batch."""
    rng = random.Random(9)
    events = _events(rng, 6)
    rng.shuffle(events)
    records = [(f"i|{e.stream}|{e.item}".encode(), encode_event(e)) for e in events]
    bodies = []
    for e in events:  # the same events as deliveries of one event each
        body: dict[str, str | None] = {"id": e.id, "type": e.type, "at": e.at.isoformat()}
        body |= {"item": e.item.split(":", 1)[1], "stream": e.stream, "state": e.state}
        bodies.append(delivery([body]).with_events(generic.normalize({}, body)).to_bytes())

    def run(batched: bool) -> tuple[CountingTable, Recording]:
        table, facts = CountingTable(), Recording()
        handlers = Handlers(
            WorkerState(CONFIG, CollectorRegistry()), table, Unused(), Unused(), facts, 1
        )

        async def go() -> None:
            if batched:
                await handlers.apply_records(records[:20])
                await handlers.normalize_batch(0, bodies[20:])
            else:
                for key, value in records[:20]:
                    await handlers.apply_record(key, value)
                for body in bodies[20:]:
                    await handlers.normalize(0, body)

        asyncio.run(go())
        return table, facts

    (grouped, grouped_facts), (single, single_facts) = run(True), run(False)
    assert dict(grouped) == dict(single)
    assert grouped.writes == len({k for k, _ in records[:20]}) + len({k for k, _ in records[20:]})
    assert grouped.writes < single.writes

    def latest(sent: list[tuple[bytes | None, bytes, int | None]]) -> dict[str, bytes]:
        return {Fact.from_bytes(v).key: v for _, pack, _ in sent for v in unpacked(pack)}

    assert latest(grouped_facts.sent) == latest(single_facts.sent)
