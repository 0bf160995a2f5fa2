"""GitHub repository / organization webhooks (docs/sources/github.md).

Signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. The event name is the
`X-GitHub-Event` header (inferred from the body's shape when a recording lacks it); the action is
the body's `action`. Event ids are `github:<X-GitHub-Delivery>:<n>` (GitHub keeps the delivery
GUID on redelivery), or `github:c-<digest of the body>:<n>` when the header is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import Change, FlowEvent
from flowgauge.sources import _github_pr as pr
from flowgauge.sources._common import require_hmac_hex
from flowgauge.sources._native import (
    Batch,
    body_key,
    dig,
    id_key,
    incident_candidate,
    names,
    need_obj,
    need_text,
    opt_text,
    opt_when,
    type_from_labels,
    when,
)
from flowgauge.sources.base import Headers, PayloadError

NAME = "github"
WORKFLOW_TAG = "workflow:"  # flowgauge.engine.dora.WORKFLOW_TAG (sources do not import the engine)
SIGNATURE_HEADER = "x-hub-signature-256"

Handler = Callable[[Batch, dict[str, Any]], None]


def verify(secret: bytes, raw_body: bytes, headers: Headers, now: datetime | None = None) -> None:
    """Raise SignatureError unless `X-Hub-Signature-256` is the body's HMAC with the secret."""
    require_hmac_hex(secret, raw_body, headers, SIGNATURE_HEADER, prefix="sha256=")


def delivery_id(headers: Headers, body: Any) -> str | None:
    return headers.get("x-github-delivery") or None


def normalize(headers: Headers, body: Any) -> list[FlowEvent]:
    """The flow events of one delivery; [] for events and actions flowgauge does not use."""
    payload = need_obj(body, "a GitHub webhook body")
    event = headers.get("x-github-event") or _infer_event(payload)
    if event is None:
        raise PayloadError("no X-GitHub-Event header and the body is not a known GitHub event")
    handler = _EVENTS.get(event)
    if handler is None:
        return []
    batch = Batch(NAME, id_key(delivery_id(headers, payload), body_key(payload)))
    handler(batch, payload)
    return batch.events


def _infer_event(payload: dict[str, Any]) -> str | None:
    for key, event in _SHAPES:
        if key in payload:
            return event
    return None


_SHAPES = (
    ("review", "pull_request_review"),
    ("pull_request", "pull_request"),
    ("issue", "issues"),
    ("deployment_status", "deployment_status"),
    ("deployment", "deployment"),  # before workflow_run: a deployment payload may carry its run
    ("workflow_run", "workflow_run"),
    ("pusher", "push"),
    ("projects_v2_item", "projects_v2_item"),
    ("zen", "ping"),
)


# --- issues -----------------------------------------------------------------------------------


def _issues(batch: Batch, payload: dict[str, Any]) -> None:
    action = opt_text(payload.get("action"))
    handler = _ISSUE_ACTIONS.get(action or "")
    if handler is None:
        return
    repo = need_text(dig(payload, "repository", "full_name"), "repository.full_name")
    issue = need_obj(payload.get("issue"), "issue")
    handler(batch, payload, repo, issue)


def issue_fields(repo: str, issue: dict[str, Any]) -> dict[str, Any]:
    """What every event of a GitHub issue carries: item, project, kind, labels, item_type."""
    number = need_text(issue.get("number"), "issue.number")
    labels = names(issue.get("labels"))
    issue_type = opt_text(dig(issue, "type", "name"))
    return {
        "item": f"github:{repo}#{number}",
        "project": repo,
        "kind": "issue",
        "labels": labels,
        "item_type": issue_type.lower() if issue_type else type_from_labels(labels),
    }


def _updated(issue: dict[str, Any]) -> datetime:
    return when((issue.get("updated_at"), "issue.updated_at"))


def _incident(
    batch: Batch,
    type_: str,
    at: datetime,
    issue: dict[str, Any],
    fields: dict[str, Any],
    label: str | None = None,
) -> None:
    """An incident candidate of the issue (`dora.incident_labels` decides, docs/dora.md)."""
    issue_type = opt_text(dig(issue, "type", "name"))
    incident_candidate(
        batch, type_, at, fields, service=fields["project"], issue_type=issue_type, label=label
    )


def _opened(batch: Batch, payload: dict[str, Any], repo: str, issue: dict[str, Any]) -> None:
    fields = issue_fields(repo, issue)
    at = when((issue.get("created_at"), "issue.created_at"), (issue.get("updated_at"), "updated"))
    batch.add("created", at=at, state="open", **fields)
    _incident(batch, "incident_opened", at, issue, fields)


def _closed(batch: Batch, payload: dict[str, Any], repo: str, issue: dict[str, Any]) -> None:
    fields = issue_fields(repo, issue)
    at = when((issue.get("closed_at"), "issue.closed_at"), (issue.get("updated_at"), "updated"))
    batch.add("state", at=at, state="closed", **fields)
    _incident(batch, "incident_resolved", at, issue, fields)


def _reopened(batch: Batch, payload: dict[str, Any], repo: str, issue: dict[str, Any]) -> None:
    fields = issue_fields(repo, issue)
    at = _updated(issue)
    batch.add("state", at=at, state="open", **fields)
    _incident(batch, "incident_opened", at, issue, fields)  # open again until resolved again


def _labeled(batch: Batch, payload: dict[str, Any], repo: str, issue: dict[str, Any]) -> None:
    fields = issue_fields(repo, issue)
    label = need_text(dig(payload, "label", "name"), "label.name")
    at = _updated(issue)
    batch.add(_LABEL_TYPES[payload["action"]], at=at, label=label, **fields)
    if payload["action"] == "labeled" and issue.get("state") != "closed":
        _incident(batch, "incident_opened", at, issue, fields, label)


def _deleted(batch: Batch, payload: dict[str, Any], repo: str, issue: dict[str, Any]) -> None:
    batch.add("deleted", at=_updated(issue), **issue_fields(repo, issue))


_LABEL_TYPES = {"labeled": "labeled", "unlabeled": "unlabeled"}
_ISSUE_ACTIONS: dict[str, Callable[[Batch, dict[str, Any], str, dict[str, Any]], None]] = {
    "opened": _opened,
    "closed": _closed,
    "reopened": _reopened,
    "labeled": _labeled,
    "unlabeled": _labeled,
    "deleted": _deleted,
    # The issue left this repository: it ends here (the new repository sees it opened).
    "transferred": _deleted,
}


# --- deployments and project boards -------------------------------------------------------------

_DEPLOY_STATUS = {"success": "success", "failure": "failure", "error": "failure"}


def _deployment_status(batch: Batch, payload: dict[str, Any]) -> None:
    """A finished deployment status: a `deployment` of the deployment's sha.

    Its id is the workflow run's that created it when the payload names one (`workflow_run`, as
    GitHub Actions' deployments do), so that the run's own `workflow_run` event is the same
    deployment (METRICS.md: one deployment, one id); else the deployment's own id.
    """
    status = need_obj(payload.get("deployment_status"), "deployment_status")
    outcome = _DEPLOY_STATUS.get(opt_text(status.get("state")) or "")
    if outcome is None:  # pending, queued, in_progress, inactive
        return
    deployment = need_obj(payload.get("deployment"), "deployment")
    repo = need_text(dig(payload, "repository", "full_name"), "repository.full_name")
    number = need_text(deployment.get("id"), "deployment.id")
    run = payload.get("workflow_run")
    run_id = opt_text(run.get("id")) if isinstance(run, dict) else None
    item = (
        f"github:{repo}/actions/runs/{run_id}" if run_id else f"github:{repo}/deployments/{number}"
    )
    sha = opt_text(deployment.get("sha"))
    environment = opt_text(status.get("environment")) or opt_text(deployment.get("environment"))
    batch.add(
        "deployment",
        item=item,
        at=when(
            (status.get("created_at"), "deployment_status.created_at"),
            (status.get("updated_at"), "deployment_status.updated_at"),
        ),
        project=repo,
        kind="deployment",
        service=repo,
        environment=environment,
        status=outcome,
        changes=(Change(id=sha),) if sha else (),
    )


# --- commit times and CI runs (DORA) -------------------------------------------------------------

_NO_SHA = "0" * 40


def _push(batch: Batch, payload: dict[str, Any]) -> None:
    """A push: a `commit` event with the commit time of every commit first pushed by it.

    Only `distinct` commits (not pushed to the repository before): the others' times came with
    their first push, and must not make a pull request's branch look older (docs/dora.md).
    """
    if payload.get("deleted") is True:
        return
    repo = need_text(dig(payload, "repository", "full_name"), "repository.full_name")
    raw = payload.get("commits")
    changes = [
        Change(id=sha, committed_at=opt_when(commit.get("timestamp"), "commits[].timestamp"))
        for commit in (raw if isinstance(raw, list) else [])
        if isinstance(commit, dict)
        and commit.get("distinct") is not False
        and (sha := opt_text(commit.get("id")))
    ]
    head = opt_text(dig(payload, "head_commit", "id")) or opt_text(payload.get("after"))
    if not changes or head is None or head == _NO_SHA:
        return
    if changes[-1].id != head:  # the head last: a deployment of it brings the others
        changes = [c for c in changes if c.id != head]
        stamp = dig(payload, "head_commit", "timestamp")
        changes.append(Change(id=head, committed_at=opt_when(stamp, "head_commit.timestamp")))
    pushed_at = dig(payload, "repository", "pushed_at")
    if isinstance(pushed_at, int | float) and not isinstance(pushed_at, bool):
        pushed_at *= 1000  # Unix seconds in push payloads; `when` reads numbers as milliseconds
    times = [c.committed_at for c in changes if c.committed_at is not None]
    if pushed_at is None and not times:
        return  # no time at all to date the push by
    at = opt_when(pushed_at, "repository.pushed_at") or max(times)
    batch.add(
        "commit",
        item=f"github:{repo}/commits/{head}",
        at=at,
        project=repo,
        kind="push",
        service=repo,
        changes=tuple(changes),
    )


_RUN_STATUS = {"success": "success", "failure": "failure"}


def _workflow_run(batch: Batch, payload: dict[str, Any]) -> None:
    """A completed run, successful or failed: a `deployment` of its `head_sha`, tagged with the
    workflow's name and path. Only runs of `dora.deploy_workflows` count (the engine decides)."""
    if payload.get("action") != "completed":
        return
    run = need_obj(payload.get("workflow_run"), "workflow_run")
    outcome = _RUN_STATUS.get(opt_text(run.get("conclusion")) or "")
    if outcome is None:  # cancelled, skipped, neutral, timed_out, action_required, stale
        return
    repo = need_text(dig(payload, "repository", "full_name"), "repository.full_name")
    number = need_text(run.get("id"), "workflow_run.id")
    sha = opt_text(run.get("head_sha"))
    stamp = dig(run, "head_commit", "timestamp") if dig(run, "head_commit", "id") == sha else None
    committed = opt_when(stamp, "workflow_run.head_commit.timestamp")
    tags = [
        opt_text(run.get("name")) or opt_text(dig(payload, "workflow", "name")),
        opt_text(run.get("path")) or opt_text(dig(payload, "workflow", "path")),
    ]
    batch.add(
        "deployment",
        item=f"github:{repo}/actions/runs/{number}",  # re-run attempts: the same run
        at=when(
            (run.get("updated_at"), "workflow_run.updated_at"),
            (run.get("run_started_at"), "workflow_run.run_started_at"),
        ),
        project=repo,
        kind="workflow_run",
        service=repo,
        labels=tuple(dict.fromkeys(f"{WORKFLOW_TAG}{tag}" for tag in tags if tag)),
        status=outcome,
        changes=(Change(id=sha, committed_at=committed),) if sha else (),
    )


_CONTENT_KINDS = {"Issue": "issue", "PullRequest": "pull_request", "DraftIssue": "draft_issue"}


def _projects_v2_item(batch: Batch, payload: dict[str, Any]) -> None:
    """A Projects v2 `Status` change: the board column is the item's state.

    The payload names the content only by GraphQL node id, so the item is `github:node/<id>`:
    it is not the same item as `github:owner/repo#12` (documented limitation).
    """
    if payload.get("action") != "edited":
        return
    change = dig(payload, "changes", "field_value")
    if not isinstance(change, dict) or str(change.get("field_name", "")).lower() != "status":
        return
    target = change.get("to")
    state = opt_text(dig(target, "name")) if isinstance(target, dict) else opt_text(target)
    if state is None:
        return
    item = need_obj(payload.get("projects_v2_item"), "projects_v2_item")
    node = need_text(item.get("content_node_id"), "projects_v2_item.content_node_id")
    batch.add(
        "state",
        item=f"github:node/{node}",
        at=when((item.get("updated_at"), "projects_v2_item.updated_at")),
        state=state,
        project=opt_text(item.get("project_node_id")),
        kind=_CONTENT_KINDS.get(opt_text(item.get("content_type")) or "", "issue"),
    )


_EVENTS: dict[str, Handler] = {
    "issues": _issues,
    "pull_request": pr.pull_request,
    "pull_request_review": pr.pull_request_review,
    "deployment_status": _deployment_status,
    "push": _push,
    "workflow_run": _workflow_run,
    "projects_v2_item": _projects_v2_item,
}
