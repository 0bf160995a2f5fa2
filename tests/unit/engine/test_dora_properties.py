"""DORA engine properties: order, duplication and how events are split over keys never change the
metrics, and the engine equals a brute-force oracle written from METRICS.md and docs/dora.md."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgauge.engine.dora import DoraState
from flowgauge.engine.snapshot import QUANTILES, ServiceMetrics, quantile_label
from flowgauge.keys import dora_key
from flowgauge.model import Change, DoraConfig, FlowEvent, to_micros

BASE = datetime(2026, 3, 1, tzinfo=UTC)
CONFIG = DoraConfig(production=("production", "prod-eu"), window="10h", incident_link_window="3h")
NOWS = (0, 5, 10, 12, 15, 20, 24, 30, 40)  # hours; events fall on hours 0..30


def at(hours: int) -> datetime:
    return BASE + timedelta(hours=hours)


def hours_to_micros(hours: int) -> int:
    return to_micros(at(hours))


hours = st.integers(0, 30)
services = st.sampled_from(["api", "web", None])
#: Change ids shared by deployments, pushes and merged pull requests (m*: merge commits, mostly).
change_ids = st.sampled_from(["c0", "c1", "c2", "c3", "m0", "m1"])
change = st.builds(
    lambda cid, h: Change(id=cid, committed_at=None if h is None else at(h)),
    change_ids,
    st.none() | st.integers(0, 30),
)
changes = st.lists(change, max_size=3).map(tuple)


@st.composite
def deployment(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "type": "deployment",
        "item": draw(st.sampled_from(["d0", "d1", "d2", "d3"])),
        "at": at(draw(hours)),
        "service": draw(services),
        "environment": draw(
            st.sampled_from(["production", "production", "prod-eu", "staging", None])
        ),
        "status": draw(st.sampled_from(["success", "success", "failure", None])),
        "changes": draw(changes),
    }


@st.composite
def incident(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "type": draw(st.sampled_from(["incident_opened", "incident_resolved"])),
        "item": draw(st.sampled_from(["i0", "i1", "i2"])),
        "at": at(draw(hours)),
        "service": draw(services),
        "deployment": draw(st.sampled_from([None, "d0", "d1", "d2", "d9"])),
    }


def commit_spec(
    kind: str, item: str, hour: int, service: str | None, listed: Any
) -> dict[str, Any]:
    return {
        "type": "commit",
        "kind": kind,
        "item": item,
        "at": at(hour),
        "service": service,
        "changes": tuple(listed),
    }


@st.composite
def commit(draw: st.DrawFn) -> dict[str, Any]:
    """A push (its commits, the head last, with or without times) or a merged pull request
    (its head then its merge commit; GitHub gives no times, GitLab the head's)."""
    kind = draw(st.sampled_from(["push", "push", "pull_request"]))
    if kind == "push":
        listed = draw(st.lists(change, max_size=4))
    else:
        head, merge = draw(change), Change(id=draw(st.sampled_from(["m0", "m1", "c3"])))
        listed = [head, merge] if head.id != merge.id else [merge]
    item = draw(st.sampled_from(["p0", "p1", "p2"]))
    return commit_spec(kind, item, draw(hours), draw(services), listed)


@st.composite
def squash_merge(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The squash rule's whole story, which random events rarely tell: the branch's push (its
    head last), the merged pull request (head, merge commit) and a deployment of the merge
    commit alone, all of one service; random events around it may add or contradict times."""
    service = draw(st.sampled_from(["api", "web"]))
    head = draw(st.sampled_from(["c0", "c1", "c2"]))
    merge = draw(st.sampled_from(["m0", "m1"]))
    branch = [*draw(st.lists(change, max_size=2)), Change(id=head, committed_at=at(draw(hours)))]
    deployed = {"changes": (Change(id=merge),), "status": "success", "environment": "production"}
    return [
        commit_spec("push", "p0", draw(hours), service, branch),
        commit_spec(
            "pull_request", "p1", draw(hours), service, [Change(id=head), Change(id=merge)]
        ),
        {**draw(deployment()), "service": service, **deployed},
    ]


@st.composite
def histories(draw: st.DrawFn) -> list[FlowEvent]:
    single = (deployment() | incident() | commit()).map(lambda spec: [spec])
    groups = draw(st.lists(single | squash_merge(), max_size=20))
    specs = [spec for group in groups for spec in group]
    return [FlowEvent(id=f"e{n}", **spec) for n, spec in enumerate(specs)]


def metrics_at(state: DoraState) -> list[list[ServiceMetrics]]:
    return [state.metrics(hours_to_micros(h)) for h in NOWS]


@settings(deadline=None)
@given(histories(), st.data())
def test_any_order_and_duplication_give_the_same_metrics(
    events: list[FlowEvent], data: st.DataObject
) -> None:
    expected = metrics_at(DoraState.from_events(CONFIG, events))
    extra = data.draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    arrival = data.draw(st.permutations(events + extra))
    assert metrics_at(DoraState.from_events(CONFIG, arrival)) == expected
    # The worker: after each arrival, the arriving event's key is re-applied with its whole set.
    live = DoraState(CONFIG)
    sets: dict[str, list[FlowEvent]] = {}
    for event in arrival:
        key = dora_key(event)
        sets.setdefault(key, []).append(event)
        live.apply(key, sets[key])
        live.metrics(hours_to_micros(20))  # scrapes in between must not disturb anything
    assert metrics_at(live) == expected


#: Ways to split events over keys: the worker's (one entity of a service), the layout before the
#: per-entity split (one service), one key for all, one key per event. The metrics may not depend
#: on which, nor on an event being held under two keys (a table written under two layouts).
LAYOUTS: tuple[Callable[[FlowEvent], str], ...] = (
    dora_key,
    lambda event: event.service or "",
    lambda event: "all",
    lambda event: f"event:{event.id}",
)


@settings(deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_keys_applied_in_any_order_with_intermediate_sets_equal_the_batch(
    events: list[FlowEvent], rnd: random.Random
) -> None:
    by_key: dict[str, list[FlowEvent]] = {}
    for event in events:  # each event under one or two keys of random layouts
        for layout in rnd.sample(LAYOUTS, rnd.randint(1, 2)):
            by_key.setdefault(layout(event), []).append(event)
    keys = list(by_key)
    state = DoraState(CONFIG)
    current: dict[str, list[FlowEvent]] = {}
    steps = [(rnd.choice(keys), 0.5) for _ in range(rnd.randint(0, 8))] if keys else []
    steps += [(key, 1.0) for key in rnd.sample(keys, len(keys))]
    for key, share in steps:  # any subsets first (some empty: a removed key), then every full set
        current[key] = [e for e in by_key[key] if rnd.random() < share]
        state.apply(key, current[key])
        union = [e for chosen in current.values() for e in chosen]
        assert metrics_at(state) == metrics_at(DoraState.from_events(CONFIG, union))
    assert metrics_at(state) == metrics_at(DoraState.from_events(CONFIG, events))


# -- the oracle: METRICS.md "DORA metrics" and the readings of docs/dora.md, done naively -------


def oracle(config: DoraConfig, events: Iterable[FlowEvent], now: int) -> list[ServiceMetrics]:
    window = config.window // timedelta(microseconds=1)
    link = config.incident_link_window // timedelta(microseconds=1)
    events = list({e.id: e for e in events}.values())

    def t(e: FlowEvent) -> int:
        return to_micros(e.at)

    def in_window(x: int) -> bool:
        return now - window < x <= now

    deploys = [e for e in events if e.type == "deployment"]
    incident_events = [e for e in events if e.type in ("incident_opened", "incident_resolved")]
    times = {
        service: oracle_commit_times(service, events)
        for service in {e.service for e in events if e.service}
    }

    # counted deployments: a deployment is its id; its successful production reports count
    grouped: dict[tuple[str, str], list[FlowEvent]] = {}
    for e in deploys:
        if e.service and e.status == "success" and e.environment in config.production:
            grouped.setdefault((e.service, e.item), []).append(e)
    counted: list[dict[str, Any]] = []
    for (owner, item), es in grouped.items():
        first = min(es, key=lambda e: (t(e), e.id))
        counted.append(
            {
                "service": owner,
                "time": t(first),
                "tie": first.id,
                "changes": {
                    x for e in es for c in e.changes for x in {c.id, *times[owner][1][c.id]}
                },
                "id": item,
                "linked": False,
            }
        )

    def commit_time(service: str, change: str) -> int | None:
        return times[service][0].get(change)

    incidents: list[dict[str, Any]] = []
    for iid in {e.item for e in incident_events}:
        timeline = sorted((e for e in incident_events if e.item == iid), key=lambda e: (t(e), e.id))
        named: str | None = next((e.deployment for e in timeline if e.deployment), None)
        service: str | None = next((e.service for e in timeline if e.service), None)
        if service is None and named is not None:
            named_events = sorted(
                (e for e in deploys if e.item == named), key=lambda e: (t(e), e.id)
            )
            service = next((e.service for e in named_events if e.service), None)
        opened = next((t(e) for e in timeline if e.type == "incident_opened"), None)
        resolved = t(timeline[-1]) if timeline[-1].type == "incident_resolved" else None
        linked = False
        if named is not None and any(e.item == named for e in deploys):
            linked = True
            for d in counted:
                if named == d["id"]:
                    d["linked"] = True
        elif service is not None and opened is not None:
            near = [
                d
                for d in counted
                if d["service"] == service and opened - link < d["time"] <= opened
            ]
            if near:
                linked = True
                max(near, key=lambda d: (d["time"], d["tie"]))["linked"] = True
        incidents.append(
            {
                "service": service,
                "opened": opened,
                "resolved": resolved,
                "linked": linked,
                "reference": opened if opened is not None else t(timeline[0]),
            }
        )

    def quantiles(samples: Sequence[int]) -> dict[str, float]:
        if not samples:
            return {}
        values = np.quantile(np.array(samples, dtype=np.int64), QUANTILES)
        return {quantile_label(q): float(v) / 1e6 for q, v in zip(QUANTILES, values, strict=True)}

    names = {e.service for e in events if e.service and e.type != "commit"} | {
        i["service"] for i in incidents if i["service"]
    }

    def rework_during(incident: dict[str, Any], time: int) -> bool:
        """docs/dora.md, "Deployment rework rate": made while the incident was open."""
        resolved = incident["resolved"]
        return bool(incident["opened"] < time and (resolved is None or time <= resolved))

    out = []
    for service in sorted(names):
        mine = [d for d in counted if d["service"] == service and in_window(d["time"])]
        mine_incidents = [
            i for i in incidents if i["service"] == service and i["opened"] is not None
        ]
        leads = []
        for change in {c for d in counted if d["service"] == service for c in d["changes"]}:
            first = min(
                d["time"] for d in counted if d["service"] == service and change in d["changes"]
            )
            committed = commit_time(service, change)
            if in_window(first) and committed is not None and committed <= first:
                leads.append(first - committed)
        restores = [
            i["resolved"] - i["opened"]
            for i in incidents
            if i["service"] == service
            and i["opened"] is not None
            and i["resolved"] is not None
            and in_window(i["resolved"])
        ]
        out.append(
            ServiceMetrics(
                service=service,
                deployment_frequency_per_day=len(mine) / (window / 86_400e6),
                lead_time_for_changes=quantiles(sorted(leads)),
                change_failure_ratio=(sum(d["linked"] for d in mine) / len(mine) if mine else None),
                time_to_restore=quantiles(sorted(restores)),
                unlinked_incidents=sum(
                    1
                    for i in incidents
                    if i["service"] == service and not i["linked"] and in_window(i["reference"])
                ),
                deployments_without_change_times=sum(
                    1
                    for d in mine
                    if not any(commit_time(service, c) is not None for c in d["changes"])
                ),
                deployment_rework_ratio=(
                    sum(any(rework_during(i, d["time"]) for i in mine_incidents) for d in mine)
                    / len(mine)
                    if mine
                    else None
                ),
            )
        )
    return out


def oracle_commit_times(
    service: str, events: list[FlowEvent]
) -> tuple[dict[str, int], defaultdict[str, set[str]]]:
    """docs/dora.md, "Lead time for changes", naively: each change's earliest reported commit
    time (deployments and commit events of the service), what a push's head brings (all that
    push's commits), and a merged pull request's merge commit at the earliest time of its head,
    itself, and what its head's pushes brought."""
    mine = [e for e in events if e.service == service and e.type in ("deployment", "commit")]
    reported: dict[str, int] = {}
    for e in mine:
        for c in e.changes:
            if c.committed_at is not None:
                reported[c.id] = min(reported.get(c.id, 2**62), to_micros(c.committed_at))
    commits = [e for e in mine if e.type == "commit" and e.changes]
    pushed: defaultdict[str, set[str]] = defaultdict(set)
    for e in commits:
        if e.kind != "pull_request":
            pushed[e.changes[-1].id].update(c.id for c in e.changes)
    committed = dict(reported)
    for e in commits:
        if e.kind == "pull_request":
            merge = e.changes[-1].id
            members = {merge}.union(*({c.id, *pushed[c.id]} for c in e.changes))
            found = [reported[m] for m in members if m in reported]
            if found:
                committed[merge] = min(committed.get(merge, 2**62), *found)
    return committed, pushed


def approx(metrics: list[ServiceMetrics]) -> list[dict[str, Any]]:
    return [
        {
            name: pytest.approx(value, rel=1e-9, abs=1e-9)
            if isinstance(value, dict | float)
            else value
            for name, value in vars(m).items()
        }
        for m in metrics
    ]


def live(events: Sequence[FlowEvent], rnd: random.Random) -> DoraState:
    """The worker's way: events arrive one by one, each re-applying its key's whole set."""
    state = DoraState(CONFIG)
    sets: dict[str, list[FlowEvent]] = {}
    for event in rnd.sample(list(events), len(events)):
        key = dora_key(event)
        sets.setdefault(key, []).append(event)
        state.apply(key, sets[key])
        if rnd.random() < 0.3:
            state.metrics(hours_to_micros(rnd.randint(0, 40)))
    return state


@settings(deadline=None, max_examples=300)
@given(histories(), st.randoms(use_true_random=False))
def test_engine_equals_the_oracle(events: list[FlowEvent], rnd: random.Random) -> None:
    batch = DoraState.from_events(CONFIG, events)
    streamed = live(events, rnd)
    for h in NOWS:
        now = hours_to_micros(h)
        expected = approx(oracle(CONFIG, events, now))
        assert [vars(m) for m in batch.metrics(now)] == expected
        assert [vars(m) for m in streamed.metrics(now)] == expected
