"""GitLab project / group webhooks (docs/sources/gitlab.md).

Authenticated by `X-Gitlab-Token` (the secret echoed in plain text, compared in constant time) or,
when GitLab sends it, the Standard Webhooks `webhook-signature` made with a signing token.

Events of issues and merge requests have ids that name the change (item, time, what changed:
`_gitlab_change.py`), the same in a redelivery and in `flowgauge import gitlab`; they carry the
holder (`assignee`: the lowest username among the assignees) and the milestone as `parent`.
Deployment, pipeline and push hooks keep ids of the delivery:
`gitlab:<Idempotency-Key | webhook-id | X-Gitlab-Event-UUID>:<n>`, or `gitlab:c-<digest of the
body>:<n>` when none is present (a deployment counts once by its deployment id).

Issues are `gitlab:group/project#iid`, merge requests `gitlab:group/project!iid`, deployments
`gitlab:group/project/jobs/<job id>` (the job that ran them; `.../deployments/<id>` when the
payload names no job).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import FlowEvent
from flowgauge.signing import same
from flowgauge.sources import _gitlab_change as change
from flowgauge.sources import _gitlab_dora as dora
from flowgauge.sources._gitlab_links import issue_links
from flowgauge.sources._gitlab_mr import merge_commits
from flowgauge.sources._native import (
    HOLDER_EVENT,
    Batch,
    body_key,
    dig,
    id_key,
    incident_candidate,
    links_from,
    names,
    need_obj,
    need_text,
    opt_text,
    require,
    standard_webhook_ok,
    type_from_labels,
    when,
)
from flowgauge.sources.base import Headers, PayloadError

NAME = "gitlab"
TOKEN_HEADER = "x-gitlab-token"
SIGNATURE_TOLERANCE_S = 300  # Standard Webhooks' default window for webhook-timestamp
WORKFLOW_PREFIX = "workflow::"


def verify(secret: bytes, raw_body: bytes, headers: Headers, now: datetime | None = None) -> None:
    """Accept a valid `webhook-signature` (in its time window) or a matching `X-Gitlab-Token`."""
    if headers.get("webhook-signature") and standard_webhook_ok(secret, raw_body, headers):
        _require_fresh(headers.get("webhook-timestamp", ""), now)
        return
    token = headers.get(TOKEN_HEADER)
    require(
        bool(token) or bool(headers.get("webhook-signature")),
        "missing X-Gitlab-Token (or webhook-signature) header",
    )
    require(
        token is not None and same(token, secret.decode("utf-8", "surrogateescape")),
        "X-Gitlab-Token / webhook-signature does not match the configured secret",
    )


def _require_fresh(sent: str, now: datetime | None) -> None:
    if now is None:
        return
    require(
        sent.isdigit() and abs(now.timestamp() - int(sent)) <= SIGNATURE_TOLERANCE_S,
        "webhook-timestamp is outside the 5 minute window",
    )


def delivery_id(headers: Headers, body: Any) -> str | None:
    for header in ("idempotency-key", "webhook-id", "x-gitlab-event-uuid"):
        if headers.get(header):
            return headers[header]
    return None


def normalize(headers: Headers, body: Any) -> list[FlowEvent]:
    """The flow events of one delivery; [] for hooks flowgauge does not use (job, note...)."""
    payload = need_obj(body, "a GitLab webhook body")
    kind = opt_text(payload.get("object_kind"))
    if kind is None:
        raise PayloadError("object_kind is missing: not a GitLab webhook body")
    handler = _KINDS.get(kind)
    if handler is None:
        return []
    by_delivery = kind in _DELIVERY_KEYED  # (the body digest only when needed: it is costly)
    key = id_key(delivery_id(headers, payload), body_key(payload)) if by_delivery else "change"
    batch = Batch(NAME, key)
    handler(batch, payload)
    return batch.events


# --- issues and merge requests ------------------------------------------------------------------


def _workflow(labels: tuple[str, ...] | None) -> str | None:
    return next((x for x in labels or () if x.lower().startswith(WORKFLOW_PREFIX)), None)


def _current_state(attrs: dict[str, Any], labels: tuple[str, ...] | None) -> str:
    state = opt_text(attrs.get("state")) or "opened"
    if state != "opened":
        return state
    if workflow := _workflow(labels):
        return workflow
    return "draft" if attrs.get("draft") is True or attrs.get("work_in_progress") is True else state


#: action -> (event type, fixed state or None for the current state); `None` type: no state event
_ACTIONS: dict[str, tuple[str | None, str | None]] = {
    "open": ("created", None),
    "reopen": ("state", None),
    "close": ("state", "closed"),
    "merge": ("state", "merged"),
    "approved": ("state", "approved"),
    "unapproved": ("state", None),
}
_STATE_CHANGES = frozenset({"state_id", "draft", "work_in_progress"})


def _state_event(
    action: str, changes: dict[str, Any], labels_moved: bool
) -> tuple[str | None, str | None]:
    if action == "update":
        moved = labels_moved or bool(_STATE_CHANGES & changes.keys())
        return ("state", None) if moved else (None, None)
    return _ACTIONS.get(action, (None, None))


def _label_diff(changes: dict[str, Any]) -> tuple[list[str], list[str]]:
    before = names(dig(changes, "labels", "previous"), "title") or ()
    after = names(dig(changes, "labels", "current"), "title") or ()
    return [x for x in after if x not in before], [x for x in before if x not in after]


def _item(batch: Batch, payload: dict[str, Any], kind: str, sep: str) -> None:
    attrs = need_obj(payload.get("object_attributes"), "object_attributes")
    raw_changes = payload.get("changes")
    changes: dict[str, Any] = raw_changes if isinstance(raw_changes, dict) else {}
    action = opt_text(attrs.get("action")) or ""
    fields = _item_fields(payload, attrs, kind, sep)
    at = when(
        *([(attrs.get("created_at"), "object_attributes.created_at")] if action == "open" else []),
        (attrs.get("updated_at"), "object_attributes.updated_at"),
        (dig(changes, "updated_at", "current"), "changes.updated_at.current"),
    )
    start = len(batch.events)
    added, removed = _label_diff(changes)
    moved = any(x.lower().startswith(WORKFLOW_PREFIX) for x in added + removed)
    type_, state = _state_event(action, changes, moved)
    current = _current_state(attrs, fields["labels"])
    if type_ is not None:
        batch.add(type_, at=at, state=state or current, **fields)
    for label in added:
        batch.add("labeled", at=at, label=label, **fields)
    for label in removed:
        batch.add("unlabeled", at=at, label=label, **fields)
    overrides = _holder_changes(batch, action, changes, fields, at)
    if kind == "issue":
        _incident(batch, attrs, added, fields, at)
    elif action == "merge":
        merge_commits(batch, attrs, fields["project"], at)
    change.name_changes(batch, start, at, overrides)


def _holder_changes(
    batch: Batch,
    action: str,
    changes: dict[str, Any],
    fields: dict[str, Any],
    at: datetime,
) -> dict[int, str]:
    """A carrier event for a change of assignees or milestone, so that the new holder / parent
    is known from that instant; its id names that change. The carrier is a `labeled` event
    without a label (as GitHub's, sources/_github_relations.py): it moves no stage. A `state`
    event would report the hook's state, and an approved merge request's hook says `opened`,
    so an assignment would have sent it back a stage (a false rework)."""
    overrides: dict[int, str] = {}
    if action == "open":  # the `created` event carries them already
        return overrides
    if change.assignees_changed(changes) and fields["assignee"] is not None:
        overrides[len(batch.events)] = f"assignee:{fields['assignee']}"
        batch.add(HOLDER_EVENT, at=at, **fields)
    if change.parent_changed(changes) and fields["parent"] is not None:
        overrides[len(batch.events)] = f"parent:{fields['parent']}"
        batch.add(HOLDER_EVENT, at=at, **fields)
    return overrides


def _item_fields(
    payload: dict[str, Any], attrs: dict[str, Any], kind: str, sep: str
) -> dict[str, Any]:
    """What every event of an issue / merge request carries: item, project, kind, labels..."""
    path = need_text(dig(payload, "project", "path_with_namespace"), "project.path_with_namespace")
    iid = need_text(attrs.get("iid"), "object_attributes.iid")
    labels = names(payload.get("labels"), "title") or names(attrs.get("labels"), "title")
    if labels is not None:  # sorted: hooks and the API list an item's labels in other orders
        labels = tuple(sorted(labels))
    work_type = opt_text(attrs.get("type")) or opt_text(attrs.get("issue_type"))
    return {
        "item": f"gitlab:{path}{sep}{iid}",
        "project": path,
        "kind": kind,
        "labels": labels,
        "item_type": type_from_labels(labels) or (work_type.lower() if work_type else None),
        "links": _links(attrs, path) if kind == "merge_request" else (),
        "assignee": change.holder(payload, attrs),
        "parent": change.parent(attrs),
    }


def _incident(
    batch: Batch, attrs: dict[str, Any], added: list[str], fields: dict[str, Any], at: datetime
) -> None:
    """Incident candidates of an issue of the project's service: opened on open and reopen, or
    per label added to an open issue; resolved on close (`dora.incident_labels` decides which
    count, docs/dora.md)."""
    action = opt_text(attrs.get("action"))
    work_type = opt_text(attrs.get("type")) or opt_text(attrs.get("issue_type"))

    def candidate(type_: str, label: str | None = None) -> None:
        service = fields["project"]
        incident_candidate(
            batch, type_, at, fields, service=service, issue_type=work_type, label=label
        )

    if action in ("open", "reopen"):
        candidate("incident_opened")
    elif action == "close":
        candidate("incident_resolved")
    elif action == "update" and opt_text(attrs.get("state")) != "closed":
        for label in added:
            candidate("incident_opened", label)


_BRANCH_ISSUE = re.compile(r"^(\d+)-")


def _links(attrs: dict[str, Any], path: str) -> tuple[str, ...]:
    branch = opt_text(attrs.get("source_branch")) or ""
    texts = (
        attrs.get("title"),
        attrs.get("description"),
        branch,
        dig(attrs, "last_commit", "message"),
    )
    found = links_from(texts, NAME, path)
    numbered = _BRANCH_ISSUE.match(branch)
    if numbered:  # GitLab names branches it creates from issue 12 `12-some-title`
        found = (*found, f"gitlab:{path}#{numbered[1]}")
    return tuple(dict.fromkeys(found))


#: Hooks whose event ids name the delivery (a deployment is counted by its deployment id anyway).
_DELIVERY_KEYED = frozenset({"deployment", "pipeline", "push"})

_KINDS: dict[str, Callable[[Batch, dict[str, Any]], None]] = {
    "issue": lambda batch, payload: _item(batch, payload, "issue", "#"),
    "work_item": lambda batch, payload: _item(batch, payload, "issue", "#"),
    "merge_request": lambda batch, payload: _item(batch, payload, "merge_request", "!"),
    "issue_links": issue_links,  # rendered by `flowgauge import gitlab` only: no such hook
    "deployment": dora.deployment,
    "pipeline": dora.pipeline,
    "push": dora.push,
}
