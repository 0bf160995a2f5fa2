"""GitHub repository / organization webhooks (docs/sources/github.md).

Signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. The event name is the
`X-GitHub-Event` header (inferred from the body's shape when a recording lacks it); the action is
the body's `action`.

Event ids name the change, not the delivery, so that `flowgauge import github` (which rebuilds the
same changes from the REST API) gives the very same ids: `github:ch-<digest>:<n>`, the digest of
the webhook event, its action (the two sides of one dependency or sub-issue link give the same
one), what changed (`change_detail`: the label, the assignee, the review or deployment status id,
the pushed ref and head, ...), the first event's item and its time to the microsecond (not for a
push: its ref and head name it, however it is dated). A
redelivery gives the same ids; two changes differ in at least one of these (a label added,
removed and added again within one second of the payload's clock is the exception: the third is
read as the first again, which changes nothing). Who holds an item, its parent and its
dependencies: `_github_relations`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import FlowEvent
from flowgauge.model.micros import to_micros
from flowgauge.sources import _github_dora as dora
from flowgauge.sources import _github_pr as pr
from flowgauge.sources import _github_relations as rel
from flowgauge.sources._common import require_hmac_hex
from flowgauge.sources._github_relations import issue_fields
from flowgauge.sources._native import (
    HOLDER_EVENT,
    Batch,
    content_key,
    dig,
    incident_candidate,
    need_obj,
    need_text,
    opt_text,
    when,
)
from flowgauge.sources.base import Headers, PayloadError

NAME = "github"
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
    batch = Batch(NAME, "pending")
    handler(batch, payload)
    if not batch.events:
        return []
    first = batch.events[0]
    # A push is its head reaching its ref, whenever GitHub or an import dates it (`pushed_at`,
    # or the last commit's time): the same commits, the same id.
    at = "" if event == "push" else to_micros(first.at)
    key = "ch-" + content_key(event, *change_detail(event, payload), first.item, at)
    return [e.model_copy(update={"id": f"{NAME}:{key}:{n}"}) for n, e in enumerate(batch.events)]


def change_detail(event: str, payload: dict[str, Any]) -> tuple[str, ...]:
    """The action and what changed, for the event id: the same for a change however GitHub
    reports it (webhook, redelivery, or the REST API's history rendered by the importer)."""
    action = opt_text(payload.get("action")) or ""
    if event == "issue_dependencies":
        return rel.dependency_change(payload) or (action,)
    if event == "sub_issues":
        return rel.sub_issue_change(payload) or (action,)
    if event == "pull_request_review":
        return action, opt_text(dig(payload, "review", "id")) or ""
    if event == "deployment_status":
        return action, opt_text(dig(payload, "deployment_status", "id")) or ""
    if event == "push":
        return opt_text(payload.get("ref")) or "", opt_text(payload.get("after")) or ""
    if event == "workflow_run":
        return action, opt_text(dig(payload, "workflow_run", "run_attempt")) or ""
    detail = (
        dig(payload, "label", "name")
        or dig(payload, "assignee", "login")
        or dig(payload, "requested_reviewer", "login")
        or dig(payload, "requested_team", "name")
        or dig(payload, "changes", "field_value", "to", "name")
    )
    return action, opt_text(detail) or ""


def _infer_event(payload: dict[str, Any]) -> str | None:
    for key, event in _SHAPES:
        if key in payload:
            return event
    return None


_SHAPES = (
    ("review", "pull_request_review"),
    ("pull_request", "pull_request"),
    ("issue", "issues"),
    ("blocked_issue", "issue_dependencies"),
    ("sub_issue", "sub_issues"),
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


def _assigned(batch: Batch, payload: dict[str, Any], repo: str, issue: dict[str, Any]) -> None:
    """Assigned or unassigned: the holder from now on (`_github_relations.holder`)."""
    batch.add(HOLDER_EVENT, at=_updated(issue), **issue_fields(repo, issue))


_LABEL_TYPES = {"labeled": "labeled", "unlabeled": "unlabeled"}
_ISSUE_ACTIONS: dict[str, Callable[[Batch, dict[str, Any], str, dict[str, Any]], None]] = {
    "opened": _opened,
    "closed": _closed,
    "reopened": _reopened,
    "labeled": _labeled,
    "unlabeled": _labeled,
    "deleted": _deleted,
    "assigned": _assigned,
    "unassigned": _assigned,
    # The issue left this repository: it ends here (the new repository sees it opened).
    "transferred": _deleted,
}


# --- project boards -----------------------------------------------------------------------------

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
    "deployment_status": dora.deployment_status,
    "push": dora.push,
    "workflow_run": dora.workflow_run,
    "projects_v2_item": _projects_v2_item,
    "issue_dependencies": rel.issue_dependencies,
    "sub_issues": rel.sub_issues,
}
