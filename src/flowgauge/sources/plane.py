"""Plane work-item webhooks, v2 (`workitem.*`) and the Community Edition's v1 (`issue`).

Signed with `X-Plane-Signature: <hex HMAC-SHA256 of the raw body>` (no prefix). Items are
`plane:<project_id>/<work item id>`, kind `work_item`, project = the project id. The holder
(`assignee`) is the lowest of the current assignees' ids (order-independent; "" when none); the
`parent` is the parent work item (`plane:<project_id>/<parent id>`); Plane work items name no team.
A v1 `blocked_by` activity blocks or unblocks the item (reason `dependency`).

Event ids name the change, not the delivery, so that `flowgauge import plane` (which reads the
same changes from the work items' activities) gives the very same ids:
`plane:w<work item id>-created:<n>`, `plane:w<work item id>-deleted:<n>`, an update
`plane:w<work item id>-u<epoch ms of updated_at>:<n>` (v2), and for v1, one delivery per changed
field, `plane:w<work item id>-u<epoch ms>-<digest of field, old and new value>:<n>`; failing
those, `plane:<event_id>:<n>` or a digest of the content. Event time: the work item's
`updated_at` (`created_at` on creation).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import FlowEvent
from flowgauge.model.micros import to_micros
from flowgauge.sources._common import require_hmac_hex
from flowgauge.sources._native import (
    Batch,
    content_key,
    dig,
    id_key,
    initial_labels,
    names,
    need_obj,
    need_text,
    opt_text,
    type_from_labels,
    when,
)
from flowgauge.sources.base import Headers, PayloadError

NAME = "plane"
SIGNATURE_HEADER = "x-plane-signature"
#: The activity field of a "blocked by" relation (Plane's relation types: blocked_by, blocking,
#: relates_to, duplicate, start_before, finish_before...).
BLOCKED_BY = "blocked_by"
DEPENDENCY = "dependency"

Handler = Callable[[Batch, dict[str, Any]], None]


def verify(secret: bytes, raw_body: bytes, headers: Headers, now: datetime | None = None) -> None:
    """Raise SignatureError unless `X-Plane-Signature` is the body's HMAC (bare hex)."""
    require_hmac_hex(secret, raw_body, headers, SIGNATURE_HEADER)


def delivery_id(headers: Headers, body: Any) -> str | None:
    """v2's `event_id` (stable across retries); v1 deliveries have no stable id."""
    return opt_text(dig(body, "event_id"))


def normalize(headers: Headers, body: Any) -> list[FlowEvent]:
    payload = need_obj(body, "a Plane webhook body")
    event = opt_text(payload.get("event"))
    if event is None:
        raise PayloadError("event is missing: not a Plane webhook body")
    if event == "issue":  # v1: the model name, the verb is in `action`
        event = f"v1.{opt_text(payload.get('action'))}"
    handler = _EVENTS.get(event)
    if handler is None:
        return []
    data = payload.get("data")
    key = change_key(event, payload) or id_key(
        delivery_id(headers, payload),
        dig(data, "id"),
        dig(data, "updated_at"),
        event,
        content_key(dig(payload, "activity", "field"), dig(payload, "activity", "new_value")),
    )
    batch = Batch(NAME, key)
    handler(batch, payload)
    return batch.events


_VERBS = {"created": "created", "deleted": "deleted", "create": "created", "delete": "deleted"}


def change_key(event: str, payload: dict[str, Any]) -> str | None:
    """The id key of the change itself, the same in a webhook and in the activity history."""
    work_item = opt_text(dig(payload, "data", "id"))
    if work_item is None:
        return None
    verb = event.rsplit(".", 1)[-1].lower().removeprefix("work_item_")
    if verb in _VERBS:
        return f"w{work_item}-{_VERBS[verb]}"
    try:
        at = to_micros(_updated_at(need_obj(payload.get("data"), "data"))) // 1000
    except PayloadError:
        return None
    if not event.startswith("v1."):
        return f"w{work_item}-u{at}"
    activity = payload.get("activity")
    field, old, new = (dig(activity, k) for k in ("field", "old_value", "new_value"))
    return f"w{work_item}-u{at}-{content_key(field, old, new)[:16]}"


def _state(data: dict[str, Any]) -> str | None:
    """The state as the payload gives it: its name when expanded, else its id."""
    for candidate in (
        dig(data, "state", "name"),
        dig(data, "state_detail", "name"),
        data.get("state_id"),
        data.get("state"),
    ):
        if (found := opt_text(candidate)) is not None:
            return found
    return None


def _labels(data: dict[str, Any]) -> tuple[str, ...] | None:
    """Label names when the payload expands them, else label ids (v2 sends `label_ids`);
    sorted, as a set (the order varies between payloads)."""
    found = names(data.get("labels")) or names(data.get("label_ids"))
    return None if found is None else tuple(sorted(found))


def holder(data: dict[str, Any]) -> str | None:
    """The lowest current assignee id: one holder whatever the order Plane lists them in.
    v2's `assignee_ids: []` is "none" (""); v1's `assignees: []` is not expanded: unknown."""
    v2 = names(data.get("assignee_ids"), "id")
    if v2 is not None:
        return min(v2) if v2 else ""
    v1 = names(data.get("assignees"), "id")
    return min(v1) if v1 else None


def parent_of(data: dict[str, Any], project: str) -> str | None:
    """The parent work item, qualified as an item; "" when the payload says it has none."""
    for key in ("parent_id", "parent"):
        if key in data:
            value = data[key]
            found = opt_text(dig(value, "id") if isinstance(value, dict) else value)
            return f"plane:{project}/{found}" if found else ""
    return None


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    work_item = need_text(data.get("id"), "data.id")
    project = need_text(data.get("project_id") or data.get("project"), "data.project_id")
    labels = _labels(data)
    return {
        "item": f"plane:{project}/{work_item}",
        "project": project,
        "kind": "work_item",
        "labels": labels,
        "item_type": type_from_labels(labels),
        "assignee": holder(data),
        "parent": parent_of(data, project),
    }


def _updated_at(data: dict[str, Any]) -> datetime:
    return when(
        (data.get("updated_at"), "data.updated_at"),
        (data.get("last_activity_at"), "data.last_activity_at"),
    )


def _created(batch: Batch, payload: dict[str, Any]) -> None:
    data = need_obj(payload.get("data"), "data")
    at = when((data.get("created_at"), "data.created_at"), (data.get("updated_at"), "updated"))
    fields = _fields(data)
    batch.add("created", at=at, state=_state(data), **fields)
    initial_labels(batch, at, fields)


def _updated(batch: Batch, payload: dict[str, Any]) -> None:
    """v2: the current state (a repeat of the same state moves nothing) and label id changes."""
    data = need_obj(payload.get("data"), "data")
    fields = _fields(data)
    at = _updated_at(data)
    state = _state(data)
    if state is not None:
        batch.add("state", at=at, state=state, **fields)
    before = names(dig(payload, "previous_attributes", "label_ids"))
    if before is not None:
        after = fields["labels"] or ()
        for label in sorted(x for x in after if x not in before):
            batch.add("labeled", at=at, label=label, **fields)
        for label in sorted(x for x in before if x not in after):
            batch.add("unlabeled", at=at, label=label, **fields)


def _deleted(batch: Batch, payload: dict[str, Any]) -> None:
    data = need_obj(payload.get("data"), "data")
    if not (data.get("project_id") or data.get("project")):
        return  # v1 deletes carry only the id: the item cannot be named (documented)
    at = when((data.get("deleted_at"), "data.deleted_at"), (data.get("updated_at"), "updated"))
    batch.add("deleted", at=at, **_fields(data))


def _v1_updated(batch: Batch, payload: dict[str, Any]) -> None:
    """v1 sends one delivery per changed field; a state change moves the item, a `blocked_by`
    relation added (a new value) blocks it and one removed (an old value only) unblocks it."""
    field = opt_text(dig(payload, "activity", "field"))
    if field == BLOCKED_BY:
        _v1_blocked_by(batch, payload)
        return
    if field not in {"state", "state_id"}:
        return
    data = need_obj(payload.get("data"), "data")
    state = _state(data) or opt_text(dig(payload, "activity", "new_value"))
    if state is not None:
        batch.add("state", at=_updated_at(data), state=state, **_fields(data))


def _v1_blocked_by(batch: Batch, payload: dict[str, Any]) -> None:
    data = need_obj(payload.get("data"), "data")
    added = opt_text(dig(payload, "activity", "new_value")) is not None
    removed = opt_text(dig(payload, "activity", "old_value")) is not None
    if added == removed:
        return  # neither (or a change of blocker): nothing to say
    fields = _fields(data)
    type_ = "blocked" if added else "unblocked"
    batch.add(type_, at=_updated_at(data), reason=DEPENDENCY, **fields)


_EVENTS: dict[str, Handler] = {
    "workitem.created": _created,
    "workitem.updated": _updated,
    "workitem.deleted": _deleted,
    # How Plane's own capture in the v2 docs spells workitem.updated (an enum's repr):
    "WebhookScope.ScopeChoices.WORK_ITEM_CREATED": _created,
    "WebhookScope.ScopeChoices.WORK_ITEM_UPDATED": _updated,
    "WebhookScope.ScopeChoices.WORK_ITEM_DELETED": _deleted,
    "v1.create": _created,
    "v1.update": _v1_updated,
    "v1.delete": _deleted,
}
