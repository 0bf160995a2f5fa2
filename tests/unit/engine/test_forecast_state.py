"""A stream's forecasts wired to its items (engine/forecast_state.py), by hand, in days."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import ev, st, stream, us
from hypothesis import given, settings
from hypothesis import strategies as hs

from flowgauge.engine.aggregate import StreamAggregate
from flowgauge.engine.flow import FlowState
from flowgauge.engine.forecast_state import daily_samples
from flowgauge.engine.item import derive
from flowgauge.engine.snapshot import StreamMetrics, TargetForecast
from flowgauge.engine.timeline import Timeline
from flowgauge.model import FlowConfig, FlowEvent

DAY = 86_400
# T0 is 2024-01-01T00:00Z; due 2024-01-10 ends at T0 + 10 days
TARGETS: list[dict[str, Any]] = [
    {"name": "bugs", "match": {"item_type": "bug"}, "due": "2024-01-10"},
    {"name": "epic", "match": {"parent": "ACME-1"}},
]


def done_item(item: str, day: float, item_type: str = "feature") -> list[FlowEvent]:
    """An item created, started and completed on `day` (days from T0)."""
    at = day * DAY
    return [
        ev(f"{item}-c", "created", at - 2, item=item, item_type=item_type),
        st(f"{item}-s", at - 1, "In Progress", item=item),
        st(f"{item}-d", at, "Done", item=item),
    ]


def open_item(item: str, item_type: str, started: bool, day: float = 0) -> list[FlowEvent]:
    events = [ev(f"{item}-c", "created", day * DAY, item=item, item_type=item_type)]
    if started:
        events.append(st(f"{item}-s", day * DAY + 1, "In Progress", item=item))
    return events


def metrics(events: list[FlowEvent], now_days: float, **overrides: Any) -> StreamMetrics:
    cfg = FlowConfig(streams=(stream(**overrides),))
    [result] = FlowState.from_events(cfg, events).metrics(us(now_days * DAY))
    return result


def test_daily_samples_are_24_hour_buckets_back_from_now() -> None:
    completed = [s * 1_000_000 for s in (0, 10, DAY, DAY + 1, 3 * DAY)]  # µs

    def until(t: int) -> int:
        return sum(c <= t for c in completed)

    # now = 3 days: (2d, 3d] (1d, 2d] (0, 1d] (-1d, 0]; a completion on an edge is in the later
    assert daily_samples(until, 3 * DAY * 1_000_000, 4) == (1, 1, 2, 1)


def test_three_a_day_for_a_week_forecasts_the_week_and_the_wip() -> None:
    events = [e for day in range(7) for i in range(3) for e in done_item(f"d{day}-{i}", day + 0.5)]
    events += [e for i in range(7) for e in open_item(f"w{i}", "feature", started=True)]
    events += open_item("later", "feature", started=False)  # not started: not in `wip`
    m = metrics(events, 7, forecast={"history": "7d"})
    assert m.forecast.items == {(n, c): 3 * n for n in (7, 14, 30) for c in ("0.5", "0.85", "0.95")}
    [wip] = m.forecast.targets
    # 7 started items at 3 a day: 3 days at every confidence
    assert wip == TargetForecast("wip", 7, dict.fromkeys(("0.5", "0.85", "0.95"), 3.0 * DAY))


def test_a_target_counts_its_items_not_complete_started_or_not_with_a_due_probability() -> None:
    # history of 2 days: one day with 0 completions, one with 2 (the {0, 2} case by hand)
    events = done_item("a", 0.5) + done_item("b", 0.6)
    events += open_item("bug1", "bug", started=True) + open_item("bug2", "bug", started=False)
    events += open_item("feat", "feature", started=True)
    events += done_item("bug3", 0.7, "bug")  # complete: not remaining (3 done on day 0)
    # item types change: the latest event naming one counts
    events.append(ev("retype", "state", 2, item="feat", state="In Review", item_type="bug"))
    m = metrics(events, 2, forecast={"history": "2d"}, forecasts=TARGETS)
    wip, bugs, epic = m.forecast.targets  # no item names the parent of `epic`
    assert (wip.target, wip.remaining, bugs.target, bugs.remaining) == ("wip", 2, "bugs", 3)
    assert (epic.target, epic.remaining, epic.completion) == ("epic", 0, {})
    # days of 0 or 3 completions (samples: day (1d, 2d] 0, day (0, 1d] 3), 3 remaining:
    # P(S_d >= 3) = 1 - 2^-d; due at the end of 2024-01-10 = 8 whole days after now (day 2)
    assert bugs.completion == {"0.5": 1.0 * DAY, "0.85": 3.0 * DAY, "0.95": 5.0 * DAY}
    assert bugs.due == 1 - 2**-8
    assert bugs.due_seconds == us(10 * DAY) / 1e6


def test_past_due_with_work_left_is_zero() -> None:
    events = done_item("a", 0.5) + open_item("bug1", "bug", started=True)
    m = metrics(events, 10.5, forecast={"history": "30d"}, forecasts=TARGETS[:1])
    assert m.forecast.targets[1].due == 0.0


def test_a_target_selects_by_parent_and_by_team_from_the_latest_event_naming_it() -> None:
    events = [
        *open_item("a", "feature", started=True),
        ev("a-p", "state", 10, item="a", parent="ACME-1", team="pay"),
        *open_item("b", "feature", started=False),
        ev("b-p", "state", 10, item="b", parent="ACME-1", assignee="ana"),
        ev("b-q", "state", 20, item="b", parent="", team="core"),  # leaves the epic
        *open_item("c", "bug", started=True),
        ev("c-p", "state", 10, item="c", parent="ACME-1"),
    ]
    targets = [
        {"name": "epic", "match": {"parent": "ACME-1"}},
        {"name": "pay", "match": {"team": "pay"}},
    ]
    m = metrics(events, 1, forecasts=targets)
    remaining = {t.target: t.remaining for t in m.forecast.targets}
    assert remaining == {"wip": 2, "epic": 2, "pay": 1}


def test_sle_attainment_is_the_share_of_cycle_times_within_the_sle() -> None:
    # cycle times 1, 2, 3, 4 days; SLE 2 days -> 2 of 4 (equal counts as within)
    events = []
    for i, days in enumerate([1, 2, 3, 4]):
        events += [
            ev(f"c{i}", "created", 0, item=f"i{i}"),
            st(f"s{i}", DAY, "In Progress", item=f"i{i}"),
            st(f"d{i}", DAY + days * DAY, "Done", item=f"i{i}"),
        ]
    assert metrics(events, 6, window="30d", sle="2d").sle_attainment == 0.5
    assert metrics(events, 6, window="30d").sle_attainment is None  # no SLE
    assert metrics([], 6, window="30d", sle="2d").sle_attainment is None  # no cycle time


def test_forecasts_are_recomputed_only_when_their_inputs_change() -> None:
    cfg = stream(forecast={"history": "3d"})
    aggregate = StreamAggregate(cfg)
    for item, day in (("a", 0.5), ("b", 1.5)):
        aggregate.put(item, derive(Timeline.from_events(done_item(item, day)), cfg))
    computed = aggregate._forecast.computations
    aggregate.metrics(us(2 * DAY))
    first = aggregate._forecast.computations
    assert first == computed + 2  # how-many and `wip`
    aggregate.metrics(us(2 * DAY + 60))  # same samples, same WIP: cached
    assert aggregate._forecast.computations == first
    aggregate.put("w", derive(Timeline.from_events(open_item("w", "x", True, 1.9)), cfg))
    aggregate.metrics(us(2 * DAY + 120))  # the WIP changed: `wip` again, how-many cached
    assert aggregate._forecast.computations == first + 1


@settings(max_examples=40, deadline=None)
@given(
    types=hs.lists(hs.sampled_from(["bug", "feature", None]), min_size=1, max_size=8),
    order=hs.randoms(use_true_random=False),
)
def test_target_counts_do_not_depend_on_the_order_of_puts(
    types: list[str | None], order: Any
) -> None:
    cfg = stream(forecasts=TARGETS[:1])
    timelines = {}
    for i, item_type in enumerate(types):
        events = open_item(f"i{i}", item_type or "feature", started=i % 2 == 0)
        if item_type is None:
            events = [ev(f"i{i}-c", "created", 0, item=f"i{i}")]
        timelines[f"i{i}"] = Timeline.from_events(events)
    aggregate = StreamAggregate(cfg)
    names = list(timelines)
    order.shuffle(names)
    for name in names:  # put twice and remove some: the counts must come back exactly
        aggregate.put(name, derive(timelines[name], cfg))
        aggregate.put(name, derive(timelines[name], cfg))
    for name in names[::2]:
        aggregate.put(name, None)
    kept = names[1::2]
    expected = sum(types[int(n[1:])] == "bug" for n in kept)
    bugs = aggregate.metrics(us(DAY)).forecast.targets[1]
    assert bugs.remaining == expected


@pytest.mark.parametrize("history", ["1d", "90d"])
def test_history_sets_the_number_of_samples(history: str) -> None:
    m = metrics(done_item("a", 0.5), 1, forecast={"history": history})
    # one completion: 1 every day (1d), or on 1 day of 90: P(S_7 >= 1) = 1 - (89/90)^7 < 0.5
    assert m.forecast.items[(7, "0.5")] == (7 if history == "1d" else 0)
