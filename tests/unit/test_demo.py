"""`make run`'s demo: a development and an operational value stream side by side.

The demo's events go through the real generic source and the real engine under the demo config:
each is a valid generic event routed to the stream it names, and after a few minutes of ticks
both streams have moved (items completed, WIP) and carry their types."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import orjson

from flowgauge.demo import DELIVERY, ONBOARDING, DemoFeed, demo_config_path
from flowgauge.engine.processor import Processor
from flowgauge.model.loader import load_config, parse_config
from flowgauge.sources import generic


def test_the_demo_config_declares_a_development_and_an_operational_stream() -> None:
    config = load_config(demo_config_path())
    assert {s.name: s.type for s in config.streams} == {
        "delivery": "development",
        "onboarding": "operational",
    }
    for walk in (DELIVERY, ONBOARDING):  # every state the demo sends maps to a stage
        mapped = config.stream(walk.stream).stage_of_state()
        assert all(state in mapped for state in walk.states), walk.stream


def test_demo_events_route_to_both_streams_and_move_their_gauges() -> None:
    config = load_config(demo_config_path())
    feed = DemoFeed(seed=3)
    raw = [event for _ in range(300) for event in feed.tick()]
    events = generic.normalize({}, raw)  # the whole batch is valid generic events
    routed = Counter(route.name for e in events if (route := config.route(e)) is not None)
    assert routed.keys() == {"delivery", "onboarding"} and sum(routed.values()) == len(events)
    snapshot = Processor.from_events(config, events).snapshot(
        max(int(e.at.timestamp() * 1_000_000) for e in events)
    )
    by_stream = {m.stream: m for m in snapshot.streams}
    for stream in ("delivery", "onboarding"):
        assert by_stream[stream].throughput > 0, stream
        assert sum(by_stream[stream].wip.values()) > 0, stream
    assert snapshot.unmapped_states == {"delivery": 0, "onboarding": 0}
    assert snapshot.stream_types == {"delivery": "development", "onboarding": "operational"}


def test_the_worked_onboarding_example_of_the_docs_gives_the_numbers_it_states() -> None:
    """docs/value-streams.md: its config block and its events, through the real engine."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "value-streams.md").read_text()
    yaml_block = re.findall(r"```yaml\n(  - name: onboarding.*?)```", text, re.S)[0]
    config = parse_config("streams:\n" + yaml_block, "docs")
    raw = orjson.loads(re.findall(r"```json\n(.*?)```", text, re.S)[0])
    events = generic.normalize({}, raw)
    live = max(e.at for e in events)
    (m,) = Processor.from_events(config, events).snapshot(int(live.timestamp() * 1e6)).streams
    hour = 3600.0
    assert m.lead_time["0.5"] == (3 * 24 + 8) * hour
    assert m.cycle_time["0.5"] == 74.5 * hour
    assert m.flow_efficiency is not None and round(m.flow_efficiency, 3) == round(27.5 / 74.5, 3)
    blocked = sum(kinds["blocked"] for kinds in m.stage_seconds.values())
    assert blocked == 29 * hour + 55 * 60
