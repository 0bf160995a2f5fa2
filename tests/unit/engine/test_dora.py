"""DORA engine: one hand-computed case per rule of METRICS.md and the issue (docs/dora.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from flowgauge.engine.dora import DoraState
from flowgauge.engine.processor import Processor
from flowgauge.engine.snapshot import ServiceMetrics
from flowgauge.engine.timeline import Timeline
from flowgauge.keys import dora_key, state_key
from flowgauge.model import (
    Change,
    DoraConfig,
    FlowConfig,
    FlowEvent,
    Stage,
    StreamConfig,
    to_micros,
)

BASE = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = 3600.0
CONFIG = DoraConfig(production=("production", "prod-eu"), window="10d", incident_link_window="1d")
STREAM = StreamConfig(name="s", stages=(Stage(name="open", kind="wait"),))


def at(hours: float) -> datetime:
    return BASE + timedelta(hours=hours)


def now(hours: float) -> int:
    return to_micros(at(hours))


def dep(
    eid: str,
    item: str,
    hours: float,
    service: str | None = "api",
    env: str | None = "production",
    status: Literal["success", "failure"] | None = "success",
    changes: tuple[tuple[str, float | None], ...] = (),
) -> FlowEvent:
    return FlowEvent(
        id=eid,
        type="deployment",
        item=item,
        at=at(hours),
        service=service,
        environment=env,
        status=status,
        changes=tuple(Change(id=c, committed_at=None if h is None else at(h)) for c, h in changes),
    )


def opened(
    eid: str, item: str, hours: float, service: str | None = "api", deployment: str | None = None
) -> FlowEvent:
    return FlowEvent(
        id=eid,
        type="incident_opened",
        item=item,
        at=at(hours),
        service=service,
        deployment=deployment,
    )


def resolved(
    eid: str, item: str, hours: float, service: str | None = "api", deployment: str | None = None
) -> FlowEvent:
    return FlowEvent(
        id=eid,
        type="incident_resolved",
        item=item,
        at=at(hours),
        service=service,
        deployment=deployment,
    )


def same(seconds: float) -> dict[str, float]:
    return {"0.5": seconds, "0.85": seconds, "0.95": seconds}


@dataclass
class Case:
    name: str
    events: list[FlowEvent]
    now_hours: float
    expected: dict[str, dict[str, Any]]  # service -> ServiceMetrics fields that must hold
    services: list[str] | None = None  # the full list of services exposed, when checked
    config: DoraConfig = field(default=CONFIG)


# Window: 10 days = 240 h; now = 300 h unless said otherwise, so the window is (60 h, 300 h].
CASES = [
    Case(
        "only successful production deployments count",
        [
            dep("e1", "d1", 100),
            dep("e2", "d2", 110, env="staging"),
            dep("e3", "d3", 120, status="failure"),
            dep("e4", "d4", 130, status=None),
            dep("e5", "d5", 140, env=None),
            dep("e6", "d6", 150, env="prod-eu"),
            dep("e7", "d7", 160, env="Production"),
        ],
        300,
        {"api": {"deployment_frequency_per_day": 0.2, "change_failure_ratio": 0.0}},
    ),
    Case(
        "one deployment id reported several times: counted once, at its earliest success",
        [
            dep("run", "d1", 100, changes=(("c0", None), ("c1", 90))),
            dep("status", "d1", 95, changes=(("c1", 90),)),
            dep("fail", "d1", 80, status="failure", changes=(("c1", 90),)),
            dep("retry", "d1", 101, changes=(("c2", 91),)),
        ],
        300,
        {
            "api": {
                "deployment_frequency_per_day": 0.1,
                # c1 and c2 both reached production with d1 at 95 h: 5 h and 4 h
                "lead_time_for_changes": {
                    "0.5": 4.5 * HOUR,
                    "0.85": 4.85 * HOUR,
                    "0.95": 4.95 * HOUR,
                },
                "deployments_without_change_times": 0,
            }
        },
    ),
    Case(
        "two ids are two deployments, even with the same changes (several pipelines)",
        [
            dep("gh", "gh-1", 100, changes=(("c1", 90),)),
            dep("argo", "argo-7", 95, changes=(("c1", 90),)),
            dep("eu", "eu-1", 120, env="prod-eu", changes=(("c1", 90),)),
        ],
        300,
        # c1's lead time counts once, at its first production deployment (95 h)
        {"api": {"deployment_frequency_per_day": 0.3, "lead_time_for_changes": same(5 * HOUR)}},
    ),
    Case(
        "a rollback under a new id is a deployment; the change keeps its first lead time",
        [
            dep("a", "d1", 100, changes=(("c1", 98),)),
            dep("b", "d2", 110, changes=(("c2", 108),)),
            dep("c", "d3", 112, changes=(("c1", 98),)),  # back to c1
            opened("i", "inc-1", 113, deployment="d3"),
        ],
        300,
        {
            "api": {
                "deployment_frequency_per_day": 0.3,
                "change_failure_ratio": pytest.approx(1 / 3),
                "lead_time_for_changes": same(2 * HOUR),
            }
        },
    ),
    Case(
        "a redeploy of the same commit under a new id counts, and is blamed by time",
        [
            dep("a", "d1", 100, changes=(("c1", 99),)),
            dep("b", "d2", 150, changes=(("c1", 99),)),
            opened("i", "inc-1", 151),
        ],
        300,
        {
            "api": {
                "deployment_frequency_per_day": 0.2,
                "change_failure_ratio": 0.5,
                "lead_time_for_changes": same(1 * HOUR),
            }
        },
    ),
    Case(
        "no changes: two ids are two deployments",
        [dep("a", "d1", 100), dep("b", "d2", 100), dep("c", "d1", 100)],
        300,
        {"api": {"deployment_frequency_per_day": 0.2, "deployments_without_change_times": 2}},
    ),
    Case(
        "a deployment reported as success then failure still counts",
        [dep("a", "d1", 100), dep("b", "d1", 101, status="failure")],
        300,
        {"api": {"deployment_frequency_per_day": 0.1}},
    ),
    Case(
        "squash merge: the change's time is the earliest commit time reported for it",
        [
            dep("a", "d1", 100, env="staging", changes=(("pr-12", 96),)),  # squash commit
            dep("b", "d1", 104, changes=(("pr-12", 90),)),  # the PR's first commit
            dep("c", "d2", 110, changes=(("pr-13", 107), ("pr-14", 100))),
        ],
        300,
        # leads: pr-12 14 h, pr-13 3 h, pr-14 10 h -> [3, 10, 14] h
        # 0.85: h = 1.7 -> 10 + 0.7 * 4 = 12.8 h; 0.95: h = 1.9 -> 10 + 0.9 * 4 = 13.6 h
        {
            "api": {
                "lead_time_for_changes": {
                    "0.5": 10 * HOUR,
                    "0.85": 12.8 * HOUR,
                    "0.95": 13.6 * HOUR,
                }
            }
        },
    ),
    Case(
        "changes without commit time: not in lead time, counted as deployments without times",
        [
            dep("a", "d1", 100, changes=(("c1", None),)),
            dep("b", "d2", 110, changes=(("c2", None), ("c3", 109))),
            dep("c", "d3", 120),
            dep("d", "d4", 40, changes=(("c4", None),)),  # before the window
        ],
        300,
        {
            "api": {
                "lead_time_for_changes": same(1 * HOUR),
                "deployments_without_change_times": 2,
            }
        },
    ),
    Case(
        "lead time counts a change once, at its first production deployment (in window only)",
        [
            dep("a", "d1", 50, changes=(("c1", 40),)),  # first deployed before the window
            dep("b", "d2", 100, changes=(("c1", 40), ("c2", 98))),
            dep("c", "d3", 110, changes=(("c2", 98), ("c3", 100))),
        ],
        300,
        {
            "api": {
                "lead_time_for_changes": {"0.5": 6 * HOUR, "0.85": 8.8 * HOUR, "0.95": 9.6 * HOUR}
            }
        },
    ),
    Case(
        "commit time after the deployment (clock skew): left out of lead time",
        [dep("a", "d1", 100, changes=(("c1", 101),))],
        300,
        {"api": {"lead_time_for_changes": {}, "deployments_without_change_times": 0}},
    ),
    Case(
        "explicit link to an older deployment, across keys (the incident names no service)",
        [
            dep("a", "d1", 100),
            dep("b", "d2", 110),
            opened("i", "inc-1", 111, service=None, deployment="d1"),
        ],
        300,
        {"api": {"change_failure_ratio": 0.5, "unlinked_incidents": 0}},
        services=["api"],
    ),
    Case(
        "explicit link names one id: another id of the same commit is another deployment",
        [
            dep("a", "gh-1", 100, changes=(("c1", 99),)),
            dep("b", "argo-1", 101, changes=(("c1", 99),)),
            dep("c", "d2", 110),
            opened("i", "inc-1", 200, deployment="argo-1"),
        ],
        300,
        {"api": {"change_failure_ratio": pytest.approx(1 / 3), "unlinked_incidents": 0}},
    ),
    Case(
        "window link: the latest production deployment within the link window before opening",
        [
            dep("a", "d1", 100),
            dep("b", "d2", 110),
            dep("c", "d3", 111, env="staging"),
            dep("d", "d4", 111, status="failure"),
            dep("e", "d5", 113),  # after the incident opened
            opened("i", "inc-1", 112),
        ],
        300,
        {"api": {"change_failure_ratio": pytest.approx(1 / 3), "unlinked_incidents": 0}},
    ),
    Case(
        "window link edge: a deployment exactly one link window before is outside",
        [dep("a", "d1", 100), opened("i", "inc-1", 124)],
        300,
        {"api": {"change_failure_ratio": 0.0, "unlinked_incidents": 1}},
    ),
    Case(
        "window link edge: a deployment at the opening instant is inside",
        [dep("a", "d1", 100), opened("i", "inc-1", 100)],
        300,
        {"api": {"change_failure_ratio": 1.0, "unlinked_incidents": 0}},
    ),
    Case(
        "outside the link window: unlinked; only another service's deployment is near",
        [
            dep("a", "d1", 100),
            dep("b", "w1", 130, service="web"),
            opened("i", "inc-1", 131),
            opened("j", "inc-2", 135, service="web"),
        ],
        300,
        {
            "api": {"change_failure_ratio": 0.0, "unlinked_incidents": 1},
            "web": {"change_failure_ratio": 1.0, "unlinked_incidents": 0},
        },
    ),
    Case(
        "named deployment never seen: the window rule applies",
        [dep("a", "d1", 100), opened("i", "inc-1", 101, deployment="nope")],
        300,
        {"api": {"change_failure_ratio": 1.0, "unlinked_incidents": 0}},
    ),
    Case(
        "named deployment that does not count (staging): linked to it, no failure counted",
        [
            dep("a", "d1", 100),
            dep("b", "s1", 100.5, env="staging"),
            opened("i", "inc-1", 101, deployment="s1"),
        ],
        300,
        {"api": {"change_failure_ratio": 0.0, "unlinked_incidents": 0}},
    ),
    Case(
        "two incidents on one deployment count it once",
        [
            dep("a", "d1", 100),
            dep("b", "d2", 90),
            opened("i", "inc-1", 101),
            opened("j", "inc-2", 102, deployment="d1"),
        ],
        300,
        {"api": {"change_failure_ratio": 0.5}},
    ),
    Case(
        "incident without service or known deployment: attributed to no service",
        [dep("a", "d1", 100), opened("i", "inc-1", 101, service=None)],
        300,
        {"api": {"change_failure_ratio": 0.0, "unlinked_incidents": 0}},
        services=["api"],
    ),
    Case(
        "rework: deployments made while an incident of the service is open, (opened, resolved]",
        [
            dep("a", "d1", 100),  # the cause, at the opening instant: not rework
            opened("i", "inc-1", 100),
            dep("b", "d2", 101),  # during the incident: rework
            dep("c", "d3", 102, env="staging"),  # not a counted deployment
            resolved("j", "inc-1", 103),
            dep("d", "d4", 103),  # the fix, at the resolution instant: rework
            dep("e", "d5", 104),  # after: planned
            dep("f", "w1", 101, service="web"),  # another service's incident: planned
        ],
        300,
        {
            "api": {"deployment_rework_ratio": 0.5, "deployment_frequency_per_day": 0.4},
            "web": {"deployment_rework_ratio": 0.0},
        },
    ),
    Case(
        "rework: an unresolved incident is open until now; overlapping incidents count once",
        [
            opened("i", "inc-1", 110),
            opened("j", "inc-2", 112),
            resolved("k", "inc-2", 113),
            dep("a", "d1", 111),
            dep("b", "d2", 112.5),  # inside both: counted once
            dep("c", "d3", 250),
            dep("d", "d4", 109),
            resolved("l", "inc-3", 150),  # never seen opened: no open window
            dep("e", "d5", 149),  # inc-1 still open
        ],
        300,
        # d1, d2, d3, d5 during inc-1 (opened 110, never resolved); d4 before it
        {"api": {"deployment_rework_ratio": pytest.approx(4 / 5)}},
    ),
    Case(
        "rework: a reopened incident is open from its first opening to its final resolution",
        [
            opened("i", "inc-1", 100),
            resolved("j", "inc-1", 101),
            opened("k", "inc-1", 104),
            resolved("l", "inc-1", 106),
            dep("a", "d1", 102),
            dep("b", "d2", 107),
        ],
        300,
        {"api": {"deployment_rework_ratio": 0.5}},
    ),
    Case(
        "rework: an incident attributed through its named deployment; none without deployments",
        [
            dep("a", "d1", 100, service="web"),
            opened("i", "inc-1", 101, service=None, deployment="d1"),
            dep("b", "d2", 102, service="web"),
            opened("j", "inc-2", 101, service="db"),
        ],
        300,
        {
            "web": {"deployment_rework_ratio": 0.5, "change_failure_ratio": 0.5},
            "db": {"deployment_rework_ratio": None},
        },
    ),
    Case(
        "time to restore: incidents resolved in window",
        [
            opened("a", "inc-1", 100),
            resolved("b", "inc-1", 102),  # 2 h
            opened("c", "inc-2", 50),
            resolved("d", "inc-2", 110, service=None),  # 60 h, opened before the window
            opened("e", "inc-3", 40),
            resolved("f", "inc-3", 59),  # resolved before the window
            opened("g", "inc-4", 200),  # never resolved
            resolved("h", "inc-5", 210),  # never seen opened
            opened("i", "inc-6", 100),
            resolved("j", "inc-6", 101),
            opened("k", "inc-6", 103),  # reopened: not restored
            opened("l", "inc-7", 120),
            resolved("m", "inc-7", 121),
            opened("n", "inc-7", 122),
            resolved("o", "inc-7", 130),  # restored at 130 after 10 h
        ],
        300,
        # [2, 10, 60] h: 0.5 -> 10 h; 0.85 -> 10 + 0.7 * 50 = 45 h; 0.95 -> 10 + 0.9 * 50 = 55 h
        {
            "api": {
                "time_to_restore": {"0.5": 10 * HOUR, "0.85": 45 * HOUR, "0.95": 55 * HOUR},
                # inc-1..4, 6, 7 open in window... only those linked to no deployment and
                # referenced in window: opened 100, 200, 100, 120 and resolved-only 210.
                "unlinked_incidents": 5,
                "change_failure_ratio": None,
                "deployment_frequency_per_day": 0.0,
            }
        },
    ),
    Case(
        "frequency 0 for services seen only in other environments or in incidents",
        [
            dep("a", "d1", 100, service="web", env="staging"),
            opened("b", "inc-1", 100, service="db"),
            dep("c", "d2", 100, service="batch", status="failure"),
            dep("d", "d3", 100, service="old", env="production"),
        ],
        1000,  # "old" deployed long before the window
        {
            "web": {"deployment_frequency_per_day": 0.0, "change_failure_ratio": None},
            "db": {"deployment_frequency_per_day": 0.0, "unlinked_incidents": 0},
            "batch": {"deployment_frequency_per_day": 0.0},
            "old": {"deployment_frequency_per_day": 0.0, "change_failure_ratio": None},
        },
        services=["batch", "db", "old", "web"],
    ),
    Case(
        "empty sets: no quantiles, no ratio",
        [dep("a", "d1", 100, env="staging")],
        300,
        {
            "api": {
                "lead_time_for_changes": {},
                "time_to_restore": {},
                "change_failure_ratio": None,
                "unlinked_incidents": 0,
                "deployments_without_change_times": 0,
            }
        },
    ),
    Case(
        "window edges: now - window excluded, now included, after now excluded",
        [
            dep("a", "d1", 60, changes=(("c1", 0),)),
            dep("b", "d2", 300, changes=(("c2", 299),)),
            dep("c", "d3", 300.001, changes=(("c3", 299),)),
            opened("d", "inc-1", 0),
            resolved("e", "inc-1", 60),
            opened("f", "inc-2", 200),
            resolved("g", "inc-2", 300),
        ],
        300,
        {
            "api": {
                "deployment_frequency_per_day": 0.1,
                "lead_time_for_changes": same(HOUR),
                "time_to_restore": same(100 * HOUR),
                "change_failure_ratio": 0.0,
            }
        },
    ),
    Case(
        "the same event delivered twice counts once",
        [
            dep("a", "d1", 100),
            dep("a", "d1", 100),
            opened("i", "inc", 101),
            opened("i", "inc", 101),
        ],
        300,
        {"api": {"deployment_frequency_per_day": 0.1, "change_failure_ratio": 1.0}},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rules(case: Case) -> None:
    state = DoraState.from_events(case.config, case.events)
    result = {m.service: m for m in state.metrics(now(case.now_hours))}
    if case.services is not None:
        assert sorted(result) == case.services
    for service, fields in case.expected.items():
        assert service in result, sorted(result)
        for name, value in fields.items():
            got = getattr(result[service], name)
            if isinstance(value, dict):
                assert got == pytest.approx(value, rel=1e-12), name
            else:
                assert got == value, name


def test_no_events_no_services() -> None:
    assert DoraState.from_events(CONFIG, []).metrics(now(0)) == []


def test_dora_key_is_one_entity_of_a_service() -> None:
    assert dora_key(dep("a", "d", 0, service="api")) == "api|d"
    assert dora_key(opened("b", "i", 0, service=None)) == "|i"
    assert state_key(dep("a", "d", 0, service="api")) == "d|api|d"


def test_processor_apply_and_forget_use_the_dora_key_whatever_its_layout() -> None:
    """New per-entity keys and an older layout's per-service key (a table written before the
    split) are one set of events: an event under both counts once, forgetting a key drops only
    what no other key holds."""
    events = [dep("a", "d1", 100), dep("b", "d2", 110), opened("i", "inc", 111, deployment="d1")]
    config = FlowConfig(streams=(STREAM,), dora=CONFIG)
    batch = Processor.from_events(config, events).snapshot(now(300)).services
    live = Processor(config)
    live.apply("d|api", Timeline.from_events(events[:2]))  # the older layout
    for event in events:
        live.apply(state_key(event), Timeline.from_events([event]))
    assert live.snapshot(now(300)).services == batch
    assert batch[0].change_failure_ratio == 0.5
    live.forget("d|api")
    assert live.snapshot(now(300)).services == batch
    live.forget(state_key(events[0]))
    # d1 gone: "inc" names a deployment never seen, so it links by time, to d2 (one hour before)
    assert live.snapshot(now(300)).services[0].change_failure_ratio == 1.0
    live.forget(state_key(events[1]))
    assert live.snapshot(now(300)).services[0].deployment_frequency_per_day == 0


def test_apply_replaces_and_removes_a_key() -> None:
    state = DoraState(CONFIG)
    state.apply("api", [dep("a", "d1", 100), dep("b", "d2", 110)])
    state.apply("", [opened("i", "inc", 111, service=None, deployment="d1")])
    assert state.metrics(now(300))[0].change_failure_ratio == 0.5
    # d1 gone: the incident names an unknown deployment and no service, so no service owns it
    state.apply("api", [dep("b", "d2", 110)])
    [api] = state.metrics(now(300))
    assert (api.deployment_frequency_per_day, api.change_failure_ratio) == (0.1, 0.0)
    assert api.unlinked_incidents == 0
    state.apply("api", [dep("b", "d2", 110), opened("j", "inc-2", 112)])  # window-linked to d2
    assert state.metrics(now(300))[0].change_failure_ratio == 1.0
    state.apply("", [])
    state.apply("api", [dep("b", "d2", 110)])
    assert state.metrics(now(300))[0].change_failure_ratio == 0.0
    state.apply("api", [])
    assert state.metrics(now(300)) == []


def test_incident_service_follows_its_named_deployment_across_keys() -> None:
    state = DoraState(CONFIG)
    incident = [
        opened("i", "inc", 100, service=None, deployment="d1"),
        resolved("j", "inc", 103, service=None),
    ]
    state.apply("", incident)
    assert state.metrics(now(300)) == []  # no service known yet
    state.apply("web", [dep("a", "d1", 99, service="web")])
    [web] = state.metrics(now(300))
    assert web == ServiceMetrics(
        service="web",
        deployment_frequency_per_day=0.1,
        change_failure_ratio=1.0,
        time_to_restore=same(3 * HOUR),
        deployments_without_change_times=1,
        deployment_rework_ratio=0.0,
    )


def test_non_dora_events_are_ignored() -> None:
    item = FlowEvent(id="x", type="created", item="github:acme/api#1", at=at(0), service="api")
    assert DoraState.from_events(CONFIG, [item]).metrics(now(0)) == []


def test_zero_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        DoraState(DoraConfig(window="0s"))


def test_an_earlier_event_naming_another_deployment_moves_the_link() -> None:
    state = DoraState(CONFIG)
    web, api = [dep("w", "w1", 100, service="web")], [dep("a", "a1", 100)]
    first = opened("i", "inc", 101, service="ops", deployment="w1")
    state.apply("web", web)
    state.apply("api", api)
    state.apply("ops", [first])
    assert [m.change_failure_ratio for m in state.metrics(now(300))] == [0.0, None, 1.0]
    # an update dated earlier names a1: the incident now names a1, and w1 is no longer failed
    earlier = resolved("j", "inc", 100.5, service="ops", deployment="a1")
    state.apply("ops", [first, earlier])
    assert [m.change_failure_ratio for m in state.metrics(now(300))] == [1.0, None, 0.0]
