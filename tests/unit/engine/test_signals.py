"""Bottleneck signals: each definition by hand, the XmR limits, the score, the sentences, and
a property that the signals of a set of events do not depend on its order or duplicates."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from engine_helpers import T0, config, ev, st, us
from hypothesis import given, settings
from hypothesis import strategies as hs

from flowgauge.engine.flow import FlowState
from flowgauge.engine.signals import xmr_limits
from flowgauge.engine.snapshot import StageSignals
from flowgauge.engine.timeline import Timeline
from flowgauge.model import FlowEvent
from flowgauge.stream.alerts import duration, sentence

DAY = 86_400.0


def stages(events: list[FlowEvent], now: float, **overrides: Any) -> dict[str, StageSignals]:
    [signals] = FlowState.from_events(config(**overrides), events).signals(us(now))
    return {s.stage: s for s in signals.stages}


def into(item: str, state: str, at: float) -> list[FlowEvent]:
    return [ev(f"{item}-c", "created", 0, item=item), st(f"{item}-{state}", at, state, item=item)]


WITH_LIMIT = [
    {"name": "backlog", "kind": "wait", "states": ["Backlog"]},
    {"name": "dev", "kind": "active", "states": ["In Progress"]},
    {"name": "review", "kind": "wait", "states": ["In Review"], "wip_limit": 2, "sle": "10s"},
    {"name": "test", "kind": "active", "states": ["QA"]},
    {"name": "done", "kind": "done", "states": ["Done"]},
]


@pytest.mark.parametrize(
    ("in_review", "now", "firing", "values"),
    [
        # entries at 0, 5, 20; now 25: ages 25, 20, 5 -> two older than 10 s; WIP 3 > 2
        ([0, 5, 20], 25, {"wip_limit": True, "aging": True}, {"wip": 3, "limit": 2}),
        # WIP 2 is at the limit, not above it; ages 5 and 4 are within the SLE
        ([20, 21], 25, {"wip_limit": False, "aging": False}, {"wip": 2, "limit": 2}),
        # exactly 10 s old is not older than the SLE (strictly more)
        ([15], 25, {"wip_limit": False, "aging": False}, {"wip": 1, "limit": 2}),
    ],
)
def test_wip_limit_and_aging(
    in_review: list[float], now: float, firing: dict[str, bool], values: dict[str, float]
) -> None:
    events = [e for i, at in enumerate(in_review) for e in into(f"i{i}", "In Review", at)]
    review = stages(events, now, stages=WITH_LIMIT)["review"]
    assert {k: review.firing[k] for k in firing} == firing
    assert review.values["wip_limit"] == values
    ages = sorted(now - at for at in in_review)
    assert review.values["aging"] == {
        "oldest_seconds": ages[-1],
        "items": sum(age > 10 for age in ages),
        "sle_seconds": 10.0,
    }


def test_stream_sle_applies_from_the_commitment_stage_on() -> None:
    events = into("a", "Backlog", 1) + into("b", "In Progress", 1)
    result = stages(events, 100, sle="30s")
    assert result["backlog"].firing["aging"] is False  # an option, not work in flight
    assert "items" not in result["backlog"].values["aging"]
    assert result["dev"].firing["aging"] is True
    assert result["dev"].values["aging"] == {
        "oldest_seconds": 99.0,
        "items": 1,
        "sle_seconds": 30.0,
    }


def test_accumulating_counts_entries_and_exits_in_the_interval() -> None:
    # review, interval 10 s, now 30: arrivals at 22, 25, 30 (not 20: the interval is (20, 30]);
    # departures at 26 (to QA) and 28 (to Done).
    events = (
        into("a", "In Review", 20)
        + into("b", "In Review", 22)
        + into("c", "In Review", 25)
        + [st("c-q", 26, "QA", item="c")]
        + into("d", "In Review", 30)
        + [st("b-d", 28, "Done", item="b")]
    )
    interval = {"interval": "10s"}
    review = stages(events, 30, signals=interval)["review"]
    assert review.values["accumulating"] == {
        "arrivals": 3,
        "departures": 2,
        "interval_seconds": 10.0,
    }
    assert review.firing["accumulating"] is True
    margin = {"interval": "10s", "accumulating_margin": 1}
    assert stages(events, 30, signals=margin)["review"].firing["accumulating"] is False
    # the backlog (before commitment) never accumulates
    assert stages(events, 30, signals=interval)["backlog"].firing["accumulating"] is False


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([2, 4, 3, 5], (3.5, 3.5 - 2.66 * 5 / 3, 3.5 + 2.66 * 5 / 3)),
        ([1, 1, 1], (1.0, 1.0, 1.0)),
        ([10, 0], (5.0, 5.0 - 26.6, 5.0 + 26.6)),
        ([7], None),
        ([], None),
    ],
)
def test_xmr_limits(values: list[float], expected: tuple[float, float, float] | None) -> None:
    result = xmr_limits(values)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def daily_history(today_arrivals: int) -> list[FlowEvent]:
    """Item k waits in review from day k 01:00 to day k+1 01:00 (k = 0..4): WIP 1 at the end
    of days 0-4, and each visit lasts one day. On day 5 at 02:00, `today_arrivals` enter."""
    events: list[FlowEvent] = []
    for k in range(5):
        events += into(f"k{k}", "In Review", k * DAY + 3600)
        events.append(st(f"k{k}-q", (k + 1) * DAY + 3600, "QA", item=f"k{k}"))
    for j in range(today_arrivals):
        events += into(f"n{j}", "In Review", 5 * DAY + 7200)
    return events


def test_out_of_limits_from_daily_wip() -> None:
    now = 5 * DAY + 12 * 3600
    cfg = {"signals": {"baseline_days": 5, "min_baseline_days": 5}, "window": "30d"}
    review = stages(daily_history(3), now, **cfg)["review"]
    limits = review.values["out_of_limits"]
    # daily WIP 1, 1, 1, 1, 1: mean 1, moving range 0 -> limits 1..1; WIP 3 is above
    assert limits["wip_mean"] == 1.0 and limits["wip_upper"] == 1.0 and limits["wip"] == 3
    assert limits["baseline_days"] == 5
    # only days 1-4 had departures (4 < 5 values): no limits for the time in stage yet
    assert "wait_upper_seconds" not in limits
    assert limits["wait_seconds"] == 10 * 3600.0  # three items entered 10 h ago
    assert review.firing["out_of_limits"] is True
    # one arrival today: WIP 1, inside the limits
    assert stages(daily_history(1), now, **cfg)["review"].firing["out_of_limits"] is False
    # a longer minimum baseline than the history: no limits at all
    fewer = {"signals": {"baseline_days": 8, "min_baseline_days": 6}, "window": "30d"}
    quiet = stages(daily_history(3), now, **fewer)["review"]
    assert "wip_upper" not in quiet.values["out_of_limits"]
    assert quiet.firing["out_of_limits"] is False


def test_score_and_bottleneck() -> None:
    now = 5 * DAY + 12 * 3600
    cfg = {"signals": {"baseline_days": 5, "min_baseline_days": 5}, "window": "30d"}
    result = stages(daily_history(3) + into("x", "In Progress", 5 * DAY), now, **cfg)
    # 9 items in progress: 1 in dev, 3 in review, 5 in test (k0-k4 moved on to QA).
    # review: accumulating (3 in, 1 out over the last day) and above its upper natural process
    # limit: 2 signals, plus its share of the stream's WIP
    assert result["review"].firing["accumulating"] is True
    assert result["review"].score == 2 + 3 / 9
    # dev: accumulating (1 in, 0 out): 1 + 1/9; test: accumulating (k4 in, 0 out): 1 + 5/9
    assert result["dev"].score == 1 + 1 / 9
    assert result["test"].score == 1 + 5 / 9
    assert [s.stage for s in result.values() if s.bottleneck] == ["review"]
    assert result["backlog"].score == 0.0


def test_ties_go_to_the_earlier_stage_and_no_signal_means_no_bottleneck() -> None:
    events = into("a", "In Progress", 5) + into("b", "In Review", 5)
    tied = stages(events, 6)  # one arrival each in the interval: one signal, share 1/2 each
    assert tied["dev"].score == tied["review"].score == 1.5
    assert [s.stage for s in tied.values() if s.bottleneck] == ["dev"]
    quiet = stages(events, 2 * DAY)  # nothing arrived in the last day, no limits, no SLE
    assert not any(s.bottleneck for s in quiet.values())
    assert all(s.score == 0 for s in quiet.values())


def test_sentences_carry_the_numbers() -> None:
    review = stages([e for i in range(9) for e in into(f"i{i}", "In Review", 0)], 20)
    stage = StageSignals(
        "approval",
        {"wip_limit": True},
        {"wip_limit": {"wip": 9, "limit": 3}, "aging": {"oldest_seconds": 4.6 * DAY}},
    )
    assert sentence("delivery", stage, "wip_limit", True, "wait") == (
        "delivery/approval: 9 items waiting, limit 3; oldest 4.6 days in the stage. "
        "Finish or unblock work here before starting more."
    )
    assert review["review"].values["wip_limit"]["wip"] == 9
    assert [duration(s) for s in (DAY, 2 * DAY, 5400, 90)] == [
        "1 day",
        "2 days",
        "1.5 hours",
        "1.5 minutes",
    ]


# ---------------------------------------------------------------- order and duplicates

STATES = ["Backlog", "In Progress", "In Review", "QA", "Done"]
PROPERTY_CONFIG = config(
    stages=WITH_LIMIT,
    sle="1d",
    window="30d",
    signals={"interval": "12h", "baseline_days": 4, "min_baseline_days": 2},
)


@hs.composite
def histories(draw: hs.DrawFn) -> list[FlowEvent]:
    """Items moving between stages over a week, on whole hours, sometimes deleted."""
    events: list[FlowEvent] = []
    for item in range(draw(hs.integers(0, 6))):
        name = f"i{item}"
        for index in range(draw(hs.integers(1, 6))):
            at = T0 + timedelta(hours=draw(hs.integers(0, 24 * 7)))
            data: dict[str, Any] = {
                "id": f"{draw(hs.integers(0, 3))}-{name}-{index}",
                "item": name,
                "at": at,
            }
            data |= {"type": "state", "state": draw(hs.sampled_from(STATES))}
            events.append(FlowEvent.model_validate(data))
        if draw(hs.integers(0, 8)) == 0:
            events.append(FlowEvent(id=f"del-{name}", type="deleted", item=name, at=T0))
    return events


@settings(max_examples=150, deadline=None)
@given(histories(), hs.integers(0, 24 * 9), hs.randoms(use_true_random=False))
def test_signals_do_not_depend_on_order_or_duplicates(
    events: list[FlowEvent], hours: int, rnd: random.Random
) -> None:
    now = us(hours * 3600)
    expected = FlowState.from_events(PROPERTY_CONFIG, events).signals(now)
    delivered = events + [e for e in events if rnd.random() < 0.4]
    rnd.shuffle(delivered)
    assert FlowState.from_events(PROPERTY_CONFIG, delivered).signals(now) == expected
    # the live path: one event at a time, each item's whole timeline re-applied after it
    live = FlowState(PROPERTY_CONFIG)
    timelines: dict[str, Timeline] = {}
    for event in delivered:
        added = timelines.get(event.item, Timeline(stream="s")).add(event)
        if added is not None:
            timelines[event.item] = added
            live.apply("s", event.item, added)
    assert live.signals(now) == expected
