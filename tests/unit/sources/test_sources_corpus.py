"""Acceptance layer: every sample of the shared webhook corpus (`../shared/webhooks`, the
platforms' own recordings), normalized, against expected events. Skipped, saying so, when the
corpus is not beside the repository (a user's clone); the project's own payloads are tested in
test_sources_golden.py either way.

A file listed with `[]` is a well-formed payload of a kind flowgauge does not use (202, counted as
ignored). Files that are not JSON are listed in `NOT_JSON` with the reason; the ingester refuses
them before any source sees them (400), and a source given their text refuses it (PayloadError).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from sources_helpers import (
    corpus_files,
    ev,
    gitlab_change_id,
    needs_corpus,
    same_events,
)
from sources_helpers import corpus_raw as raw

from flowgauge.model import Change, FlowEvent
from flowgauge.sources import PROVIDERS, REGISTRY, PayloadError
from flowgauge.sources.jira import change_key

pytestmark = needs_corpus

GH = "Codertocat/Hello-World"
GH_ISSUE = {
    "item": f"github:{GH}#1",
    "project": GH,
    "kind": "issue",
    "labels": ("bug",),
    "item_type": "bug",
    "assignee": "Codertocat",  # every sample lists `assignees: [Codertocat]`
}
GH_PR = {
    "item": f"github:{GH}#2",
    "project": GH,
    "kind": "pull_request",
    "labels": ("bug",),
    "item_type": "bug",
    "assignee": "Codertocat",
}
GL = "gitlabhq/gitlab-test"
GL_LABELS = {"project": GL, "labels": ("API",)}
GL_ISSUE = {"item": f"gitlab:{GL}#23", "kind": "issue", "item_type": "issue", **GL_LABELS}
GL_MR = {"item": f"gitlab:{GL}!1", "kind": "merge_request", **GL_LABELS}
GL_HELD = {"assignee": "user1", "parent": ""}  # one assignee, `milestone_id: null`
TES = {
    "item": "jira:TES-41",
    "project": "TES",
    "kind": "issue",
    "item_type": "story",
    "labels": ("test-label",),
}
PLANE_ITEM = "plane:59e3be42-87ec-4950-99a3-ae639cf2b089/775c5716-5302-4617-bb9f-2cd843911268"


def change(sha: str, committed_at: str) -> Change:
    return Change(id=sha, committed_at=datetime.fromisoformat(committed_at))


# Tagged with the workflow's name and path: `dora.deploy_workflows` decides if it counts.
WORKFLOW_RUN = ev(
    "github",
    "deployment",
    "github:octo-org/octo-repo/actions/runs/289782451",
    "2020-10-05T16:33:49Z",
    project="octo-org/octo-repo",
    kind="workflow_run",
    service="octo-org/octo-repo",
    labels=("workflow:test", "workflow:.github/workflows/test.yml"),
    status="success",
    changes=(change("3484a3fb816e0859fd6e1cea078d76385ff50625", "2020-10-05T16:32:07Z"),),
)


def gh(type_: str, at: str, base: dict[str, Any], **fields: Any) -> FlowEvent:
    return ev("github", type_, at=at, **{**base, **fields})


def gl(type_: str, at: str, base: dict[str, Any], **fields: Any) -> FlowEvent:
    return ev("gitlab", type_, at=at, **{**base, **fields})


def jira(type_: str, at: str, **fields: Any) -> FlowEvent:
    return ev("jira", type_, at=at, **{**TES, **fields})


def candidate(source: str, type_: str, at: str, base: dict[str, Any], **fields: Any) -> FlowEvent:
    """An incident candidate of a labelled issue: `dora.incident_labels` decides if it counts
    (with the default `incident`, none of these samples' does). Its `item_type` is the issue type
    only (not a type read from labels)."""
    kept = {key: base[key] for key in ("item", "project", "labels")}
    return ev(source, type_, at=at, kind="issue", service=base["project"], **{**kept, **fields})


GOLDEN: dict[str, dict[str, list[FlowEvent]]] = {
    "github": {
        "issues.opened.json": [
            gh("created", "2019-05-15T15:20:18Z", GH_ISSUE, state="open"),
            candidate("github", "incident_opened", "2019-05-15T15:20:18Z", GH_ISSUE),
        ],
        "issues.reopened.json": [
            gh("state", "2021-10-11T16:40:56Z", GH_ISSUE, state="open"),
            candidate("github", "incident_opened", "2021-10-11T16:40:56Z", GH_ISSUE),
        ],
        "issues.labeled.json": [
            gh("labeled", "2019-05-15T15:20:18Z", GH_ISSUE, label="bug"),
            candidate("github", "incident_opened", "2019-05-15T15:20:18Z", GH_ISSUE, label="bug"),
        ],
        "issues.unlabeled.json": [gh("unlabeled", "2019-05-15T15:20:26Z", GH_ISSUE, label="bug")],
        "issues.deleted.json": [gh("deleted", "2021-10-11T16:40:56Z", GH_ISSUE)],
        "issues.transferred.json": [
            gh(
                "deleted",
                "2019-10-25T22:46:30Z",
                {
                    **GH_ISSUE,
                    "item": "github:octo-org/octo-repo#1",
                    "project": "octo-org/octo-repo",
                    "labels": (),
                    "item_type": None,
                    "assignee": "",
                },
            )
        ],
        "issues.edited.json": [],
        # Holder changes (a label-less `labeled`); the unassigned sample still lists Codertocat.
        "issues.assigned.json": [gh("labeled", "2019-05-15T15:20:18Z", GH_ISSUE)],
        "issues.unassigned.json": [gh("labeled", "2019-05-15T15:20:25Z", GH_ISSUE)],
        "pull_request.opened.json": [gh("created", "2019-05-15T15:20:33Z", GH_PR, state="open")],
        "pull_request.closed.json": [gh("state", "2019-05-15T15:21:18Z", GH_PR, state="closed")],
        "pull_request.reopened.json": [gh("state", "2019-05-15T15:20:33Z", GH_PR, state="open")],
        "pull_request.converted_to_draft.json": [
            gh("state", "2019-05-15T15:21:18Z", GH_PR, state="draft")
        ],
        "pull_request.ready_for_review.json": [
            gh("state", "2019-05-15T15:21:18Z", GH_PR, state="open")
        ],
        "pull_request.review_requested.json": [
            gh("state", "2019-05-15T15:20:33Z", GH_PR, state="review_requested")
        ],
        "pull_request.labeled.json": [gh("labeled", "2019-05-15T15:20:35Z", GH_PR, label="bug")],
        "pull_request.synchronize.json": [],
        "pull_request.assigned.json": [gh("labeled", "2019-05-15T15:20:33Z", GH_PR)],
        "pull_request_review.submitted.json": [],  # a "commented" review moves nothing
        "deployment_status.created.json": [
            ev(
                "github",
                "deployment",
                f"github:{GH}/deployments/145988746",
                "2019-05-15T15:20:55Z",
                project=GH,
                kind="deployment",
                service=GH,
                environment="production",
                status="success",
                changes=(Change(id="f95f852bd8fca8fcc58a9a2d6c842781e32a215e"),),
            )
        ],
        "deployment_status.created.gh-pages.json": [],  # in_progress
        "deployment.created.json": [],
        "deployment.created.gh-pages.json": [],
        "projects_v2_item.edited.json": [],  # no changes.field_value.to in this sample
        "projects_v2_item.created.json": [],
        "projects_v2_item.converted.json": [],
        "projects_v2_item.archived.json": [],
        "push.json": [
            ev(
                "github",
                "commit",
                f"github:{GH}/commits/6113728f27ae82c7b1a177c8d03f9e96e0adf246",
                "2019-05-15T15:20:57Z",  # repository.pushed_at, Unix seconds
                project=GH,
                kind="push",
                service=GH,
                changes=(
                    change("6113728f27ae82c7b1a177c8d03f9e96e0adf246", "2019-05-15T15:19:25Z"),
                ),
            )
        ],
        "push.tag-deleted.json": [],
        "workflow_run.completed.json": [WORKFLOW_RUN],
        "workflow_run.completed.with-pull-requests.json": [WORKFLOW_RUN],
        "workflow_run.requested.json": [],
        "check_suite.completed.json": [],
        "check_suite.requested.json": [],
        "release.created.json": [],
        "release.published.json": [],
        "ping.json": [],
    },
    "gitlab": {
        # The doc sample's `changes.labels` says API -> Platform while its `labels` says API.
        "issue.open.json": [
            gl("created", "2013-12-03T17:15:43Z", GL_ISSUE, state="opened", **GL_HELD),
            gl("labeled", "2013-12-03T17:15:43Z", GL_ISSUE, label="Platform", **GL_HELD),
            gl("unlabeled", "2013-12-03T17:15:43Z", GL_ISSUE, label="API", **GL_HELD),
            candidate(
                "gitlab", "incident_opened", "2013-12-03T17:15:43Z", GL_ISSUE, item_type="issue"
            ),
        ],
        "merge_request.open.json": [
            gl("created", "2013-12-03T17:23:34Z", GL_MR, state="opened", **GL_HELD),
            gl("labeled", "2013-12-03T17:23:34Z", GL_MR, label="Platform", **GL_HELD),
            gl("unlabeled", "2013-12-03T17:23:34Z", GL_MR, label="API", **GL_HELD),
        ],
        "deployment.success.json": [
            ev(
                "gitlab",
                "deployment",
                "gitlab:root/test-deployment-webhooks/jobs/796",
                "2021-04-28T21:50:00+02:00",
                project="root/test-deployment-webhooks",
                kind="deployment",
                service="root/test-deployment-webhooks",
                environment="staging",
                labels=("tier:staging",),
                status="success",
                changes=(Change(id="279484c09fbe69ededfced8c1bb6e6d24616b468"),),
            )
        ],
        "push.json": [
            ev(
                "gitlab",
                "commit",
                "gitlab:mike/diaspora/commits/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                "2012-01-03T23:36:29+02:00",
                project="mike/diaspora",
                kind="push",
                service="mike/diaspora",
                changes=(
                    change("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "2011-12-12T14:27:31+02:00"),
                    change("da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "2012-01-03T23:36:29+02:00"),
                ),
            )
        ],
        "pipeline.success.json": [],  # its production job was skipped, staging only created
        "job.success.go-gitlab.json": [],
    },
    "jira": {
        # Created with a label: Jira's create changelog does not list it, `fields.labels` does.
        "jira_issue_created.json": [
            # unassigned: `fields.assignee` is null
            jira("created", "2019-02-15T19:01:52.971-08:00", state="To Do", assignee=""),
            jira("labeled", "2019-02-15T19:01:52.971-08:00", label="test-label"),
            candidate(
                "jira", "incident_opened", "2019-02-15T19:01:52.971-08:00", TES, item_type="story"
            ),
        ],
        "jira_issue_updated.status-todo-to-inprogress.json": [
            jira("state", "2019-02-16T03:14:22.039Z", state="In Progress")
        ],
        "jira_issue_updated.status-inprogress-to-done.json": [
            jira("state", "2019-02-16T03:15:40.507Z", state="Done"),
            candidate(
                "jira", "incident_resolved", "2019-02-16T03:15:40.507Z", TES, item_type="story"
            ),
        ],
        # Its resolution is cleared: an incident would be open again.
        "jira_issue_updated.status-done-to-todo.json": [
            jira("state", "2019-02-16T03:17:06.531Z", state="To Do"),
            candidate(
                "jira", "incident_opened", "2019-02-16T03:17:06.531Z", TES, item_type="story"
            ),
        ],
        "jira_issue_updated.labels.json": [
            jira("labeled", "2019-02-16T21:12:10.065Z", label="sad", labels=("sad", "test-label")),
            jira(
                "unlabeled", "2019-02-16T21:12:10.065Z", label="bad", labels=("sad", "test-label")
            ),
            candidate(
                "jira",
                "incident_opened",
                "2019-02-16T21:12:10.065Z",
                {**TES, "labels": ("sad", "test-label")},
                item_type="story",
                label="sad",
            ),
        ],
        "jira_issue_deleted.json": [
            ev(
                "jira",
                "deleted",
                "jira:IDT-19",
                "2019-07-03T18:05:36.176Z",
                project="IDT",
                kind="issue",
                item_type="task",
                labels=(),
            )
        ],
        # A new holder and nothing else: a label-less `labeled` carries it (the changelog's
        # `to`: the user's key in 2019, an accountId today).
        "jira_issue_updated.assigned.json": [
            jira("labeled", "2019-02-16T03:18:01.752Z", assignee="admin")
        ],
        # The empty changelog names no one: the issue's own assignee, by its event name.
        "jira_issue_updated.assigned-empty-changelog-2024.json": [
            ev(
                "jira",
                "labeled",
                "jira:TEST-123",
                "2024-08-20T18:47:42.935Z",
                project="TEST",
                kind="issue",
                item_type="task",
                assignee="789012",
            )
        ],
        "jira_issue_updated.description-edited.json": [],
        "jira_issue_updated.sprint.json": [],
        "comment_created.json": [],
    },
    "plane": {
        # The current state on every update (state id: the payload does not expand it).
        "v2.workitem.updated.json": [
            ev(
                "plane",
                "state",
                PLANE_ITEM,
                "2026-03-31T11:44:41.249304+00:00",
                project="59e3be42-87ec-4950-99a3-ae639cf2b089",
                kind="work_item",
                state="067b88e5-304b-4221-ba09-94340dcc36e5",
                labels=(),
                assignee="",  # `assignee_ids: []`
                parent="",  # `parent_id: "None"` (Plane v2 writes None as a string)
            )
        ],
        "v2.workitem.comment.created.json": [],
        "v2.workitem.link.created.json": [],
        "v2.payload-structure.template.json": [],  # placeholder event name: not a known event
    },
    "linear": {
        "Comment.create.docs-2021.json": [],
    },
}

#: The change each Plane sample names (work item id, `updated_at` in epoch ms).
PLANE_CHANGES = {"v2.workitem.updated.json": "w775c5716-5302-4617-bb9f-2cd843911268-u1774957481249"}

NOT_JSON = {
    ("gitlab", "job.created.doc-verbatim.jsonc"): "doc example with // comments, trailing comma",
    ("plane", "v1.issue.delete.doc-fragment.txt"): "doc fragment without the outer braces",
    ("plane", "v1.issue.update.doc-fragment.txt"): "doc fragment, data elided as { ... }",
    ("plane", "v1.project.update.doc-fragment.txt"): "doc fragment, trailing comma",
    ("linear", "headers.docs-2021.http.txt"): "an HTTP header block, not a body",
}

CASES = [(p, name) for p in PROVIDERS for name in GOLDEN[p]]


def headers_for(provider: str, name: str) -> dict[str, str]:
    """What the platform sends beside the body (GitHub names the event in a header)."""
    delivery = {
        "github": "x-github-delivery",
        "gitlab": "idempotency-key",
        "jira": "x-atlassian-webhook-identifier",
        "plane": "x-plane-delivery",
        "linear": "linear-delivery",
    }[provider]
    headers = {delivery: "delivery-1"}
    if provider == "github":
        headers["x-github-event"] = name.split(".", 1)[0]
    return headers


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_sample_is_in_the_table(provider: str) -> None:
    listed = set(GOLDEN[provider]) | {n for p, n in NOT_JSON if p == provider}
    assert set(corpus_files(provider)) == listed


@pytest.mark.parametrize(("provider", "name"), CASES)
def test_sample_normalizes_to_the_expected_events(provider: str, name: str) -> None:
    body = json.loads(raw(provider, name))
    got = REGISTRY[provider].normalize(headers_for(provider, name), body)
    same_events(got, GOLDEN[provider][name])
    key = "delivery-1"
    if provider == "plane":  # Plane ids name the change too: the work item and its time
        key = PLANE_CHANGES.get(name, "none: no events")
    elif provider == "jira":  # Jira ids name the change, so an import gives the same ones
        key = change_key(body["webhookEvent"], body, body["issue"]) or key
    elif provider == "github" and got:  # so do GitHub's (test_sources_ids.py)
        key = got[0].id.split(":")[1]
        assert re.fullmatch(r"ch-[0-9a-f]{32}", key), got[0].id
    elif provider == "gitlab" and body.get("object_kind") in ("issue", "merge_request"):
        assert [e.id for e in got] == [gitlab_change_id(e) for e in got]  # so does GitLab
        return
    assert [e.id for e in got] == [f"{provider}:{key}:{n}" for n in range(len(got))]


@pytest.mark.parametrize(("provider", "name"), sorted(NOT_JSON))
def test_non_json_samples_are_refused(provider: str, name: str) -> None:
    text = raw(provider, name).decode()
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(PayloadError):
        REGISTRY[provider].normalize(headers_for(provider, name), text)


def test_gitlab_job_doc_sample_once_its_comments_are_removed_is_ignored() -> None:
    text = raw("gitlab", "job.created.doc-verbatim.jsonc").decode()
    text = re.sub(r"\s//[^\"\n]*$", "", text, flags=re.MULTILINE)
    body = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    assert body["object_kind"] == "build"
    assert REGISTRY["gitlab"].normalize({}, body) == []


def test_plane_v1_delete_fragment_in_braces_is_ignored_it_names_no_project() -> None:
    body = json.loads("{" + raw("plane", "v1.issue.delete.doc-fragment.txt").decode() + "}")
    assert body["action"] == "delete"
    assert REGISTRY["plane"].normalize({}, body) == []
