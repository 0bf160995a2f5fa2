"""The agents' logic without a broker: what the normalize and timelines agents do per message.

The agents are thin: `normalize_delivery` per raw message, then per event "add to the key's
timeline, write it whole, replace the key's contribution". These tests drive exactly that loop
over a dict standing in for the table, and check it against the batch path and a rebuild.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgauge.engine.processor import Processor
from flowgauge.engine.timeline import Timeline
from flowgauge.model import FlowEvent
from flowgauge.model.delivery import Delivery
from flowgauge.model.loader import load_config, parse_config
from flowgauge.sources import generic
from flowgauge.stream.pipeline import normalize_delivery

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

    table: dict[str, bytes] = {}
    live = Processor(CONFIG)
    for event in delivered:  # what the timelines agent does per message
        key = f"i|{event.stream}|{event.item}"
        current = table.get(key)
        timeline = Timeline.from_bytes(current) if current else Timeline.from_events(())
        updated = timeline.add(event)
        if updated is None:
            continue
        table[key] = updated.to_bytes(live.apply(key, updated))

    rebuilt = Processor(CONFIG)  # what rebuild() does after a recovery
    with rebuilt.loading():
        for key, value in table.items():
            rebuilt.restore(key, value)
    batch = Processor.from_events(CONFIG, events)
    wall = 0
    assert live.snapshot(wall) == batch.snapshot(wall)
    assert rebuilt.snapshot(wall) == batch.snapshot(wall)


def test_the_builtin_default_config_routes_everything_to_one_stream() -> None:
    config = load_config(None)
    event = generic.normalize(
        {}, {"id": "1", "type": "created", "item": "A", "at": "2026-11-01T00:00:00Z"}
    )[0]
    assert config.route(event) is not None
