"""Properties of the flow engine, against an independent brute-force oracle.

The oracle is written from METRICS.md and docs/metrics.md, not from the engine: it finds the
item's stage and blocked flag at every whole second by replaying the events up to that instant,
and adds the seconds up. Generated events fall on whole seconds, so that is exact.

The oracle's blocked flag is the reason-free one of before blocked reasons (issue 20): one flag
that any block sets and any unblock clears. `event_sets()` gives every blocking event one reason
(drawn per set), so these properties prove that with one reason everywhere every existing
number is what the reason-free reading gives; `event_sets(mixed=True)` mixes reasons, and
`oracle_metrics(..., reasons=True)` reads "blocked while at least one reason holds".
"""

from __future__ import annotations

import math
import random
from dataclasses import fields
from itertools import pairwise
from typing import Any

import numpy as np
from engine_helpers import STATES, T0, config, us
from hypothesis import given, settings
from hypothesis import strategies as hs

from flowgauge.engine.aggregate import StreamAggregate
from flowgauge.engine.flow import FlowState
from flowgauge.engine.forecast_state import ForecastState
from flowgauge.engine.item import derive
from flowgauge.engine.snapshot import StreamMetrics
from flowgauge.engine.timeline import Timeline
from flowgauge.model import FlowConfig, FlowEvent, StreamConfig

CONFIGS = [
    config(sle="20s", window="60s"),
    config(window="30s", commitment="review", defect_types=["bug"], blocked_labels=["b1", "b2"]),
]
TYPES = ["created", "state", "state", "state", "blocked", "unblocked", "labeled", "unlabeled"]
LABELS = ["blocked", "b1", "b2", "bug", "x"]
BLOCKING = ("blocked", "unblocked", "labeled", "unlabeled")
REASONS = [None, "dependency", "flag", "label", "unspecified"]
HOLDERS = [None, None, None, "", "ana", "bo", "cy"]
TEAMS = [None, None, None, "", "pay", "core"]
PARENTS = [None, None, "", "ACME-1", "ACME-2"]


@hs.composite
def item_events(draw: hs.DrawFn, item: str) -> list[FlowEvent]:
    count = draw(hs.integers(0, 8))
    events = []
    for index in range(count):
        type_ = draw(hs.sampled_from(TYPES))
        data: dict[str, Any] = {
            # random ids so that equal timestamps are ordered independently of generation
            "id": f"{draw(hs.integers(0, 9))}-{item}-{index}",
            "type": type_,
            "item": item,
            "at": T0 + _seconds(draw(hs.integers(0, 50))),
        }
        if type_ == "state" or (type_ == "created" and draw(hs.booleans())):
            data["state"] = draw(hs.sampled_from([*STATES, "Unknown"]))
        if type_ in ("labeled", "unlabeled"):
            data["label"] = draw(hs.sampled_from(LABELS))
        if draw(hs.integers(0, 5)) == 0:
            data["item_type"] = draw(hs.sampled_from(["bug", "feature"]))
        if draw(hs.integers(0, 7)) == 0:
            data["labels"] = draw(hs.lists(hs.sampled_from(LABELS), max_size=2))
        if type_ in BLOCKING:
            data["reason"] = draw(hs.sampled_from(REASONS))
        data["assignee"] = draw(hs.sampled_from(HOLDERS))
        data["team"] = draw(hs.sampled_from(TEAMS))
        data["parent"] = draw(hs.sampled_from(PARENTS))
        events.append(FlowEvent.model_validate(data))
    if draw(hs.integers(0, 12)) == 0:
        at = T0 + _seconds(draw(hs.integers(0, 50)))
        events.append(FlowEvent(id=f"del-{item}", type="deleted", item=item, at=at))
    return events


def _seconds(n: int) -> Any:
    from datetime import timedelta

    return timedelta(seconds=n)


@hs.composite
def event_sets(draw: hs.DrawFn, mixed: bool = False) -> list[FlowEvent]:
    """Events of up to 5 items; unless `mixed`, every blocking event with one reason."""
    items = draw(hs.integers(0, 5))
    events = [e for i in range(items) for e in draw(item_events(f"i{i}"))]
    return events if mixed else one_reason(events, draw(hs.sampled_from(REASONS)))


def one_reason(events: list[FlowEvent], reason: str | None) -> list[FlowEvent]:
    """Every blocked, unblocked and (un)labeled event with `reason` (None: as an event without
    one reads, `unspecified`; a blocked label without one would read `label`)."""
    said = reason or "unspecified"
    return [
        e.model_copy(update={"reason": reason if e.type in ("blocked", "unblocked") else said})
        if e.type in BLOCKING
        else e
        for e in events
    ]


# ---------------------------------------------------------------- the oracle (METRICS.md)


def oracle_item(
    events: list[FlowEvent], stream: StreamConfig, reasons: bool = False
) -> dict[str, Any] | None:
    """One item's facts, by replaying its events (whole seconds from T0) at every instant.

    `reasons`: blocked while a reason holds (METRICS.md now); else the reason-free flag."""
    if not events or any(e.type == "deleted" for e in events):
        return None
    events = sorted(events, key=lambda e: (e.at, e.id))
    sec = [int((e.at - T0).total_seconds()) for e in events]
    stage_of = {state: i for i, s in enumerate(stream.stages) for state in s.states}
    kind = [s.kind for s in stream.stages]

    def moves_to(e: FlowEvent) -> int | None:
        if e.type == "state" or (e.type == "created" and e.state is not None):
            return stage_of.get(e.state or "")
        return None

    def after(k: int) -> tuple[int, bool]:
        """(stage, blocked) after applying events[0..k] (k = -1: before any)."""
        stage, blocked = 0, False
        held: set[str] = set()
        for e in events[: k + 1]:
            target = moves_to(e)
            if target is not None:
                stage = target
            if e.type == "blocked":
                blocked = True
                held.add(e.reason or "unspecified")
            elif e.type == "unblocked":
                blocked = False
                held.discard(e.reason or "unspecified")
            elif e.type in ("labeled", "unlabeled") and e.label in stream.blocked_labels:
                blocked = e.type == "labeled"
                (held.add if blocked else held.discard)(e.reason or "label")
        return stage, bool(held) if reasons else blocked

    def at_instant(t: int) -> tuple[int, bool]:
        return after(max(k for k in range(len(events)) if sec[k] <= t))

    created = sec[0]
    # the stages the item is in, in order, with entry times: it starts in the first stage
    # unless its first stage event is at created_at (then it was created in that stage)
    first_move = next((k for k, e in enumerate(events) if moves_to(e) is not None), None)
    entries: list[tuple[int, int]] = []
    if first_move is None or sec[first_move] > created:
        entries.append((created, 0))
    for k, e in enumerate(events):
        target = moves_to(e)
        if target is not None and (not entries or entries[-1][1] != target):
            entries.append((sec[k], target))
    final_stage, final_blocked = after(len(events) - 1)
    completed = None
    if kind[final_stage] == "done":
        completed = entries[-1][0]
        for t, s in reversed(entries):
            if kind[s] != "done":
                break
            completed = t
    started = next((t for t, s in entries if s >= stream.commitment_index), None)
    item_type = None
    labels: set[str] = set()
    for e in events:
        item_type = e.item_type or item_type
        if e.labels is not None:
            labels = set(e.labels)
        if e.type == "labeled" and e.label:
            labels.add(e.label)
        if e.type == "unlabeled" and e.label:
            labels.discard(e.label)
    defect = (
        item_type in stream.defect_types if item_type else bool(labels & set(stream.defect_types))
    )
    facts: dict[str, Any] = {
        "created": created,
        "started": started,
        "completed": completed,
        "stage": final_stage,
        "blocked": final_blocked,
        "rework": any(b[1] < a[1] for a, b in pairwise(entries)),
        "defect": defect,
    }
    if completed is None:
        return facts
    visited = {s for t, s in entries if t < completed}
    per_stage = {s: {"active": 0, "wait": 0, "blocked": 0} for s in visited}
    totals = {"active": 0, "wait": 0, "blocked": 0}
    for t in range(created, completed):
        stage, blocked = at_instant(t)
        part = "blocked" if blocked else ("active" if kind[stage] == "active" else "wait")
        per_stage[stage][part] += 1
        if started is not None and started <= t:
            totals[part] += 1
    facts.update(per_stage=per_stage, totals=totals)
    return facts


def oracle_metrics(
    events: list[FlowEvent], stream: StreamConfig, now: int, reasons: bool = False
) -> dict[str, Any]:
    """The stream's metrics at `now` (seconds from T0), straight from the definitions (the
    families before issue 20's; test_breakdown_properties.py has the oracle of those)."""
    by_item: dict[str, dict[str, FlowEvent]] = {}
    for e in events:
        by_item.setdefault(e.item, {}).setdefault(e.id, e)  # first delivery of an id counts
    items = [oracle_item(list(v.values()), stream, reasons) for v in by_item.values()]
    live = [f for f in items if f is not None]
    window = stream.window.total_seconds()
    kind = [s.kind for s in stream.stages]
    done = [f for f in live if f["completed"] is not None and now - window < f["completed"] <= now]
    progress = [f for f in live if f["completed"] is None]

    def q(values: list[float], qs: tuple[float, ...] = (0.5, 0.85, 0.95)) -> dict[str, float]:
        if not values:
            return {}
        return {("1" if x == 1 else repr(x)): float(np.quantile(values, x)) for x in qs}

    names = [s.name for s in stream.stages]
    open_stages = [i for i, k in enumerate(kind) if k != "done"]
    result: dict[str, Any] = {
        "stream": stream.name,
        "wip": {names[i]: sum(f["stage"] == i for f in progress) for i in open_stages},
        "blocked": {
            names[i]: sum(f["stage"] == i and f["blocked"] for f in progress) for i in open_stages
        },
        "sle_breaches": {},
        "age": {},
        "throughput": len(done),
    }
    if stream.sle is not None:
        sle = stream.sle.total_seconds()
        result["sle_breaches"] = {
            names[i]: sum(
                f["stage"] == i and f["started"] is not None and now - f["started"] > sle
                for f in progress
            )
            for i in open_stages
        }
    for i in open_stages:
        ages = [
            now - (f["started"] if f["started"] is not None else f["created"])
            for f in progress
            if f["stage"] == i
        ]
        if ages:
            result["age"][names[i]] = q(ages, (0.5, 0.85, 0.95, 1.0))
    result["lead_time"] = q([f["completed"] - f["created"] for f in done])
    started_done = [f for f in done if f["started"] is not None and f["started"] <= f["completed"]]
    result["cycle_time"] = q([f["completed"] - f["started"] for f in started_done])
    result["stage_time"] = {}
    result["stage_seconds"] = {}
    for i, name in enumerate(names):
        times = [sum(f["per_stage"][i].values()) for f in done if i in f["per_stage"]]
        if times:
            result["stage_time"][name] = q(times)
        result["stage_seconds"][name] = {
            k: float(sum(f["per_stage"].get(i, {k: 0})[k] for f in done))
            for k in ("active", "wait", "blocked")
        }
    active = sum(f["totals"]["active"] for f in started_done)
    total = sum(sum(f["totals"].values()) for f in started_done)
    result["flow_efficiency"] = active / total if total else None
    result["rework_ratio"] = sum(f["rework"] for f in done) / len(done) if done else None
    result["defect_ratio"] = sum(f["defect"] for f in done) / len(done) if done else None
    cycles = [f["completed"] - f["started"] for f in started_done]
    sle_s = None if stream.sle is None else stream.sle.total_seconds()
    result["sle_attainment"] = (
        sum(c <= sle_s for c in cycles) / len(cycles) if cycles and sle_s is not None else None
    )
    # forecasts: their inputs straight from the definitions, the math is engine/forecast's
    # (tested against a reference convolution in test_forecast.py)
    day = 86_400
    completed = [f["completed"] for f in live if f["completed"] is not None]
    samples = tuple(
        sum(now - (j + 1) * day < c <= now - j * day for c in completed)
        for j in range(stream.forecast.days)
    )
    started_wip = sum(f["started"] is not None for f in progress)
    result["forecast"] = ForecastState(stream).evaluate(us(now), samples, started_wip)
    return result


def assert_close(actual: Any, expected: Any, path: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), (path, actual, expected)
        for key in expected:
            assert_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, float) and not isinstance(actual, int | type(None)):
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9), (path, actual, expected)
    else:
        assert actual == expected, (path, actual, expected)


#: StreamMetrics fields of issue 20 (handoffs, blocked reasons, distribution): their own oracle.
BREAKDOWN_FIELDS = frozenset(
    {
        "handoffs",
        "blocked_reason_seconds",
        "blocked_reason_items",
        "distribution_wip",
        "distribution_throughput",
    }
)


def as_dict(metrics: StreamMetrics) -> dict[str, Any]:
    """The families before issue 20's, by field name."""
    return {
        f.name: getattr(metrics, f.name) for f in fields(metrics) if f.name not in BREAKDOWN_FIELDS
    }


# ---------------------------------------------------------------- the properties

NOW = hs.integers(-5, 130)


@settings(max_examples=300, deadline=None)
@given(event_sets(), hs.sampled_from(CONFIGS), NOW)
def test_engine_equals_the_oracle(events: list[FlowEvent], cfg: FlowConfig, now: int) -> None:
    """One reason everywhere: the reason-aware engine gives what the reason-free reading does."""
    [actual] = FlowState.from_events(cfg, events).metrics(us(now))
    assert_close(as_dict(actual), oracle_metrics(events, cfg.streams[0], now))


@settings(max_examples=200, deadline=None)
@given(event_sets(mixed=True), hs.sampled_from(CONFIGS), NOW)
def test_engine_equals_the_oracle_with_mixed_reasons(
    events: list[FlowEvent], cfg: FlowConfig, now: int
) -> None:
    """Many reasons: blocked while at least one holds, in every existing family."""
    [actual] = FlowState.from_events(cfg, events).metrics(us(now))
    assert_close(as_dict(actual), oracle_metrics(events, cfg.streams[0], now, reasons=True))


@settings(max_examples=150, deadline=None)
@given(event_sets(mixed=True), hs.sampled_from(CONFIGS), NOW, hs.randoms(use_true_random=False))
def test_arrival_order_and_redelivery_do_not_matter(
    events: list[FlowEvent], cfg: FlowConfig, now: int, rnd: random.Random
) -> None:
    expected = FlowState.from_events(cfg, events).metrics(us(now))
    delivered = events + [e for e in events if rnd.random() < 0.4]
    rnd.shuffle(delivered)
    assert FlowState.from_events(cfg, delivered).metrics(us(now)) == expected
    # the live path: one event at a time into stored timelines, applied after each change
    live = FlowState(cfg)
    timelines: dict[str, Timeline] = {}
    for event in delivered:
        added = timelines.get(event.item, Timeline(stream="s")).add(event)
        if added is not None:
            timelines[event.item] = Timeline.from_bytes(added.to_bytes())
            live.apply("s", event.item, timelines[event.item])
    assert live.metrics(us(now)) == expected


@hs.composite
def operations(draw: hs.DrawFn) -> list[tuple[str, Any]]:
    ops: list[tuple[str, Any]] = []
    now = draw(hs.integers(-5, 60))
    for _ in range(draw(hs.integers(1, 25))):
        choice = draw(hs.integers(0, 9))
        item = f"i{draw(hs.integers(0, 4))}"
        if choice < 5:
            ops.append(("put", (item, draw(item_events(item)))))
        elif choice < 6:
            ops.append(("remove", item))
        else:
            step = draw(hs.integers(-10, 40)) if choice == 9 else draw(hs.integers(0, 15))
            now += step
            ops.append(("now", now))
    return ops


@settings(max_examples=200, deadline=None)
@given(operations(), hs.sampled_from(CONFIGS))
def test_incremental_equals_rebuild(ops: list[tuple[str, Any]], cfg: FlowConfig) -> None:
    stream = cfg.streams[0]
    live = StreamAggregate(stream)
    current: dict[str, Any] = {}
    now = 0
    for op, arg in ops:
        if op == "put":
            item, events = arg
            facts = derive(Timeline.from_events(events), stream)
            live.put(item, facts)
            current[item] = facts
        elif op == "remove":
            live.put(arg, None)
            current.pop(arg, None)
        else:
            now = arg
        if op == "now":  # puts in between run against a window built at an earlier now
            assert live.metrics(us(now)) == rebuild(stream, current).metrics(us(now))
    assert live.metrics(us(now)) == rebuild(stream, current).metrics(us(now))


def rebuild(stream: StreamConfig, current: dict[str, Any]) -> StreamAggregate:
    aggregate = StreamAggregate(stream)
    for item, facts in current.items():
        aggregate.put(item, facts)
    return aggregate


@settings(max_examples=200, deadline=None)
@given(operations(), hs.sampled_from(CONFIGS))
def test_bulk_load_equals_one_put_at_a_time(ops: list[tuple[str, Any]], cfg: FlowConfig) -> None:
    """A rebuild's `begin_load`/`end_load` (engine/bulk.py) gives the very metrics and signals of
    one put at a time, also when the aggregate held items (and a window) before loading and
    items are replaced or removed while it loads."""
    stream = cfg.streams[0]
    one_by_one, bulk = StreamAggregate(stream), StreamAggregate(stream)
    half = len(ops) // 2
    now = 0
    for index, (op, arg) in enumerate(ops):
        if index == half:
            bulk.begin_load()
        if op == "put":
            item, events = arg
            facts = derive(Timeline.from_events(events), stream)
            one_by_one.put(item, facts)
            bulk.put(item, facts)
        elif op == "remove":
            one_by_one.put(arg, None)
            bulk.put(arg, None)
        else:
            now = arg
            one_by_one.metrics(us(now))
            if index < half:  # no reads while loading
                bulk.metrics(us(now))
    if half >= len(ops):
        bulk.begin_load()
    bulk.end_load()
    assert bulk.metrics(us(now)) == one_by_one.metrics(us(now))
    assert bulk.signals(us(now)) == one_by_one.signals(us(now))
