"""DORA engine: commit times from `commit` events, pull-request merges, config-driven deployments
(CI workflows, environment tiers), each rule of docs/dora.md by a hand-computed case."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from flowgauge.engine.dora import DoraState
from flowgauge.engine.snapshot import ServiceMetrics
from flowgauge.keys import dora_key
from flowgauge.model import Change, DoraConfig, FlowEvent, to_micros

BASE = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = 3600.0
CONFIG = DoraConfig(
    production=("production", "prod-eu"),
    window="10d",
    deploy_workflows=("Deploy", ".github/workflows/release.yml"),
)
NOW = 300.0  # hours: the window is (60 h, 300 h]


def at(hours: float) -> datetime:
    return BASE + timedelta(hours=hours)


def changes(*pairs: tuple[str, float | None]) -> tuple[Change, ...]:
    return tuple(Change(id=c, committed_at=None if h is None else at(h)) for c, h in pairs)


def dep(
    eid: str,
    item: str,
    hours: float,
    *pairs: tuple[str, float | None],
    env: str | None = "production",
    status: Literal["success", "failure"] = "success",
    labels: tuple[str, ...] | None = None,
    kind: str | None = None,
    service: str = "api",
) -> FlowEvent:
    return FlowEvent(
        id=eid,
        type="deployment",
        item=item,
        at=at(hours),
        service=service,
        environment=env,
        status=status,
        labels=labels,
        kind=kind,
        changes=changes(*pairs),
    )


def commit(
    eid: str,
    hours: float,
    *pairs: tuple[str, float | None],
    kind: str = "push",
    service: str = "api",
) -> FlowEvent:
    head = pairs[-1][0]
    return FlowEvent(
        id=eid,
        type="commit",
        item=f"github:{service}/commits/{head}",
        at=at(hours),
        service=service,
        kind=kind,
        changes=changes(*pairs),
    )


def run(
    eid: str, hours: float, sha: str, name: str = "Deploy", path: str = ".github/workflows/d.yml"
) -> FlowEvent:
    """A GitHub workflow run as the source emits it: no environment, tagged name and path."""
    return dep(
        eid,
        f"github:api/actions/runs/{eid}",
        hours,
        (sha, None),
        env=None,
        kind="workflow_run",
        labels=(f"workflow:{name}", f"workflow:{path}"),
    )


def metrics(
    events: list[FlowEvent], config: DoraConfig = CONFIG, now: float = NOW
) -> dict[str, ServiceMetrics]:
    state = DoraState.from_events(config, events)
    return {m.service: m for m in state.metrics(to_micros(at(now)))}


def lead(m: ServiceMetrics) -> dict[str, float]:
    return dict(m.lead_time_for_changes)


def same(seconds: float) -> dict[str, float]:
    return {"0.5": seconds, "0.85": seconds, "0.95": seconds}


# --- commit times from pushes ---------------------------------------------------------------------


def test_a_deployment_carrying_only_a_sha_gets_its_commit_time_from_the_push() -> None:
    events = [commit("p", 91, ("c1", 90)), dep("d", "d1", 100, ("c1", None))]
    (api,) = metrics(events).values()
    assert lead(api) == same(10 * HOUR)
    assert api.deployments_without_change_times == 0


def test_commit_then_deployment_and_the_reverse_give_the_same_lead_time() -> None:
    push, deployment = commit("p", 91, ("c1", 90)), dep("d", "d1", 100, ("c1", None))
    expected = metrics([push, deployment])
    assert metrics([deployment, push]) == expected
    # live: each arrives under its key (its entity), in either order
    for order in (push, deployment), (deployment, push):
        state = DoraState(CONFIG)
        for event in order:
            state.apply(dora_key(event), [event])
        assert {m.service: m for m in state.metrics(to_micros(at(NOW)))} == expected


def test_the_earliest_commit_time_of_any_commit_or_deployment_event_wins() -> None:
    events = [
        commit("p1", 95, ("c1", 94)),
        commit("p2", 99, ("c1", 92)),  # the same commit pushed to another branch, earlier time
        dep("s", "s1", 97, ("c1", 93), env="staging"),
        dep("d", "d1", 100, ("c1", None)),
    ]
    (api,) = metrics(events).values()
    assert lead(api) == same(8 * HOUR)


def test_a_commit_event_alone_makes_no_service_appear() -> None:
    assert metrics([commit("p", 91, ("c1", 90))]) == {}
    assert metrics([commit("p", 91, ("c1", 90)), dep("d", "d1", 100, service="web")]).keys() == {
        "web"
    }


def test_commit_times_belong_to_their_service() -> None:
    events = [commit("p", 91, ("c1", 90), service="web"), dep("d", "d1", 100, ("c1", None))]
    (api,) = metrics(events).values()
    assert lead(api) == {}
    assert api.deployments_without_change_times == 1


def test_deploying_a_pushs_head_deploys_every_commit_of_that_push() -> None:
    # one push of three commits; the deployment names its head only
    events = [commit("p", 91, ("a", 80), ("b", 85), ("c", 90)), dep("d", "d1", 100, ("c", None))]
    (api,) = metrics(events).values()
    assert lead(api) == {"0.5": 15 * HOUR, "0.85": 18.5 * HOUR, "0.95": 19.5 * HOUR}


def test_a_commit_of_the_push_deployed_earlier_keeps_its_first_deployment() -> None:
    events = [
        commit("p", 91, ("a", 80), ("b", 90)),
        dep("d0", "d0", 95, ("a", None)),  # a alone went out first
        dep("d1", "d1", 100, ("b", None)),
    ]
    (api,) = metrics(events).values()
    assert lead(api) == {"0.5": 12.5 * HOUR, "0.85": 14.25 * HOUR, "0.95": 14.75 * HOUR}


def test_the_same_push_delivered_twice_or_under_two_ids_counts_once() -> None:
    push = commit("p", 91, ("c1", 90))
    again = push.model_copy(update={"id": "p-redelivered"})
    events = [push, push, again, dep("d", "d1", 100, ("c1", None))]
    (api,) = metrics(events).values()
    assert lead(api) == same(10 * HOUR)


def test_removing_the_push_removes_the_lead_time() -> None:
    push, deployment = commit("p", 91, ("c1", 90)), dep("d", "d1", 100, ("c1", None))
    state = DoraState(CONFIG)
    state.apply("api", [push, deployment])
    state.apply("api", [deployment])
    (api,) = state.metrics(to_micros(at(NOW)))
    assert lead(api) == {}
    assert api.deployments_without_change_times == 1


# --- merged pull requests (squash) ---------------------------------------------------------------


def merged(eid: str, hours: float, head: str, merge: str) -> FlowEvent:
    """A merged pull request as the GitHub source emits it: head, then merge commit, no times."""
    return commit(eid, hours, (head, None), (merge, None), kind="pull_request")


def test_a_squash_commit_takes_the_first_commit_time_of_the_pushes_of_its_head() -> None:
    events = [
        commit("branch", 80, ("f1", 70), ("f2", 75)),  # the PR's branch, pushed once
        merged("pr", 95, "f2", "s"),
        commit("main", 95, ("s", 95)),  # the squash commit pushed to main
        dep("d", "d1", 100, ("s", None)),
    ]
    (api,) = metrics(events).values()
    assert lead(api) == same(30 * HOUR)  # from f1's 70 h, the PR's first commit


def test_a_squash_commit_without_known_pushes_keeps_its_own_time() -> None:
    events = [
        merged("pr", 95, "f2", "s"),
        commit("main", 95, ("s", 95)),
        dep("d", "d1", 100, ("s", None)),
    ]
    (api,) = metrics(events).values()
    assert lead(api) == same(5 * HOUR)


def test_a_squash_commit_with_no_time_at_all_has_no_lead_time() -> None:
    (api,) = metrics([merged("pr", 95, "f2", "s"), dep("d", "d1", 100, ("s", None))]).values()
    assert lead(api) == {}  # no time is invented
    assert api.deployments_without_change_times == 1


def test_only_the_pushes_whose_head_is_the_pull_requests_head_are_joined() -> None:
    # documented limit: a branch pushed twice; only the last push (head f3) is known to be the PR's
    events = [
        commit("push-1", 72, ("f1", 70)),
        commit("push-2", 82, ("f2", 80), ("f3", 81)),
        merged("pr", 95, "f3", "s"),
        dep("d", "d1", 100, ("s", None)),
    ]
    (api,) = metrics(events).values()
    assert lead(api) == same(20 * HOUR)


def test_the_merge_rule_and_deployment_order_do_not_matter() -> None:
    events = [
        commit("branch", 80, ("f1", 70), ("f2", 75)),
        merged("pr", 95, "f2", "s"),
        commit("main", 95, ("s", 95)),
        dep("d", "d1", 100, ("s", None)),
        dep("d2", "d2", 120, ("t", 110)),
    ]
    expected = metrics(events)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        state = DoraState(CONFIG)
        for size in range(1, len(shuffled) + 1):  # one arrival at a time, whole-key values
            state.apply("api", shuffled[:size])
        assert {m.service: m for m in state.metrics(to_micros(at(NOW)))} == expected


# --- deployments decided by the config ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "counts"),
    [
        ("Deploy", ".github/workflows/d.yml", True),  # by name
        ("Release", ".github/workflows/release.yml", True),  # by path
        ("CI", ".github/workflows/ci.yml", False),
        ("deploy", ".github/workflows/d.yml", False),  # exact, case included
    ],
)
def test_a_workflow_run_counts_when_the_config_names_its_workflow(
    name: str, path: str, counts: bool
) -> None:
    (api,) = metrics([run("r", 100, "c1", name, path)]).values()
    assert api.deployment_frequency_per_day == (0.1 if counts else 0.0)


def test_no_deploy_workflows_configured_no_workflow_run_counts() -> None:
    config = DoraConfig(window="10d")
    (api,) = metrics([run("r", 100, "c1")], config).values()
    assert api.deployment_frequency_per_day == 0.0


def test_a_failed_run_of_a_deploy_workflow_does_not_count() -> None:
    failed = run("r", 100, "c1").model_copy(update={"status": "failure"})
    (api,) = metrics([failed]).values()
    assert api.deployment_frequency_per_day == 0.0


def test_a_deployment_status_and_the_workflow_run_that_made_it_count_once() -> None:
    """The status of a deployment a run created carries the run's id (sources/github.py)."""
    events = [
        dep("status", "github:api/actions/runs/r", 101, ("c1", None)),
        run("r", 100, "c1"),
        commit("p", 90, ("c1", 90)),
    ]
    (api,) = metrics(events).values()
    assert api.deployment_frequency_per_day == 0.1
    assert lead(api) == same(10 * HOUR)  # at the earliest report: the run, 100 h
    # a deployment of the same sha under its own id (no run made it) is another deployment
    events[0] = dep("status", "github:api/deployments/9", 101, ("c1", None))
    (api,) = metrics(events).values()
    assert api.deployment_frequency_per_day == 0.2
    assert lead(api) == same(10 * HOUR)  # c1 still counts once, at its first deployment


def test_a_workflow_run_deploys_to_the_first_production_environment() -> None:
    events = [dep("eu", "eu-1", 101, ("c1", None), env="prod-eu"), run("r", 100, "c1")]
    (api,) = metrics(events).values()
    assert api.deployment_frequency_per_day == 0.2  # production and prod-eu: two


def test_an_environment_of_a_production_tier_counts_under_its_own_name() -> None:
    tiered = dep("t", "t1", 100, ("c1", None), env="prod-us", labels=("tier:production",))
    also = dep("t2", "t2", 101, ("c1", None), env="prod-us", labels=("tier:production",))
    staging = dep("s", "s1", 100, ("c2", None), env="stage-1", labels=("tier:staging",))
    (api,) = metrics([tiered, also, staging]).values()
    assert api.deployment_frequency_per_day == 0.2  # two ids, the same commit: two deployments
    (api,) = metrics([tiered], DoraConfig(window="10d", production_tiers=())).values()
    assert api.deployment_frequency_per_day == 0.0
