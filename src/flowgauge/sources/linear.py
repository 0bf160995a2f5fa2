"""Linear webhooks (docs/sources/linear.md): `Issue` create / update / remove.

Signed with `Linear-Signature: <hex HMAC-SHA256 of the raw body>`; the body's `webhookTimestamp`
(epoch ms, else the `Linear-Timestamp` header) must be within 60 s of `now`. Items are
`linear:<identifier>` (e.g. `linear:ENG-123`), else `linear:<uuid>`; project = the team key.
Event ids are `linear:<Linear-Delivery>:<n>`, or `linear:c-<digest of data.id, updatedAt and
action>:<n>` without the header. Event time: `data.createdAt` on create, else `data.updatedAt`,
falling back to the envelope's `createdAt` (when the action happened).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import FlowEvent
from flowgauge.sources._common import require_hmac_hex
from flowgauge.sources._native import (
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
    """Issue events; [] for comments, projects, cycles and other entity types."""
    payload = need_obj(body, "a Linear webhook body")
    entity = opt_text(payload.get("type"))
    action = opt_text(payload.get("action"))
    if entity is None or action is None:
        raise PayloadError("type and action are required: not a Linear webhook body")
    handler = _ISSUE_ACTIONS.get(action) if entity == "Issue" else None
    if handler is None:
        return []
    data = need_obj(payload.get("data"), "data")
    key = id_key(delivery_id(headers, payload), data.get("id"), data.get("updatedAt"), action)
    batch = Batch(NAME, key)
    handler(batch, payload, data)
    return batch.events


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    identifier = opt_text(data.get("identifier"))
    item = identifier or need_text(data.get("id"), "data.id")
    team = opt_text(dig(data, "team", "key"))
    if team is None and identifier and "-" in identifier:
        team = identifier.rsplit("-", 1)[0]
    labels = names(data.get("labels"))
    return {
        "item": f"linear:{item}",
        "project": team,
        "kind": "issue",
        "labels": labels,
        "item_type": type_from_labels(labels),
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
    if "stateId" in before and (state := _state(data)) is not None:
        batch.add("state", at=at, state=state, **fields)
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
    for label_id in (x for x in new_ids if x not in old_ids):
        batch.add("labeled", at=at, label=by_id.get(label_id) or label_id, **fields)
    for label_id in (x for x in old_ids if x not in new_ids):
        batch.add("unlabeled", at=at, label=label_id, **fields)


def _remove(batch: Batch, payload: dict[str, Any], data: dict[str, Any]) -> None:
    at = when(
        (data.get("archivedAt"), "data.archivedAt"),
        (data.get("updatedAt"), "updatedAt"),
        (payload.get("createdAt"), "createdAt"),
    )
    batch.add("deleted", at=at, **_fields(data))


_ISSUE_ACTIONS: dict[str, Handler] = {"create": _create, "update": _update, "remove": _remove}
