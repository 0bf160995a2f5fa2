"""Unmapped states by state name (docs/metrics.md, "Data trust"): per stream, the stage events
whose state maps to no stage, counted by the tool's state name, exact under any order and
redelivery, equal to a naive count, and to the per-stream total beside it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from engine_helpers import STATES, T0, config, us
from hypothesis import given, settings
from hypothesis import strategies as hs

from flowgauge.engine.flow import FlowState
from flowgauge.engine.item import derive
from flowgauge.engine.processor import Processor
from flowgauge.engine.stored import facts_from_json, facts_to_json
from flowgauge.engine.timeline import Timeline
from flowgauge.exposition import render
from flowgauge.exposition.families import UNMAPPED_STATE_NAMES
from flowgauge.model import FlowEvent

UNKNOWN = ["Blocked by Legal", "Won't Do", "triage", None]  # None: a state event naming none
CFG = config()


@hs.composite
def events(draw: hs.DrawFn) -> list[FlowEvent]:
    out = []
    for n in range(draw(hs.integers(0, 25))):
        item = f"i{draw(hs.integers(0, 4))}"
        kind = draw(hs.sampled_from(["state", "state", "created", "deleted", "blocked"]))
        data: dict[str, Any] = {
            "id": f"{draw(hs.integers(0, 9))}-{n}",
            "type": kind,
            "item": item,
            "at": T0 + timedelta(seconds=draw(hs.integers(0, 30))),
        }
        if kind in ("state", "created"):
            data["state"] = draw(hs.sampled_from([*STATES[:3], *UNKNOWN]))
        if kind == "deleted" and draw(hs.integers(0, 3)):
            continue  # deletions are rare
        out.append(FlowEvent.model_validate(data))
    return out


def oracle(evs: list[FlowEvent]) -> dict[str, int]:
    """Naively: distinct event ids of live items whose stage event names an unmapped state."""
    mapped = set(STATES)
    unique = {e.id: e for e in evs}.values()
    deleted = {e.item for e in unique if e.type == "deleted"}
    names: Counter[str] = Counter()
    for e in unique:
        stage_event = e.type == "state" or (e.type == "created" and e.state is not None)
        if stage_event and e.item not in deleted and (e.state or "") not in mapped:
            names[e.state or ""] += 1
    return dict(names)


@settings(max_examples=200, deadline=None)
@given(events(), hs.randoms(use_true_random=False))
def test_by_state_is_the_naive_count_in_any_order(evs: list[FlowEvent], rnd: random.Random) -> None:
    expected = oracle(evs)
    delivered = evs + [e for e in evs if rnd.random() < 0.4]
    rnd.shuffle(delivered)
    batch = FlowState.from_events(CFG, delivered)
    assert {k: v for k, v in batch.unmapped_by_state["s"].items() if v} == expected
    assert batch.unmapped["s"] == sum(expected.values())
    # live: one event at a time into stored timelines (facts cached through JSON, as stored)
    live = FlowState(CFG)
    timelines: dict[str, Timeline] = {}
    for event in delivered:
        added = timelines.get(event.item, Timeline(stream="s")).add(event)
        if added is not None:
            timelines[event.item] = Timeline.from_bytes(added.to_bytes())
            facts = derive(timelines[event.item], CFG.streams[0])
            live.apply_facts(
                "s", event.item, None if facts is None else facts_from_json(facts_to_json(facts))
            )
    assert dict(live.unmapped_by_state["s"]) == expected
    for item in list(timelines):  # losing every partition leaves nothing behind
        live.forget("s", item)
    assert dict(live.unmapped_by_state["s"]) == {} and live.unmapped["s"] == 0


def test_exposed_by_name_with_at_most_twenty_names_and_the_rest_as_other() -> None:
    evs = [
        FlowEvent(id=f"e{n}", type="state", item=f"i{n}", at=T0, state=f"S{n:02d}")
        for n in range(UNMAPPED_STATE_NAMES + 5)
    ]
    evs += [
        FlowEvent(id="x", type="state", item="i0", at=T0, state="S24"),
        FlowEvent(id="y", type="state", item="i1", at=T0),
    ]  # names no state
    text = render(Processor.from_events(CFG, evs).snapshot(us(60))).decode()
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("flowgauge_unmapped_state_events_by_state{")
    ]
    assert len(lines) == UNMAPPED_STATE_NAMES + 1
    assert 'flowgauge_unmapped_state_events_by_state{state="S24",stream="s"} 2.0' in lines
    assert 'flowgauge_unmapped_state_events_by_state{state="(none)",stream="s"} 1.0' in lines
    # 26 events, 27 unmapped state events; shown: S24 (2), (none) and S00..S17 by name
    assert 'flowgauge_unmapped_state_events_by_state{state="(other)",stream="s"} 6.0' in lines
    assert 'flowgauge_unmapped_state_events{stream="s"} 27.0' in text
