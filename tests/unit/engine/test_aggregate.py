"""Stream gauges at a `now`: windows, quantiles, sums and ratios, with hand-computed values."""

from __future__ import annotations

from engine_helpers import config, ev, st, us

from flowgauge.engine.flow import FlowState
from flowgauge.engine.snapshot import StreamForecast, StreamMetrics, TargetForecast
from flowgauge.model import FlowEvent

NOT_DONE = ["backlog", "dev", "review", "test"]
ALL = [*NOT_DONE, "done", "released"]


def metrics(events: list[FlowEvent], now: float, **overrides: object) -> StreamMetrics:
    [result] = FlowState.from_events(config(**overrides), events).metrics(us(now))
    return result


def zero_seconds() -> dict[str, dict[str, float]]:
    return {stage: {"active": 0.0, "wait": 0.0, "blocked": 0.0} for stage in ALL}


def test_empty_stream_exposes_counts_but_no_quantiles_or_ratios() -> None:
    assert metrics([], 0) == StreamMetrics(
        stream="s",
        wip=dict.fromkeys(NOT_DONE, 0),
        blocked=dict.fromkeys(NOT_DONE, 0),
        stage_seconds=zero_seconds(),
        # every daily sample 0: 0 items at every confidence; nothing remains, so no `when`
        forecast=StreamForecast(
            items={(n, c): 0 for n in (7, 14, 30) for c in ("0.5", "0.85", "0.95")},
            targets=(TargetForecast("wip", 0),),
        ),
    )


def test_sle_breaches_only_with_an_sle() -> None:
    assert metrics([], 0, sle="30s").sle_breaches == dict.fromkeys(NOT_DONE, 0)


def _completed(item: str, start: float, done: float) -> list[FlowEvent]:
    return [
        ev(f"{item}-c", "created", 0, item=item),
        st(f"{item}-s", start, "In Progress", item=item),
        st(f"{item}-d", done, "Done", item=item),
    ]


def test_item_leaves_the_window_as_now_advances_and_returns_when_now_goes_back() -> None:
    state = FlowState.from_events(config(), _completed("i1", 10, 60))
    throughputs = [state.metrics(us(now))[0].throughput for now in [59, 60, 159, 160, 500, 100]]
    assert throughputs == [0, 1, 1, 0, 0, 1]


def test_future_completion_is_not_in_the_window_and_not_wip() -> None:
    result = metrics(_completed("i1", 10, 60), 50)
    assert result.throughput == 0 and result.lead_time == {}
    assert sum(result.wip.values()) == 0


def test_cycle_time_and_lead_time() -> None:
    result = metrics(_completed("i1", 10, 60) + _completed("i2", 20, 40), 100)
    # lead times 60 and 40, cycle times 50 and 20 (linear interpolation between them)
    assert result.lead_time == {"0.5": 50.0, "0.85": 57.0, "0.95": 59.0}
    assert result.cycle_time == {"0.5": 35.0, "0.85": 45.5, "0.95": 48.5}
    assert result.throughput == 2


def test_straight_to_done_starts_on_completion() -> None:
    # done is after the commitment stage, so entering it starts the item: cycle time 0
    events = [ev("a", "created", 0), st("b", 30, "Done")]
    result = metrics(events, 100)
    assert result.lead_time == {"0.5": 30.0, "0.85": 30.0, "0.95": 30.0}
    assert result.cycle_time == {"0.5": 0.0, "0.85": 0.0, "0.95": 0.0}
    assert result.flow_efficiency is None  # nothing on [started_at, completed_at)
    assert result.stage_time == {"backlog": {"0.5": 30.0, "0.85": 30.0, "0.95": 30.0}}


def test_stage_seconds_by_kind_and_flow_efficiency_as_a_ratio_of_sums() -> None:
    events = [
        # i1: backlog 10 wait, dev 40 active (of which 10 blocked), done at 50: efficiency 30/40
        *_completed("i1", 10, 50),
        ev("i1-b", "blocked", 20, item="i1"),
        ev("i1-u", "unblocked", 30, item="i1"),
        # i2: dev 10 active, review 80 wait, done at 100: efficiency 10/90
        ev("i2-c", "created", 0, item="i2", state="In Progress"),
        st("i2-r", 10, "In Review", item="i2"),
        st("i2-d", 90, "Done", item="i2"),
    ]
    result = metrics(events, 100)
    seconds = zero_seconds()
    seconds["backlog"]["wait"] = 10.0
    seconds["dev"] = {"active": 30.0 + 10.0, "wait": 0.0, "blocked": 10.0}
    seconds["review"]["wait"] = 80.0
    assert result.stage_seconds == seconds
    assert result.flow_efficiency == 40 / 130  # not the mean of 0.75 and 0.11
    assert set(result.stage_time) == {"backlog", "dev", "review"}
    assert result.stage_time["dev"] == {"0.5": 25.0, "0.85": 35.5, "0.95": 38.5}


def test_rework_and_defect_ratios() -> None:
    events = [
        *_completed("i1", 10, 20),
        st("i1-r", 30, "In Progress", item="i1"),
        st("i1-d2", 40, "Done", item="i1"),
        *_completed("i2", 10, 20),
        ev("i2-t", "state", 5, item="i2", state="Backlog", item_type="bug"),
        *_completed("i3", 10, 20),
        *_completed("i4", 10, 20),
    ]
    result = metrics(events, 50)
    assert (result.throughput, result.rework_ratio, result.defect_ratio) == (4, 0.25, 0.25)


def test_wip_blocked_age_and_sle() -> None:
    events = [
        # dev: i1 started 0, i2 started 10, i3 started 40 (blocked); i4 in backlog since 5
        ev("i1-c", "created", 0, item="i1", state="In Progress"),
        ev("i2-c", "created", 0, item="i2"),
        st("i2-s", 10, "In Progress", item="i2"),
        ev("i3-c", "created", 0, item="i3"),
        st("i3-s", 40, "In Progress", item="i3"),
        ev("i3-b", "labeled", 41, item="i3", label="blocked"),
        ev("i4-c", "created", 5, item="i4"),
    ]
    result = metrics(events, 100, sle="90s")
    assert result.wip == {"backlog": 1, "dev": 3, "review": 0, "test": 0}
    assert result.blocked == {"backlog": 0, "dev": 1, "review": 0, "test": 0}
    # ages 100, 90, 60: strictly more than 90 s breaches
    assert result.sle_breaches == {"backlog": 0, "dev": 1, "review": 0, "test": 0}
    assert result.age == {
        "backlog": {"0.5": 95.0, "0.85": 95.0, "0.95": 95.0, "1": 95.0},
        "dev": {"0.5": 90.0, "0.85": 97.0, "0.95": 99.0, "1": 100.0},
    }


def test_unstarted_items_never_breach_the_sle() -> None:
    result = metrics([ev("a", "created", 0)], 1000, sle="1s")
    assert result.sle_breaches["backlog"] == 0
    assert result.age["backlog"]["1"] == 1000.0


def test_deleted_item_is_in_no_metric() -> None:
    events = [*_completed("i1", 10, 20), ev("i1-x", "deleted", 5, item="i1")]
    assert metrics(events, 50) == metrics([], 50)


def test_reopened_item_is_wip_again() -> None:
    events = [*_completed("i1", 10, 20), st("i1-r", 30, "QA", item="i1")]
    result = metrics(events, 50)
    assert (result.throughput, result.wip["test"]) == (0, 1)
    assert result.age["test"]["1"] == 40.0  # age counts from started_at, not from the reopen


def test_unmapped_and_unrouted_counts() -> None:
    events = [
        st("a", 0, "Nowhere"),
        st("b", 1, "Nowhere", item="i2"),
        st("c", 1, "Nowhere", item="i2"),
        ev("d", "created", 0, item="i3", stream="other"),
        ev("e", "deployment", 0, item="dep1", service="api", status="success"),
    ]
    state = FlowState.from_events(config(), events)
    assert dict(state.unmapped) == {"s": 3}
    assert state.unrouted == 1
    state.forget("s", "i2")
    assert dict(state.unmapped) == {"s": 1}
    state.apply("s", "i1", state_timeline([st("a", 0, "Nowhere"), ev("z", "deleted", 1)]))
    assert dict(state.unmapped) == {"s": 0}


def state_timeline(events: list[FlowEvent]):  # type: ignore[no-untyped-def]
    from flowgauge.engine.timeline import Timeline

    return Timeline.from_events(events, "s")


def test_streams_in_config_order_and_routing() -> None:
    from flowgauge.model import FlowConfig

    two = FlowConfig.model_validate(
        {
            "streams": [
                {
                    "name": "b",
                    "match": {"source": "github"},
                    "stages": [{"name": "x", "kind": "wait"}],
                },
                {"name": "a", "stages": [{"name": "y", "kind": "wait"}]},
            ]
        }
    )
    events = [ev("1", "created", 0, source="github"), ev("2", "created", 0, item="i2")]
    result = FlowState.from_events(two, events).metrics(us(10))
    assert [(m.stream, m.wip) for m in result] == [("b", {"x": 1}), ("a", {"y": 1})]


def test_window_edges_for_items_put_after_a_scrape() -> None:
    from flowgauge.engine.aggregate import StreamAggregate
    from flowgauge.engine.item import derive
    from flowgauge.engine.timeline import Timeline

    stream = config().streams[0]  # window 100 s
    aggregate = StreamAggregate(stream)
    assert aggregate.metrics(us(160)).throughput == 0
    for item, done in [("edge", 60), ("inside", 61), ("now", 160), ("future", 161)]:
        facts = derive(Timeline.from_events(_completed(item, 10, done)), stream)
        aggregate.put(item, facts)
    assert aggregate.metrics(us(160)).throughput == 2  # (60, 160]: inside and now
    aggregate.put("inside", None)
    aggregate.put("now", None)
    assert aggregate.metrics(us(160)).throughput == 0
    assert aggregate.metrics(us(161)).throughput == 1
