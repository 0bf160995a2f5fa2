"""`make run`'s demo: a development and an operational value stream side by side.

The demo's events go through the real generic source and the real engine under the demo config:
each is a valid generic event routed to the stream it names, and after a few minutes of ticks
both streams have moved (items completed, WIP) and carry their types."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
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


def test_demo_items_have_parents_teams_holders_that_change_hands_and_blocked_reasons() -> None:
    """The data the handoff, blocked-reason and distribution metrics read (METRICS.md), in both
    streams: each item's parent and team, holders changing at its moves, and every unblock
    lifting the reason its block gave."""
    feed = DemoFeed(seed=5)
    events = generic.normalize({}, [event for _ in range(300) for event in feed.tick()])
    for walk in (DELIVERY, ONBOARDING):
        mine = [e for e in events if e.stream == walk.stream]
        created = [e for e in mine if e.type == "created"]
        assert created and all(e.parent in walk.parents for e in created), walk.stream
        assert all(e.team in walk.teams or e.team in dict(walk.people) for e in created)
        held: dict[str, str] = {}
        for e in mine:
            if e.type == "blocked":
                assert e.reason in walk.reasons and e.item not in held
                held[e.item] = e.reason
            elif e.type == "unblocked":
                assert e.reason == held.pop(e.item)
        assert {e.reason for e in mine if e.type == "blocked"} == set(walk.reasons), walk.stream
        holders: dict[str, list[str]] = {}
        for e in mine:
            if e.assignee:
                holders.setdefault(e.item, []).append(e.assignee)
        done = {e.item for e in mine if e.type == "state" and e.state == walk.states[-1]}
        handoffs = [sum(a != b for a, b in pairwise(h)) for i, h in holders.items() if i in done]
        assert done and min(handoffs) >= 1, walk.stream  # every finished item changed hands
        teams = {e.team for e in mine if e.team}
        assert len(teams) >= 3, walk.stream  # handoffs across teams too
