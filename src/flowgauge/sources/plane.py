"""Plane work-item webhooks, v2 (`workitem.*`) and the Community Edition's v1 (`issue`).

Signed with `X-Plane-Signature: <hex HMAC-SHA256 of the raw body>` (no prefix). Items are
`plane:<project_id>/<work item id>`, kind `work_item`, project = the project id. Event ids are
`plane:<event_id>:<n>` for v2 (`event_id` is stable across retries; `X-Plane-Delivery` is not),
and for v1, which has no stable id, `plane:c-<digest of work item id, updated_at, action and the
changed field>:<n>`. Event time: the work item's `updated_at` (`created_at` on creation).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import FlowEvent
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
    key = id_key(
        delivery_id(headers, payload),
        dig(data, "id"),
        dig(data, "updated_at"),
        event,
        content_key(dig(payload, "activity", "field"), dig(payload, "activity", "new_value")),
    )
    batch = Batch(NAME, key)
    handler(batch, payload)
    return batch.events


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
    """Label names when the payload expands them, else label ids (v2 sends `label_ids`)."""
    return names(data.get("labels")) or names(data.get("label_ids"))


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
        for label in (x for x in after if x not in before):
            batch.add("labeled", at=at, label=label, **fields)
        for label in (x for x in before if x not in after):
            batch.add("unlabeled", at=at, label=label, **fields)


def _deleted(batch: Batch, payload: dict[str, Any]) -> None:
    data = need_obj(payload.get("data"), "data")
    if not (data.get("project_id") or data.get("project")):
        return  # v1 deletes carry only the id: the item cannot be named (documented)
    at = when((data.get("deleted_at"), "data.deleted_at"), (data.get("updated_at"), "updated"))
    batch.add("deleted", at=at, **_fields(data))


def _v1_updated(batch: Batch, payload: dict[str, Any]) -> None:
    """v1 sends one delivery per changed field; only a state change moves the item."""
    if opt_text(dig(payload, "activity", "field")) not in {"state", "state_id"}:
        return
    data = need_obj(payload.get("data"), "data")
    state = _state(data) or opt_text(dig(payload, "activity", "new_value"))
    if state is not None:
        batch.add("state", at=_updated_at(data), state=state, **_fields(data))


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
