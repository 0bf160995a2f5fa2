"""Handoffs, blocked reasons and distribution against an oracle written from METRICS.md.

The oracle replays each item's raw events (sorted by time, then id; first delivery of an id)
at every whole second: which reasons hold, who holds the item. It shares with the engine only
created/started/completed, which come from `test_properties.oracle_item`.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from engine_helpers import T0, us
from hypothesis import given, settings
from hypothesis import strategies as hs
from test_properties import CONFIGS, NOW, event_sets, oracle_item

from flowgauge.engine.flow import FlowState
from flowgauge.engine.processor import Processor
from flowgauge.exposition import render
from flowgauge.model import FlowConfig, FlowEvent, StreamConfig

TEAMS_OF = {"ana": "pay", "bo": "core"}  # cy has no team


def _sec(e: FlowEvent) -> int:
    return int((e.at - T0).total_seconds())


def reasons_after(events: list[FlowEvent], t: int, stream: StreamConfig) -> set[str]:
    held: set[str] = set()
    for e in events:
        if _sec(e) > t:
            break
        if e.type in ("blocked", "unblocked"):
            reason = e.reason or "unspecified"
            (held.add if e.type == "blocked" else held.discard)(reason)
        elif e.type in ("labeled", "unlabeled") and e.label in stream.blocked_labels:
            reason = e.reason or "label"
            (held.add if e.type == "labeled" else held.discard)(reason)
    return held


def holder_changes(events: list[FlowEvent], kind: str, teams: dict[str, str]) -> list[int]:
    """Seconds at which the holder of `kind` went from one non-empty value to another."""
    last: str | None = None
    changes = []
    for e in events:
        value = getattr(e, kind)
        if kind == "team" and value is None and e.assignee:
            value = teams.get(e.assignee)
        if value:
            if last is not None and value != last:
                changes.append(_sec(e))
            last = value
    return changes


def latest(events: list[FlowEvent], dimension: str, teams: dict[str, str]) -> str:
    value: str | None = None
    for e in events:
        named = getattr(e, dimension)
        if dimension == "team" and named is None and e.assignee:
            named = teams.get(e.assignee)
        if named is not None:
            value = named
    return value or "none"


def oracle(
    events: list[FlowEvent], stream: StreamConfig, now: int, teams: dict[str, str]
) -> dict[str, Any]:
    by_item: dict[str, dict[str, FlowEvent]] = {}
    for e in events:
        by_item.setdefault(e.item, {}).setdefault(e.id, e)
    handoffs: dict[str, list[int]] = {"assignee": [], "team": []}
    reason_seconds: dict[str, int] = {}
    reason_items: dict[str, int] = {}
    wip: dict[str, dict[str, int]] = {}
    throughput: dict[str, dict[str, int]] = {}
    window = stream.window.total_seconds()
    for item_events in by_item.values():
        timeline = sorted(item_events.values(), key=lambda e: (e.at, e.id))
        facts = oracle_item(timeline, stream, reasons=True)
        if facts is None:
            continue
        created, started, completed = facts["created"], facts["started"], facts["completed"]
        if completed is None:
            for reason in reasons_after(timeline, 10**9, stream):
                reason_items[reason] = reason_items.get(reason, 0) + 1
            if started is not None:
                _count(wip, timeline, teams)
            continue
        if not now - window < completed <= now:
            continue
        _count(throughput, timeline, teams)
        for t in range(created, completed):
            for reason in reasons_after(timeline, t, stream):
                reason_seconds[reason] = reason_seconds.get(reason, 0) + 1
        for kind, counts in handoffs.items():
            inside = [
                t
                for t in holder_changes(timeline, kind, teams)
                if started is not None and started <= t < completed
            ]
            counts.append(len(inside) if started is not None and started <= completed else 0)
    return {
        "handoffs": {
            kind: {repr(q): float(np.quantile(v, q)) for q in (0.5, 0.85, 0.95)}
            for kind, v in handoffs.items()
            if v
        },
        "blocked_reason_seconds": {r: float(s) for r, s in reason_seconds.items()},
        "blocked_reason_items": reason_items,
        "distribution_wip": wip,
        "distribution_throughput": throughput,
    }


def _count(
    into: dict[str, dict[str, int]], timeline: list[FlowEvent], teams: dict[str, str]
) -> None:
    for dimension in ("item_type", "team", "parent"):
        value = latest(timeline, dimension, teams)
        values = into.setdefault(dimension, {})
        values[value] = values.get(value, 0) + 1


def with_teams(cfg: FlowConfig) -> FlowConfig:
    teams: dict[str, tuple[str, ...]] = {}
    for person, team in TEAMS_OF.items():
        teams.setdefault(team, ())
        teams[team] += (person,)
    return cfg.model_copy(update={"teams": teams})


@settings(max_examples=300, deadline=None)
@given(event_sets(mixed=True), hs.sampled_from(CONFIGS), NOW, hs.booleans())
def test_breakdown_equals_the_oracle(
    events: list[FlowEvent], cfg: FlowConfig, now: int, mapped: bool
) -> None:
    cfg = with_teams(cfg) if mapped else cfg
    [m] = FlowState.from_events(cfg, events).metrics(us(now))
    actual = {
        "handoffs": m.handoffs,
        "blocked_reason_seconds": m.blocked_reason_seconds,
        "blocked_reason_items": m.blocked_reason_items,
        "distribution_wip": m.distribution_wip,
        "distribution_throughput": m.distribution_throughput,
    }
    teams = TEAMS_OF if mapped else {}
    assert actual == oracle(events, cfg.streams[0], now, teams)


@settings(max_examples=150, deadline=None)
@given(event_sets(mixed=True), NOW, hs.randoms(use_true_random=False))
def test_breakdown_ignores_arrival_order_and_redelivery(
    events: list[FlowEvent], now: int, rnd: random.Random
) -> None:
    """The same samples, in the same order (the text /metrics and report print, byte for byte)."""
    cfg = with_teams(CONFIGS[0])
    expected = render(Processor.from_events(cfg, events).snapshot(us(now)))
    delivered = events + [e for e in events if rnd.random() < 0.5]
    rnd.shuffle(delivered)
    assert render(Processor.from_events(cfg, delivered).snapshot(us(now))) == expected
