"""DORA sources from the project's golden payloads (tests/fixtures/webhooks, edited in memory):
GitHub push / workflow_run / merged pull requests, GitLab Push and Pipeline hooks, and the whole
path from payloads to DORA's keys (incidents: test_sources_incidents.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sources_helpers import payload

from flowgauge.engine.dora import DoraState
from flowgauge.model import Change, DoraConfig, FlowEvent, to_micros
from flowgauge.sources import REGISTRY

GH = "acme-shop/storefront"
GL = "acme-shop/warehouse"
RUN_SHA = "5d4a6f1b3e8b7a9f0ebc4a5f6e7d8c9b0213c456"
PUSH_SHA = "4c3f5e0a2d7a6f8e9dab3f4e5d6c7b8a9102b345"
PR_HEAD = "1f0c2b7e9a4d3c5b6a7980f1e2d3c4b5a6978801"
PR_MERGE = "2a1d3c8f0b5e4d6c7b8a91f2e3d4c5b6a7980912"
PIPELINE_SHA = "a0f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3"


def github(event: str, body: Any, delivery: str = "d-1") -> list[FlowEvent]:
    return REGISTRY["github"].normalize(
        {"x-github-event": event, "x-github-delivery": delivery}, body
    )


def gitlab(body: Any, delivery: str = "g-1") -> list[FlowEvent]:
    return REGISTRY["gitlab"].normalize({"idempotency-key": delivery}, body)


def jira(body: Any) -> list[FlowEvent]:
    return REGISTRY["jira"].normalize({"x-atlassian-webhook-identifier": "j-1"}, body)


def t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def dora(events: list[FlowEvent], config: DoraConfig, now: str) -> dict[str, Any]:
    state = DoraState.from_events(config, events)
    return {m.service: m for m in state.metrics(to_micros(t(now)))}


# --- GitHub push ---------------------------------------------------------------------------------


def test_github_push_gives_the_commit_times_of_its_commits() -> None:
    (event,) = github("push", payload("github", "push.json"))
    assert (event.type, event.item, event.service, event.kind) == (
        "commit",
        f"github:{GH}/commits/{PUSH_SHA}",
        GH,
        "push",
    )
    assert event.at == t("2026-02-03T08:41:30+00:00")  # repository.pushed_at (Unix seconds)
    assert event.changes == (Change(id=PUSH_SHA, committed_at=t("2026-02-03T09:40:00+01:00")),)


def test_github_push_keeps_distinct_commits_and_puts_the_head_last() -> None:
    body = payload("github", "push.json")
    first = body["commits"][0]
    older = {**first, "id": "a" * 40, "timestamp": "2026-02-02T10:00:00Z"}
    merged_in = {**first, "id": "b" * 40, "distinct": False, "timestamp": "2026-01-01T00:00:00Z"}
    body["commits"] = [first, older, merged_in]  # head not last, one commit pushed before
    (event,) = github("push", body)
    assert [c.id for c in event.changes] == ["a" * 40, PUSH_SHA]


def test_github_push_without_commits_or_deleting_a_branch_gives_nothing() -> None:
    assert github("push", payload("github", "push.tag-deleted.json")) == []
    assert github("push", payload("github", "push.json", commits=[])) == []
    assert github("push", payload("github", "push.json", deleted=True)) == []


def test_github_push_is_recognized_without_its_event_header() -> None:
    (event,) = REGISTRY["github"].normalize({}, payload("github", "push.json"))
    assert event.type == "commit"


# --- GitHub workflow_run -------------------------------------------------------------------------


def test_github_completed_workflow_run_is_a_tagged_deployment_of_its_head_sha() -> None:
    (event,) = github("workflow_run", payload("github", "workflow_run.completed.json"))
    assert (event.type, event.item, event.service, event.kind, event.status) == (
        "deployment",
        f"github:{GH}/actions/runs/8123001",
        GH,
        "workflow_run",
        "success",
    )
    assert event.environment is None  # the config decides (dora.deploy_workflows)
    assert event.labels == ("workflow:deploy", "workflow:.github/workflows/deploy.yml")
    assert event.changes == (Change(id=RUN_SHA, committed_at=t("2026-02-05T08:55:00+00:00")),)


def test_github_workflow_run_conclusions() -> None:
    def conclude(conclusion: str) -> list[FlowEvent]:
        body = payload("github", "workflow_run.completed.json")
        body["workflow_run"]["conclusion"] = conclusion
        return github("workflow_run", body)

    (failed,) = conclude("failure")
    assert failed.status == "failure"
    assert conclude("cancelled") == [] and conclude("skipped") == []
    assert github("workflow_run", payload("github", "workflow_run.requested.json")) == []


def test_github_workflow_run_name_wins_over_the_workflows() -> None:
    body = payload("github", "workflow_run.completed.json")
    body["workflow_run"]["name"] = "Release"
    (event,) = github("workflow_run", body)
    assert event.labels == ("workflow:Release", "workflow:.github/workflows/deploy.yml")


# --- GitHub merged pull request ------------------------------------------------------------------


def merged_pull() -> dict[str, Any]:
    body = payload("github", "pull_request.closed.json")
    body["pull_request"].update(merged=True, merged_at="2026-02-03T15:00:00Z")
    return body


def test_github_merged_pull_request_maps_its_merge_commit_to_its_head() -> None:
    state, event = github("pull_request", merged_pull())
    assert state.state == "merged"
    assert (event.type, event.item, event.kind, event.service, event.at) == (
        "commit",
        f"github:{GH}/commits/{PR_MERGE}",
        "pull_request",
        GH,
        t("2026-02-03T15:00:00+00:00"),
    )
    # head then merge commit, no times: the payload carries none (docs/dora.md, "Squash merges")
    assert event.changes == (
        Change(id=PR_HEAD),
        Change(id=PR_MERGE),
    )


def test_github_closed_unmerged_pull_request_gives_no_commit() -> None:
    (event,) = github("pull_request", payload("github", "pull_request.closed.json"))
    assert event.type == "state"


# --- GitLab Push and Pipeline hooks ---------------------------------------------------------------


def test_gitlab_push_gives_the_commit_times_of_the_listed_commits() -> None:
    (event,) = gitlab(payload("gitlab", "push.json"))
    head = "6e5b7a2c4f9c8b0a1fcd5b6a7f8e9d0c1324d567"
    assert (event.type, event.item, event.service) == (
        "commit",
        f"gitlab:{GL}/commits/{head}",
        GL,
    )
    assert [c.id for c in event.changes][-1] == head
    assert event.at == t("2026-02-09T12:45:00+01:00")  # the latest commit time: no push time


def production_job(body: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = next(b for b in body["builds"] if b["name"] == "deploy-production")
    return job


def production_pipeline() -> dict[str, Any]:
    """The payload with its (manual, waiting) production job run successfully."""
    body = payload("gitlab", "pipeline.success.json")
    production_job(body).update(status="success", finished_at="2026-02-11 09:20:00 UTC")
    return body


def in_production(events: list[FlowEvent]) -> list[FlowEvent]:
    return [e for e in events if e.environment == "production"]


def test_gitlab_pipeline_payload_deploys_staging_only_its_production_job_waits() -> None:
    events = gitlab(payload("gitlab", "pipeline.success.json"))
    assert [e.environment for e in events] == ["staging"]


def test_gitlab_pipeline_deploy_job_is_a_deployment_with_its_tier_and_commit_time() -> None:
    (event,) = in_production(gitlab(production_pipeline()))
    assert (event.type, event.item, event.environment, event.status, event.labels) == (
        "deployment",
        f"gitlab:{GL}/jobs/7403",
        "production",
        "success",
        ("tier:production",),
    )
    assert event.at == t("2026-02-11T09:20:00+00:00")
    assert event.changes == (
        Change(
            id=PIPELINE_SHA,
            committed_at=t("2026-02-11T09:58:00+01:00"),
        ),
    )


def test_gitlab_pipeline_failed_deploy_job_and_stop_jobs() -> None:
    body = production_pipeline()
    job = production_job(body)
    job["status"] = "failed"
    (event,) = in_production(gitlab(body))
    assert event.status == "failure"
    job["environment"]["action"] = "stop"
    assert in_production(gitlab(body)) == []


# --- GitLab merged merge request ------------------------------------------------------------------

MR_HEAD = "6e5b7a2c4f9c8b0a1fcd5b6a7f8e9d0c1324d567"  # its last_commit: push.json's head
SQUASH, MERGE = "5" * 40, "6" * 40


def merged_mr(**landed: str | None) -> dict[str, Any]:
    """The merge request, merged (its branch is what push.json pushed)."""
    body = payload("gitlab", "merge_request.open.json")
    body["changes"] = {}  # no label changes: the state and the commits only
    body["object_attributes"].update(
        action="merge", state="merged", updated_at="2026-02-10T10:00:00Z", **landed
    )
    return body


def test_gitlab_merged_merge_request_maps_its_squash_commit_to_its_head_with_its_time() -> None:
    state, event = gitlab(merged_mr(squash_commit_sha=SQUASH, merge_commit_sha=None))
    assert state.state == "merged"
    assert (event.type, event.item, event.kind, event.service, event.at) == (
        "commit",
        f"gitlab:{GL}/commits/{SQUASH}",
        "pull_request",
        GL,
        t("2026-02-10T10:00:00+00:00"),
    )
    # GitLab gives the head's commit time (GitHub does not)
    assert event.changes == (
        Change(id=MR_HEAD, committed_at=t("2026-02-09T12:45:00+01:00")),
        Change(id=SQUASH),
    )


def test_gitlab_squash_and_merge_commit_both_stand_for_the_merge_request() -> None:
    events = gitlab(merged_mr(squash_commit_sha=SQUASH, merge_commit_sha=MERGE))
    assert [(e.type, e.changes[-1].id) for e in events[1:]] == [
        ("commit", SQUASH),
        ("commit", MERGE),
    ]


def test_gitlab_fast_forward_merge_or_an_open_merge_request_maps_nothing() -> None:
    (state,) = gitlab(merged_mr(squash_commit_sha=None, merge_commit_sha=None))
    assert state.state == "merged"
    assert all(e.type != "commit" for e in gitlab(payload("gitlab", "merge_request.open.json")))


def test_gitlab_squash_merge_lead_time_from_the_branch_push() -> None:
    """push.json (first commit 2026-02-09 10:15 +01:00, head = the merge request's last
    commit) -> merge request squashed -> production Deployment Hook of the squash commit."""
    deploy = payload("gitlab", "deployment.success.json", environment="production")
    deploy.update(
        environment_tier="production",
        commit_url=f"http://x/-/commit/{SQUASH}",
        status_changed_at="2026-02-11 12:00:00 UTC",
    )
    events = [
        *gitlab(deploy, "g-deploy"),
        *gitlab(merged_mr(squash_commit_sha=SQUASH, merge_commit_sha=None), "g-mr"),
        *gitlab(payload("gitlab", "push.json"), "g-push"),
    ]
    (m,) = dora(events, DoraConfig(window="30d"), "2026-02-15T00:00:00+00:00").values()
    lead = (t("2026-02-11T12:00:00+00:00") - t("2026-02-09T10:15:00+01:00")).total_seconds()
    assert dict(m.lead_time_for_changes) == {"0.5": lead, "0.85": lead, "0.95": lead}
    assert dora(events[::-1], DoraConfig(window="30d"), "2026-02-15T00:00:00+00:00") == {GL: m}


# --- from payloads to DORA's keys -----------------------------------------------------------------


def test_github_push_deployment_status_and_workflow_run_of_one_run_count_once() -> None:
    """A deployment is its id (METRICS.md): the deployment_status of a deployment a workflow run
    created names that run, so it and the run's own event are one deployment; its lead time
    comes from the push, whatever the order."""
    repo, sha = GH, PUSH_SHA
    run = payload("github", "workflow_run.completed.json")
    run["repository"]["full_name"] = repo
    run["workflow_run"].update(head_sha=sha, updated_at="2026-02-03T09:41:30Z", head_commit=None)
    status = payload("github", "deployment_status.created.json")
    status["deployment"]["sha"] = sha
    status["workflow_run"] = {"id": run["workflow_run"]["id"], "head_sha": sha}
    events = [
        *github("deployment_status", status, "d-status"),
        *github("workflow_run", run, "d-run"),
        *github("push", payload("github", "push.json"), "d-push"),
    ]
    config = DoraConfig(window="30d", deploy_workflows=("deploy",))
    (m,) = dora(events, config, "2026-02-10T00:00:00+00:00").values()
    assert m.deployment_frequency_per_day == 1 / 30
    first = min(e.at for e in events if e.type == "deployment")
    lead = (first - t("2026-02-03T09:40:00+01:00")).total_seconds()
    assert dict(m.lead_time_for_changes) == {"0.5": lead, "0.85": lead, "0.95": lead}
    assert dora(events[::-1], config, "2026-02-10T00:00:00+00:00") == {m.service: m}
    # not named as a deploy workflow: the run counts nowhere, the status still once
    (m,) = dora(events, DoraConfig(window="30d"), "2026-02-10T00:00:00+00:00").values()
    assert m.deployment_frequency_per_day == 1 / 30
    # a deployment no run created (made through the API) is another deployment: two ids
    del status["workflow_run"]
    events[0:1] = github("deployment_status", status, "d-status")
    (m,) = dora(events, config, "2026-02-10T00:00:00+00:00").values()
    assert m.deployment_frequency_per_day == 2 / 30


def test_squash_merge_lead_time_from_the_pull_requests_branch_push() -> None:
    """Branch push (head = the PR's head, first commit 10:00) -> merged PR -> production deploy of
    the merge commit: the lead time runs from the PR's first commit."""
    body = merged_pull()
    head = body["pull_request"]["head"]["sha"]
    merge = body["pull_request"]["merge_commit_sha"]
    branch = payload("github", "push.json", after=head)
    first = branch["commits"][0]
    branch["commits"] = [
        {**first, "id": "f" * 40, "timestamp": "2026-02-03T10:00:00Z"},
        {**first, "id": head, "timestamp": "2026-02-03T12:00:00Z"},
    ]
    branch["head_commit"] = branch["commits"][-1]
    status = payload("github", "deployment_status.created.json")
    status["deployment"]["sha"] = merge
    status["deployment_status"]["created_at"] = "2026-02-03T16:00:00Z"
    events = [
        *github("push", branch, "d-branch"),
        *github("pull_request", body, "d-pr"),
        *github("deployment_status", status, "d-deploy"),
    ]
    (m,) = dora(events, DoraConfig(window="30d"), "2026-02-10T00:00:00+00:00").values()
    assert dict(m.lead_time_for_changes)["0.5"] == 6 * 3600.0


def test_gitlab_pipeline_and_deployment_hook_of_one_job_count_once() -> None:
    """The Deployment Hook names the job that ran it (`deployable_id`): the pipeline's job."""
    pipeline = production_pipeline()
    hook = payload("gitlab", "deployment.success.json")
    hook.update(
        project=pipeline["project"],
        environment="prod-eu",
        environment_tier="production",
        commit_url=f"http://x/-/commit/{PIPELINE_SHA}",
        status_changed_at="2026-02-11 09:21:00 UTC",
    )
    job = production_job(pipeline)
    job["environment"]["name"] = "prod-eu"  # not in dora.production: its tier makes it count
    hook["deployable_id"] = job["id"]
    events = [*gitlab(pipeline, "g-pipe"), *gitlab(hook, "g-hook")]
    (m,) = dora(events, DoraConfig(window="30d"), "2026-02-20T00:00:00+00:00").values()
    assert m.deployment_frequency_per_day == 1 / 30
    assert m.deployments_without_change_times == 0
    # another job deploying the same commit again (a redeploy) is another deployment
    hook["deployable_id"] = job["id"] + 1
    events = [*gitlab(pipeline, "g-pipe"), *gitlab(hook, "g-hook")]
    (m,) = dora(events, DoraConfig(window="30d"), "2026-02-20T00:00:00+00:00").values()
    assert m.deployment_frequency_per_day == 2 / 30
