"""Linear webhooks (docs/sources/linear.md): `Issue` create / update / remove, `IssueRelation`.

Signed with `Linear-Signature: <hex HMAC-SHA256 of the raw body>`; the body's `webhookTimestamp`
(epoch ms, else the `Linear-Timestamp` header) must be within 60 s of `now`. Items are
`linear:<identifier>` (e.g. `linear:ENG-123`), else `linear:<uuid>`; project and team = the team
key; assignee = the assignee's id; parent = the issue's project (`data.project.name`, else
`projectId`), else its parent issue (`linear:<identifier>`). An update that changes only the
holder or the parent gives a HOLDER_EVENT (sources/_native.py: a label-less `labeled`, no move).
A `blocks` relation blocks its related issue (`blocked` / `unblocked`, reason `dependency`).

Event ids name the change, not the delivery, so that `flowgauge import linear` (which reads the
same changes from the issue history) gives the very same ids: `linear:i<issue id>-created:<n>`,
`linear:i<issue id>-removed:<n>`, `linear:i<issue id>-u<epoch ms of data.updatedAt>:<n>` for an
update (Linear writes the history entry of the change at that time), and
`linear:i<blocked issue id>-d<blocker>-<a|r><epoch ms>:<n>` for a relation added or removed;
failing those, `linear:<Linear-Delivery>:<n>`, or a digest of the body's change. Event time:
`data.createdAt` on create, else `data.updatedAt`, falling back to the envelope's `createdAt`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import FlowEvent
from flowgauge.model.micros import to_micros
from flowgauge.sources._common import require_hmac_hex
from flowgauge.sources._native import (
    HOLDER_EVENT,
    Batch,
    dig,
    id_key,
    initial_labels,
    names,
    need_obj,
    need_text,
    opt_text,
    require,
    type_from_labels,
    when,
)
from flowgauge.sources.base import Headers, PayloadError, SignatureError

NAME = "linear"
SIGNATURE_HEADER = "linear-signature"
WINDOW_MS = 60_000
#: The relation type that blocks (Linear's `IssueRelationType`): `issue` blocks `relatedIssue`.
BLOCKS = "blocks"
DEPENDENCY = "dependency"
#: `updatedFrom` keys that change who holds the issue or what it belongs to.
HOLDER_KEYS = frozenset({"assigneeId", "teamId", "projectId", "parentId"})

Handler = Callable[[Batch, dict[str, Any], dict[str, Any]], None]


def verify(secret: bytes, raw_body: bytes, headers: Headers, now: datetime | None = None) -> None:
    """The body's HMAC must match, and its `webhookTimestamp` be within 60 s of `now`.

    With `now=None` (no clock given) only the signature is checked.
    """
    require_hmac_hex(secret, raw_body, headers, SIGNATURE_HEADER)
    if now is None:
        return
    sent = _sent_ms(raw_body, headers)
    if sent is None:
        raise SignatureError("no webhookTimestamp in the body nor Linear-Timestamp header")
    require(
        abs(now.timestamp() * 1000 - sent) <= WINDOW_MS,
        "webhookTimestamp is more than 60 s away from now (replayed or delayed delivery)",
    )


def _sent_ms(raw_body: bytes, headers: Headers) -> float | None:
    try:
        value = json.loads(raw_body).get("webhookTimestamp")
    except (ValueError, AttributeError, RecursionError):
        value = None
    if value is None:
        value = headers.get("linear-timestamp")
    try:
        sent = float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
    return sent if sent == sent else None  # NaN


def delivery_id(headers: Headers, body: Any) -> str | None:
    return headers.get("linear-delivery") or None


def normalize(headers: Headers, body: Any) -> list[FlowEvent]:
    """Issue and issue relation events; [] for comments, projects, cycles and other entities."""
    payload = need_obj(body, "a Linear webhook body")
    entity = opt_text(payload.get("type"))
    action = opt_text(payload.get("action"))
    if entity is None or action is None:
        raise PayloadError("type and action are required: not a Linear webhook body")
    handler = _HANDLERS.get((entity, action))
    if handler is None:
        return []
    data = need_obj(payload.get("data"), "data")
    key = change_key(entity, action, payload, data) or id_key(
        delivery_id(headers, payload), data.get("id"), data.get("updatedAt"), action
    )
    batch = Batch(NAME, key)
    handler(batch, payload, data)
    return batch.events


def _ms(value: Any) -> int | None:
    """Epoch milliseconds of a time, None when absent or not a time."""
    try:
        return to_micros(when((value, "time"))) // 1000
    except PayloadError:
        return None


def change_key(
    entity: str, action: str, payload: dict[str, Any], data: dict[str, Any]
) -> str | None:
    """The id key of the change itself, the same in a webhook and in the issue history."""
    if entity == "IssueRelation":
        blocked, blocker = opt_text(data.get("relatedIssueId")), _blocker(data)
        at = _ms(_relation_time(payload, data, action))
        if blocked is None or blocker is None or at is None:
            return None
        return f"i{blocked}-d{blocker}-{'a' if action == 'create' else 'r'}{at}"
    issue = opt_text(data.get("id"))
    if issue is None:
        return None
    if action != "update":
        return f"i{issue}-{'created' if action == 'create' else 'removed'}"
    at = _ms(data.get("updatedAt"))
    return None if at is None else f"i{issue}-u{at}"


def _team(data: dict[str, Any]) -> str | None:
    identifier = opt_text(data.get("identifier"))
    team = opt_text(dig(data, "team", "key"))
    if team is None and identifier and "-" in identifier:
        team = identifier.rsplit("-", 1)[0]
    return team


def _held(data: dict[str, Any], key: str, *values: Any) -> str | None:
    """The first present value; "" when the payload says `key: null` (none); None: not said."""
    for value in values:
        if (found := opt_text(value)) is not None:
            return found
    return "" if key in data and data[key] is None else None


def parent_of(data: dict[str, Any]) -> str | None:
    """The project the issue belongs to, else its parent issue (docs/sources/linear.md)."""
    project = _held(data, "projectId", dig(data, "project", "name"), data.get("projectId"))
    if project:
        return project
    parent = opt_text(dig(data, "parent", "identifier")) or opt_text(data.get("parentId"))
    if parent is not None:
        return f"linear:{parent}"
    return "" if project == "" or ("parentId" in data and data["parentId"] is None) else None


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    identifier = opt_text(data.get("identifier"))
    item = identifier or need_text(data.get("id"), "data.id")
    team = _team(data)
    found = names(data.get("labels"))
    labels = None if found is None else tuple(sorted(found))  # a set: Linear's order varies
    return {
        "item": f"linear:{item}",
        "project": team,
        "kind": "issue",
        "labels": labels,
        "item_type": type_from_labels(labels),
        "team": team,
        "assignee": _held(data, "assigneeId", data.get("assigneeId"), dig(data, "assignee", "id")),
        "parent": parent_of(data),
    }


def _state(data: dict[str, Any]) -> str | None:
    return opt_text(dig(data, "state", "name")) or opt_text(data.get("stateId"))


def _create(batch: Batch, payload: dict[str, Any], data: dict[str, Any]) -> None:
    at = when((data.get("createdAt"), "data.createdAt"), (payload.get("createdAt"), "createdAt"))
    fields = _fields(data)
    batch.add("created", at=at, state=_state(data), **fields)
    initial_labels(batch, at, fields)


def _update(batch: Batch, payload: dict[str, Any], data: dict[str, Any]) -> None:
    before = payload.get("updatedFrom")
    if not isinstance(before, dict):
        return
    fields = _fields(data)
    at = when((data.get("updatedAt"), "data.updatedAt"), (payload.get("createdAt"), "createdAt"))
    state = _state(data)
    if state is not None and "stateId" in before:
        batch.add("state", at=at, state=state, **fields)
    elif HOLDER_KEYS & before.keys():
        batch.add(HOLDER_EVENT, at=at, **fields)
    old_ids = names(before.get("labelIds"))
    if old_ids is not None:
        _label_changes(batch, at, fields, data, old_ids)


def _label_changes(
    batch: Batch,
    at: datetime,
    fields: dict[str, Any],
    data: dict[str, Any],
    old_ids: tuple[str, ...],
) -> None:
    """Added labels by name (from `data.labels`); removed ones only by id (all Linear sends)."""
    raw = data.get("labels")
    labels: list[Any] = raw if isinstance(raw, list) else []
    by_id = {opt_text(dig(x, "id")): opt_text(dig(x, "name")) for x in labels}
    new_ids = names(data.get("labelIds")) or ()
    for label_id in sorted(x for x in new_ids if x not in old_ids):
        batch.add("labeled", at=at, label=by_id.get(label_id) or label_id, **fields)
    for label_id in sorted(x for x in old_ids if x not in new_ids):
        batch.add("unlabeled", at=at, label=label_id, **fields)


def _remove(batch: Batch, payload: dict[str, Any], data: dict[str, Any]) -> None:
    at = when(
        (data.get("archivedAt"), "data.archivedAt"),
        (data.get("updatedAt"), "updatedAt"),
        (payload.get("createdAt"), "createdAt"),
    )
    batch.add("deleted", at=at, **_fields(data))


def _blocker(data: dict[str, Any]) -> str | None:
    return opt_text(dig(data, "issue", "identifier")) or opt_text(data.get("issueId"))


def _relation_time(payload: dict[str, Any], data: dict[str, Any], action: str) -> Any:
    if action == "create":
        return data.get("createdAt") or payload.get("createdAt")
    return data.get("archivedAt") or data.get("updatedAt") or payload.get("createdAt")


def _relation(batch: Batch, payload: dict[str, Any], data: dict[str, Any]) -> None:
    """A `blocks` relation: the related issue is blocked by `issue` (reason `dependency`)."""
    if opt_text(data.get("type")) != BLOCKS:
        return
    action = opt_text(payload.get("action"))
    blocked = need_obj(data.get("relatedIssue"), "data.relatedIssue")
    item = opt_text(blocked.get("identifier")) or need_text(
        data.get("relatedIssueId"), "data.relatedIssueId"
    )
    at = when((_relation_time(payload, data, action or ""), "data.createdAt"))
    team = _team(blocked)
    batch.add(
        "blocked" if action == "create" else "unblocked",
        item=f"linear:{item}",
        at=at,
        project=team,
        kind="issue",
        team=team,
        reason=DEPENDENCY,
    )


_HANDLERS: dict[tuple[str, str], Handler] = {
    ("Issue", "create"): _create,
    ("Issue", "update"): _update,
    ("Issue", "remove"): _remove,
    ("IssueRelation", "create"): _relation,
    ("IssueRelation", "remove"): _relation,
}
