"""Jira Cloud admin webhooks (docs/sources/jira.md).

Signed with `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. Items are `jira:<KEY>`.
Event ids name the change, not the delivery, so that `flowgauge import jira` (which reads the same
changes from the REST API) gives the very same ids: `jira:h<changelog id>:<n>` for an update (the
changelog id is the REST API's history id), `jira:i<issue id>-created:<n>` and
`jira:i<issue id>-deleted:<n>`; failing those, `jira:<X-Atlassian-Webhook-Identifier>:<n>`
(unchanged across Jira's retries), or `jira:c-<digest of the body>:<n>`. Event time: the
issue's `created` for `jira:issue_created`, else the delivery's `timestamp` (epoch ms, when the
change happened), falling back to `issue.fields.updated`.

Who holds the issue (`assignee`) and its parent come from the creation's issue fields and from
the changelog items that change them; flags block with reason `flag` and "is blocked by" links
with reason `dependency` (sources/_jira_fields.py; docs/sources/jira.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import ITEM_TYPES, FlowEvent
from flowgauge.sources._common import require_hmac_hex
from flowgauge.sources._jira_fields import (
    ASSIGNEE,
    LINK,
    PARENT_FIELDS,
    assignee_of,
    blockers,
    changed_parent,
    link_change,
    parent_of,
)
from flowgauge.sources._native import (
    HOLDER_EVENT,
    Batch,
    body_key,
    dig,
    id_key,
    incident_candidate,
    initial_labels,
    names,
    need_obj,
    need_text,
    opt_text,
    when,
)
from flowgauge.sources.base import Headers, PayloadError

NAME = "jira"
SIGNATURE_HEADER = "x-hub-signature"
INCIDENT_TYPE = "incident"
SERVICE_PREFIX = "service:"
FLAG, DEPENDENCY = "flag", "dependency"

Handler = Callable[[Batch, dict[str, Any], dict[str, Any]], None]


def verify(secret: bytes, raw_body: bytes, headers: Headers, now: datetime | None = None) -> None:
    """Raise SignatureError unless `X-Hub-Signature` is `sha256=` + the body's HMAC."""
    require_hmac_hex(secret, raw_body, headers, SIGNATURE_HEADER, prefix="sha256=")


def delivery_id(headers: Headers, body: Any) -> str | None:
    return headers.get("x-atlassian-webhook-identifier") or None


def normalize(headers: Headers, body: Any) -> list[FlowEvent]:
    """The flow events of one delivery; [] for comments, sprints and the like, and for
    `issuelink_created` / `issuelink_deleted`: they name the two issues by id only, and Jira
    Cloud also sends the blocked issue's `jira:issue_updated` with the changelog's `Link` item,
    which is what gives the dependency (docs/sources/jira.md)."""
    payload = need_obj(body, "a Jira webhook body")
    event = opt_text(payload.get("webhookEvent"))
    if event is None:
        raise PayloadError("webhookEvent is missing: not a Jira webhook body")
    handler = _EVENTS.get(event)
    if handler is None:
        return []
    issue = need_obj(payload.get("issue"), "issue")
    key = change_key(event, payload, issue)
    if key is None:  # the digest of the body only when needed: it is most of normalize's cost
        key = id_key(delivery_id(headers, payload), body_key(payload))
    batch = Batch(NAME, key)
    handler(batch, payload, issue)
    return batch.events


def change_key(event: str, payload: dict[str, Any], issue: dict[str, Any]) -> str | None:
    """The id key of the change itself, the same in a webhook and in the REST API's history:
    the changelog id of an update, the issue id for its creation and deletion."""
    if event == "jira:issue_updated":
        history = opt_text(dig(payload, "changelog", "id"))
        return f"h{history}" if history is not None and history.isdigit() else None
    issue_id = opt_text(issue.get("id"))
    if issue_id is None or not issue_id.isdigit():
        return None
    return f"i{issue_id}-{event.removeprefix('jira:issue_')}"


def _fields(issue: dict[str, Any]) -> dict[str, Any]:
    """What every event of a Jira issue carries: item, project, kind, item_type, labels."""
    key = need_text(issue.get("key"), "issue.key")
    fields = issue.get("fields")
    issue_type = opt_text(dig(fields, "issuetype", "name"))
    return {
        "item": f"jira:{key}",
        "project": opt_text(dig(fields, "project", "key")) or key.rsplit("-", 1)[0],
        "kind": "issue",
        "item_type": issue_type.lower() if issue_type else None,
        "labels": names(dig(fields, "labels")),
    }


def _issue_fields(issue: dict[str, Any]) -> dict[str, Any]:
    fields = issue.get("fields")
    return fields if isinstance(fields, dict) else {}


def _event_time(payload: dict[str, Any], issue: dict[str, Any]) -> datetime:
    return when(
        (payload.get("timestamp"), "timestamp"),
        (dig(issue, "fields", "updated"), "issue.fields.updated"),
    )


def _created(batch: Batch, payload: dict[str, Any], issue: dict[str, Any]) -> None:
    at = when(
        (dig(issue, "fields", "created"), "issue.fields.created"),
        (payload.get("timestamp"), "timestamp"),
    )
    state = opt_text(dig(issue, "fields", "status", "name"))
    fields = _fields(issue)
    issue_fields = _issue_fields(issue)
    holder = {"assignee": assignee_of(issue_fields), "parent": parent_of(issue_fields)}
    batch.add("created", at=at, state=state, **{**fields, **holder})
    initial_labels(batch, at, fields)
    if blockers(issue_fields):  # created linked ("is blocked by"): blocked from the start
        batch.add("blocked", at=at, reason=DEPENDENCY, **fields)
    if not _done(issue):
        _incident(batch, "incident_opened", at, fields)


def _deleted(batch: Batch, payload: dict[str, Any], issue: dict[str, Any]) -> None:
    batch.add("deleted", at=_event_time(payload, issue), **_fields(issue))


def _updated(batch: Batch, payload: dict[str, Any], issue: dict[str, Any]) -> None:
    """One event per changelog item we understand: status, labels, Flagged, "is blocked by"
    links. A change of assignee or parent rides on every item event of the delivery; alone, it
    is a HOLDER_EVENT (sources/_native.py: it moves no stage)."""
    items = dig(payload, "changelog", "items")
    if not isinstance(items, list):
        return
    issue_fields = _issue_fields(issue)
    fields = {**_fields(issue), **_holder(payload, items, issue_fields)}
    at = _event_time(payload, issue)
    changed: dict[str, dict[str, Any]] = {}
    for change in items:
        if not isinstance(change, dict):
            continue
        keys = {(opt_text(change.get(k)) or "").lower() for k in ("fieldId", "field")}
        name = next((name for name in _CHANGES if name in keys), None)
        if name is not None:
            _CHANGES[name](batch, change, at, fields)
        elif LINK in keys:
            _link(batch, change, at, fields, issue_fields)
        else:
            name = "resolution" if "resolution" in keys else None
        if name is not None:
            changed.setdefault(name, change)
    holder_only = not any(e.type in ITEM_TYPES for e in batch.events)
    says = fields["assignee"] is not None or fields["parent"] is not None
    if holder_only and says:
        batch.add(HOLDER_EVENT, at=at, **fields)
    _incident_changes(batch, issue, changed, at, _fields(issue))


def _holder(
    payload: dict[str, Any], items: list[Any], issue_fields: dict[str, Any]
) -> dict[str, str | None]:
    """The assignee and parent this change sets (None: it does not change them). The 2024
    "assigned" delivery with an empty changelog says it by its event name: the issue's own
    assignee then."""
    holder: dict[str, str | None] = {"assignee": None, "parent": None}
    for change in items:
        if not isinstance(change, dict):
            continue
        keys = {(opt_text(change.get(k)) or "").lower() for k in ("fieldId", "field")}
        if ASSIGNEE in keys:
            holder["assignee"] = opt_text(change.get("to")) or ""
        elif keys & PARENT_FIELDS:
            holder["parent"] = changed_parent(change, issue_fields)
    if not items and opt_text(payload.get("issue_event_type_name")) == "issue_assigned":
        holder["assignee"] = assignee_of(issue_fields)
    return holder


def _done(issue: dict[str, Any]) -> bool:
    return opt_text(dig(issue, "fields", "status", "statusCategory", "key")) == "done"


def _incident(
    batch: Batch, type_: str, at: datetime, fields: dict[str, Any], label: str | None = None
) -> None:
    """An incident candidate of the issue (`dora.incident_labels` or the issue type Incident
    decide, docs/dora.md); service: a `service:<name>` label, else the project key."""
    labels = fields["labels"] or ()
    named = next((x[len(SERVICE_PREFIX) :] for x in labels if x.startswith(SERVICE_PREFIX)), None)
    service = named or fields["project"]
    issue_type = fields["item_type"]
    incident_candidate(
        batch, type_, at, fields, service=service, issue_type=issue_type, label=label
    )


def _incident_changes(
    batch: Batch,
    issue: dict[str, Any],
    changed: dict[str, dict[str, Any]],
    at: datetime,
    fields: dict[str, Any],
) -> None:
    """Candidates: opened per label added while not done (issues of type Incident are opened
    at creation); resolved when it moves to a done status; opened again when it leaves done (its
    resolution is cleared). The routing layer keeps those of incidents (docs/dora.md)."""
    done = _done(issue)
    labels = changed.get("labels")
    if labels is not None and not done and fields["item_type"] != INCIDENT_TYPE:
        before = (opt_text(labels.get("fromString")) or "").split()
        after = (opt_text(labels.get("toString")) or "").split()
        for label in after:
            if label not in before:
                _incident(batch, "incident_opened", at, fields, label)
    status = changed.get("status")
    resolution = changed.get("resolution")
    if status is not None and done:
        _incident(batch, "incident_resolved", at, fields)
    elif not done and resolution is not None and opt_text(resolution.get("toString")) is None:
        _incident(batch, "incident_opened", at, fields)


def _status(batch: Batch, change: dict[str, Any], at: datetime, fields: dict[str, Any]) -> None:
    state = opt_text(change.get("toString"))
    if state is not None:
        batch.add("state", at=at, state=state, **fields)


def _labels(batch: Batch, change: dict[str, Any], at: datetime, fields: dict[str, Any]) -> None:
    before = (opt_text(change.get("fromString")) or "").split()
    after = (opt_text(change.get("toString")) or "").split()
    for label in after:
        if label not in before:
            batch.add("labeled", at=at, label=label, **fields)
    for label in before:
        if label not in after:
            batch.add("unlabeled", at=at, label=label, **fields)


def _flagged(batch: Batch, change: dict[str, Any], at: datetime, fields: dict[str, Any]) -> None:
    flagged = opt_text(change.get("toString")) is not None
    batch.add("blocked" if flagged else "unblocked", at=at, reason=FLAG, **fields)


def _link(
    batch: Batch,
    change: dict[str, Any],
    at: datetime,
    fields: dict[str, Any],
    issue_fields: dict[str, Any],
) -> None:
    """Blocked (reason `dependency`) when an "is blocked by" link is added; unblocked only when
    the last one goes: the issue's `issuelinks` after the change names no other blocker (one
    reason for all links, so that one removal of two does not unblock: METRICS.md)."""
    found = link_change(change)
    if found is None:
        return
    kind, key = found
    if kind == "unblocked" and blockers(issue_fields) - {key}:
        return
    batch.add(kind, at=at, reason=DEPENDENCY, **fields)


_CHANGES: dict[str, Callable[[Batch, dict[str, Any], datetime, dict[str, Any]], None]] = {
    "status": _status,
    "labels": _labels,
    "flagged": _flagged,  # Jira's Flagged custom field (value "Impediment"), matched by name
    "impediment": _flagged,
}

#: The changelog fields `normalize` reads (lower-cased `fieldId` or `field`): the importer sends
#: only changes that name one of them.
READ_FIELDS: frozenset[str] = frozenset(_CHANGES) | {"resolution", ASSIGNEE, LINK} | PARENT_FIELDS

_EVENTS: dict[str, Handler] = {
    "jira:issue_created": _created,
    "jira:issue_updated": _updated,
    "jira:issue_deleted": _deleted,
}
