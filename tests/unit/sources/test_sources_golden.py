"""Golden tests: every payload the project keeps (`tests/fixtures/webhooks`), delivered as the
platform sends it (headers and signature, made with the project's own HMAC code), verified and
normalized against the expected events.

A file listed with `[]` is a well-formed payload of a kind flowgauge does not use (202, counted as
ignored). The platforms' own recordings are checked too, when they are beside the repository:
test_sources_corpus.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sources_helpers import (
    SECRET,
    SOURCES,
    ev,
    fixture_files,
    gitlab_change_id,
    same_events,
    signed,
)

from flowgauge.model import Change, FlowEvent
from flowgauge.sources import REGISTRY, SignatureError, linear
from flowgauge.sources import plane as plane_source
from flowgauge.sources.jira import change_key

GH = "acme-shop/storefront"
GH_ISSUE = {
    "item": f"github:{GH}#14",
    "project": GH,
    "kind": "issue",
    "labels": ("bug",),
    "item_type": "bug",
    "assignee": "",  # `assignees: []`: unassigned
}
GH_PR = {
    "item": f"github:{GH}#15",
    "project": GH,
    "kind": "pull_request",
    "labels": ("bug",),
    "item_type": "bug",
}
GL = "acme-shop/warehouse"
GL_ISSUE = {
    "item": f"gitlab:{GL}#31",
    "project": GL,
    "kind": "issue",
    "labels": ("backend",),
    "item_type": "issue",
}
GL_MR = {
    "item": f"gitlab:{GL}!32",
    "project": GL,
    "kind": "merge_request",
    "labels": ("backend",),
    "links": (f"gitlab:{GL}#31",),  # its branch, `31-count-returns-once`
}
SHOP = {
    "item": "jira:SHOP-21",
    "project": "SHOP",
    "kind": "issue",
    "item_type": "story",
    "labels": ("checkout",),
}
PLANE_PROJECT = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"
PLANE = {
    "item": f"plane:{PLANE_PROJECT}/9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    "project": PLANE_PROJECT,
    "kind": "work_item",
    "labels": ("e3f4a5b6-c7d8-4e9f-8a1b-2c3d4e5f6a7b",),  # v2 sends label ids
    "assignee": "",  # v2's `assignee_ids: []`: unassigned
    "parent": "",  # `parent_id: null`: no parent
}
#: v1 does not expand labels nor assignees (empty lists: unknown) and names no parent.
PLANE_V1 = {"labels": None, "assignee": None, "parent": None}
OPS = {
    "item": "linear:OPS-58",
    "project": "OPS",
    "kind": "issue",
    "labels": ("Bug",),
    "item_type": "bug",
    "team": "OPS",
    "assignee": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "parent": "Warehouse printing",  # the issue's project (docs/sources/linear.md)
}
OPS_BLOCKED = {"project": "OPS", "kind": "issue", "team": "OPS", "reason": "dependency"}
GL_HEAD = "6e5b7a2c4f9c8b0a1fcd5b6a7f8e9d0c1324d567"


def with_base(source: str, base: dict[str, Any]) -> Any:
    def make(type_: str, at: str, **fields: Any) -> FlowEvent:
        return ev(source, type_, at=at, **{**base, **fields})

    return make


issue, pull = with_base("github", GH_ISSUE), with_base("github", GH_PR)
gl_issue, gl_mr = with_base("gitlab", GL_ISSUE), with_base("gitlab", GL_MR)
shop, plane, ops = with_base("jira", SHOP), with_base("plane", PLANE), with_base("linear", OPS)


def candidate(source: str, type_: str, at: str, base: dict[str, Any], **fields: Any) -> FlowEvent:
    """An incident candidate of a labelled issue: `dora.incident_labels` decides if it counts.
    Its `item_type` is the issue type only (not a type read from labels)."""
    kept = {key: base[key] for key in ("item", "project", "labels")}
    return ev(source, type_, at=at, kind="issue", service=base["project"], **{**kept, **fields})


def change(sha: str, committed_at: str | None = None) -> Change:
    when = datetime.fromisoformat(committed_at) if committed_at else None
    return Change(id=sha, committed_at=when)


def deployment(source: str, item: str, at: str, project: str, **fields: Any) -> FlowEvent:
    return ev(source, "deployment", item, at, project=project, service=project, **fields)


GOLDEN: dict[str, dict[str, list[FlowEvent]]] = {
    "github": {
        "issues.opened.json": [
            issue("created", "2026-02-02T09:15:00Z", state="open"),
            candidate("github", "incident_opened", "2026-02-02T09:15:00Z", GH_ISSUE),
        ],
        "issues.edited.json": [],
        "issues.labeled.json": [
            issue("labeled", "2026-02-02T09:16:10Z", label="bug"),
            candidate("github", "incident_opened", "2026-02-02T09:16:10Z", GH_ISSUE, label="bug"),
        ],
        "issues.unlabeled.json": [issue("unlabeled", "2026-02-02T09:20:00Z", label="needs-triage")],
        # A holder change only: a label-less `labeled` (changes no label, no state).
        "issues.assigned.json": [issue("labeled", "2026-02-02T09:25:00Z", assignee="sam-ops")],
        "issues.unassigned.json": [issue("labeled", "2026-02-02T09:26:00Z")],
        "issue_dependencies.blocked_by_added.json": [
            issue("blocked", "2026-02-02T10:00:00Z", reason="dependency")
        ],
        # The mirror, sent to the blocking issue's repository: the same change (and id).
        "issue_dependencies.blocking_added.json": [
            issue("blocked", "2026-02-02T10:00:00Z", reason="dependency")
        ],
        "issue_dependencies.blocked_by_removed.json": [
            issue("unblocked", "2026-02-03T16:30:00Z", reason="dependency")
        ],
        "sub_issues.sub_issue_added.json": [
            issue("labeled", "2026-02-02T09:30:00Z", parent=f"github:{GH}#10")
        ],
        "sub_issues.parent_issue_removed.json": [
            issue("labeled", "2026-02-03T11:00:00Z", parent="")
        ],
        "issues.closed.json": [
            issue("state", "2026-02-04T16:00:00Z", state="closed"),
            candidate("github", "incident_resolved", "2026-02-04T16:00:00Z", GH_ISSUE),
        ],
        "issues.reopened.json": [
            issue("state", "2026-02-05T11:00:00Z", state="open"),
            candidate("github", "incident_opened", "2026-02-05T11:00:00Z", GH_ISSUE),
        ],
        "issues.deleted.json": [issue("deleted", "2026-02-06T08:00:00Z")],
        # The issue left the repository: it ends here.
        "issues.transferred.json": [
            issue(
                "deleted",
                "2026-02-06T08:30:00Z",
                item=f"github:{GH}#16",
                labels=(),
                item_type=None,
            )
        ],
        "pull_request.opened.json": [pull("created", "2026-02-03T10:00:00Z", state="open")],
        "pull_request.labeled.json": [pull("labeled", "2026-02-03T10:02:00Z", label="bug")],
        "pull_request.converted_to_draft.json": [
            pull("state", "2026-02-03T10:05:00Z", state="draft")
        ],
        "pull_request.ready_for_review.json": [pull("state", "2026-02-03T10:30:00Z", state="open")],
        "pull_request.review_requested.json": [
            pull("state", "2026-02-03T10:31:00Z", state="review_requested")
        ],
        "pull_request.assigned.json": [pull("labeled", "2026-02-03T10:32:00Z", assignee="sam-ops")],
        "pull_request.synchronize.json": [],
        "pull_request.closed.json": [pull("state", "2026-02-03T15:00:00Z", state="closed")],
        "pull_request.reopened.json": [pull("state", "2026-02-03T15:30:00Z", state="open")],
        "pull_request_review.submitted.json": [],  # a "commented" review moves nothing
        "deployment.created.json": [],
        "deployment_status.created.json": [
            deployment(
                "github",
                f"github:{GH}/deployments/5501",
                "2026-02-04T12:00:00Z",
                GH,
                kind="deployment",
                environment="production",
                status="success",
                changes=(change("3b2e4d9f1c6f5e7d8c9ba2f3e4d5c6b7a8091a23"),),
            )
        ],
        "deployment_status.created.in-progress.json": [],
        "push.json": [
            ev(
                "github",
                "commit",
                f"github:{GH}/commits/4c3f5e0a2d7a6f8e9dab3f4e5d6c7b8a9102b345",
                "2026-02-03T08:41:30Z",  # repository.pushed_at, Unix seconds
                project=GH,
                kind="push",
                service=GH,
                changes=(
                    change("4c3f5e0a2d7a6f8e9dab3f4e5d6c7b8a9102b345", "2026-02-03T09:40:00+01:00"),
                ),
            )
        ],
        "push.tag-deleted.json": [],
        "workflow_run.requested.json": [],
        # Tagged with the workflow's name and path: `dora.deploy_workflows` decides if it counts.
        "workflow_run.completed.json": [
            deployment(
                "github",
                f"github:{GH}/actions/runs/8123001",
                "2026-02-05T09:06:30Z",
                GH,
                kind="workflow_run",
                labels=("workflow:deploy", "workflow:.github/workflows/deploy.yml"),
                status="success",
                changes=(
                    change("5d4a6f1b3e8b7a9f0ebc4a5f6e7d8c9b0213c456", "2026-02-05T08:55:00Z"),
                ),
            )
        ],
        "check_suite.requested.json": [],
        "check_suite.completed.json": [],
        "release.created.json": [],
        "release.published.json": [],
        "ping.json": [],
        # The board's Status column is the state of the content node (not `owner/repo#14`).
        "projects_v2_item.edited.json": [
            ev(
                "github",
                "state",
                "github:node/I_kwDOFlowG14",
                "2026-02-03T09:00:00Z",
                state="In Progress",
                project="PVT_kwDOFlowGzgAA",
                kind="issue",
            )
        ],
        "projects_v2_item.created.json": [],
        "projects_v2_item.archived.json": [],
        "projects_v2_item.converted.json": [],
    },
    "gitlab": {
        "issue.open.json": [
            gl_issue("created", "2026-02-09T08:30:00Z", state="opened"),
            gl_issue("labeled", "2026-02-09T08:30:00Z", label="backend"),
            candidate(
                "gitlab", "incident_opened", "2026-02-09T08:30:00Z", GL_ISSUE, item_type="issue"
            ),
        ],
        "merge_request.open.json": [gl_mr("created", "2026-02-09T13:00:00Z", state="opened")],
        "deployment.success.json": [
            deployment(
                "gitlab",
                f"gitlab:{GL}/jobs/7301",
                "2026-02-10T14:00:00+01:00",
                GL,
                kind="deployment",
                environment="staging",
                labels=("tier:staging",),
                status="success",
                changes=(change("7f6c8b3d5a0d9c1b2ade6c7b8a9f0e1d2435e678"),),
            )
        ],
        "push.json": [
            ev(
                "gitlab",
                "commit",
                f"gitlab:{GL}/commits/{GL_HEAD}",
                "2026-02-09T12:45:00+01:00",  # the latest commit time: a Push Hook has none
                project=GL,
                kind="push",
                service=GL,
                changes=(
                    change("8a7d9c4e6b1e0d2c3bef7d8c9b0a1f2e3546f789", "2026-02-09T10:15:00+01:00"),
                    change(GL_HEAD, "2026-02-09T12:45:00+01:00"),
                ),
            )
        ],
        # Its staging job ran; the production job waits for a person (manual).
        "pipeline.success.json": [
            deployment(
                "gitlab",
                f"gitlab:{GL}/jobs/7402",
                "2026-02-11T09:11:00Z",
                GL,
                kind="deployment",
                environment="staging",
                labels=("tier:staging",),
                status="success",
                changes=(
                    change("a0f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3", "2026-02-11T09:58:00+01:00"),
                ),
            )
        ],
        "job.success.json": [],
    },
    "jira": {
        # Created with a label: Jira's changelog may not list it, `fields.labels` does.
        "jira_issue_created.json": [
            shop("created", "2026-02-12T09:00:00+01:00", state="To Do", assignee=""),
            shop("labeled", "2026-02-12T09:00:00+01:00", label="checkout"),
            candidate(
                "jira", "incident_opened", "2026-02-12T09:00:00+01:00", SHOP, item_type="story"
            ),
        ],
        "jira_issue_updated.status-todo-to-inprogress.json": [
            shop("state", "2026-02-12T10:30:00Z", state="In Progress")
        ],
        "jira_issue_updated.status-inprogress-to-done.json": [
            shop("state", "2026-02-13T15:45:00Z", state="Done"),
            candidate("jira", "incident_resolved", "2026-02-13T15:45:00Z", SHOP, item_type="story"),
        ],
        # Its resolution is cleared: an incident would be open again.
        "jira_issue_updated.status-done-to-todo.json": [
            shop("state", "2026-02-14T08:10:00Z", state="To Do"),
            candidate("jira", "incident_opened", "2026-02-14T08:10:00Z", SHOP, item_type="story"),
        ],
        "jira_issue_updated.labels.json": [
            shop(
                "labeled", "2026-02-12T12:00:00Z", label="payments", labels=("checkout", "payments")
            ),
            shop(
                "unlabeled", "2026-02-12T12:00:00Z", label="urgent", labels=("checkout", "payments")
            ),
            candidate(
                "jira",
                "incident_opened",
                "2026-02-12T12:00:00Z",
                {**SHOP, "labels": ("checkout", "payments")},
                item_type="story",
                label="payments",
            ),
        ],
        # A new holder and nothing else: a label-less `labeled` carries it (it moves nothing).
        "jira_issue_updated.assigned.json": [
            shop("labeled", "2026-02-12T12:05:00Z", assignee="712020:aa11")
        ],
        "jira_issue_updated.description-edited.json": [],
        "jira_issue_updated.sprint.json": [],
        # "is blocked by" SHOP-30: blocked for a dependency (METRICS.md, blocked reasons)
        "jira_issue_updated.issuelink-blocked-by.json": [
            shop("blocked", "2026-02-12T12:30:00Z", reason="dependency")
        ],
        # A parent named by id only: the issue's `fields.parent` gives its key.
        "jira_issue_updated.parent.json": [
            shop("labeled", "2026-02-12T12:40:00Z", parent="SHOP-1")
        ],
        # Issues by id only; Jira Cloud sends the blocked issue's `jira:issue_updated` too.
        "issuelink_created.json": [],
        "jira_issue_deleted.json": [
            ev(
                "jira",
                "deleted",
                "jira:SHOP-22",
                "2026-02-15T09:00:00Z",
                project="SHOP",
                kind="issue",
                item_type="task",
                labels=(),
            )
        ],
        "comment_created.json": [],
    },
    "plane": {
        "workitem.created.json": [
            plane(
                "created", "2026-02-16T10:00:00+00:00", state="c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
            ),
            plane("labeled", "2026-02-16T10:00:00+00:00", label=PLANE["labels"][0]),
        ],
        # The current state on every update (its id: the payload does not expand it).
        # Two assignees: the holder is the lowest id, whatever their order.
        "workitem.updated.json": [
            plane(
                "state",
                "2026-02-16T14:20:00+00:00",
                state="d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f6a",
                assignee="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
                parent=f"plane:{PLANE_PROJECT}/5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
            )
        ],
        "workitem.deleted.json": [plane("deleted", "2026-02-17T08:00:00+00:00")],
        "workitem.comment.created.json": [],
        "workitem.link.created.json": [],
        # v1 (Community Edition): one delivery per changed field; a state change moves the item.
        # Its labels are not expanded (an empty list): unknown, not "none".
        "v1.issue.update.json": [
            plane(
                "state",
                "2026-02-16T14:20:00+00:00",
                state="d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f6a",
                **PLANE_V1,
            )
        ],
        "v1.issue.update.blocked_by.json": [
            plane("blocked", "2026-02-16T15:00:00+00:00", reason="dependency", **PLANE_V1)
        ],
        "v1.issue.delete.json": [],  # names the work item alone, not its project (documented)
    },
    "linear": {
        "Issue.create.json": [
            ops("created", "2026-02-18T09:00:00Z", state="Todo"),
            ops("labeled", "2026-02-18T09:00:00Z", label="Bug"),
        ],
        "Issue.update.json": [ops("state", "2026-02-18T11:30:00Z", state="In Progress")],
        "Issue.update.assignee.json": [
            ops("labeled", "2026-02-18T13:05:00Z", assignee="2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e")
        ],
        "Issue.remove.json": [ops("deleted", "2026-02-19T08:00:00Z")],
        "IssueRelation.create.json": [
            ev("linear", "blocked", "linear:OPS-58", "2026-02-18T12:00:00Z", **OPS_BLOCKED)
        ],
        "IssueRelation.remove.json": [
            ev("linear", "unblocked", "linear:OPS-58", "2026-02-18T15:00:00Z", **OPS_BLOCKED)
        ],
        "Comment.create.json": [],
    },
    "generic": {
        "events.json": [
            ev(
                "generic",
                "created",
                "generic:ticket-901",
                "2026-02-20T08:00:00Z",
                state="new",
                item_type="request",
            ),
            ev(
                "generic",
                "state",
                "generic:ticket-901",
                "2026-02-20T09:30:00Z",
                state="in progress",
            ),
        ],
        "event.blocked.json": [
            ev("generic", "blocked", "generic:ticket-901", "2026-02-20T10:00:00Z")
        ],
    },
}

CASES = [(source, name) for source in SOURCES for name in GOLDEN[source]]


def sent_at(source: str, body: Any) -> datetime | None:
    """The clock a delivery is verified at: Linear refuses deliveries over 60 s old."""
    if source == "linear":
        return datetime.fromtimestamp(body["webhookTimestamp"] // 1000, tz=UTC)
    return None


def expected_ids(
    source: str, headers: dict[str, str], body: Any, got: list[FlowEvent]
) -> list[str]:
    """Generic events carry their ids; Plane v2 uses its stable `event_id`, Plane v1 (no stable
    id) a digest of the content; Jira the change (its changelog id, or the issue id), so an
    import of its history gives the same ids; the others the platform's delivery id."""
    if source == "generic":
        return [event["id"] for event in (body if isinstance(body, list) else [body])]
    key = REGISTRY[source].delivery_id(headers, body)
    if source == "jira":
        key = change_key(body["webhookEvent"], body, body.get("issue", {})) or key
    if source == "linear" and got:
        key = linear.change_key(body["type"], body["action"], body, body["data"])
    if source == "plane" and got:
        event = body["event"] if body["event"] != "issue" else f"v1.{body['action']}"
        key = plane_source.change_key(event, body)
    if source == "github" and got:  # the change, not the delivery (test_sources_ids.py)
        key = got[0].id.split(":")[1]
        assert re.fullmatch(r"ch-[0-9a-f]{32}", key), got[0].id
    if source == "gitlab" and body.get("object_kind") in ("issue", "merge_request"):
        return [gitlab_change_id(event) for event in got]  # the change, as Jira's
    if key is None and got:
        key = got[0].id.split(":")[1]
        assert key.startswith("c-") and len(key) > 2, got[0].id
    return [f"{source}:{key}:{n}" for n in range(len(got))]


@pytest.mark.parametrize("source", SOURCES)
def test_every_payload_is_in_the_table(source: str) -> None:
    assert fixture_files(source) == sorted(GOLDEN[source])


@pytest.mark.parametrize(("source", "name"), CASES)
def test_payload_is_verified_and_normalizes_to_the_expected_events(source: str, name: str) -> None:
    headers, raw = signed(source, name)
    body = json.loads(raw)
    REGISTRY[source].verify(SECRET, raw, headers, sent_at(source, body))
    got = REGISTRY[source].normalize(headers, body)
    same_events(got, GOLDEN[source][name])
    assert [e.id for e in got] == expected_ids(source, headers, body, got)


@pytest.mark.parametrize(("source", "name"), CASES)
def test_payload_signed_with_another_secret_or_altered_is_refused(source: str, name: str) -> None:
    headers, raw = signed(source, name, secret=b"another-secret")
    now = sent_at(source, json.loads(raw))
    with pytest.raises(SignatureError):
        REGISTRY[source].verify(SECRET, raw, headers, now)
    if source != "gitlab":  # a token, not a signature of the body
        headers, raw = signed(source, name)
        with pytest.raises(SignatureError):
            REGISTRY[source].verify(SECRET, raw.replace(b"}", b" }", 1), headers, now)
