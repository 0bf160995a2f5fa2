"""The generic JSON feed (CONTRACT.md, "Generic events").

Signed with `X-Flowgauge-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. The body is one
event object or an array of them; each must validate as a `FlowEvent` of a generic type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from flowgauge.model import GENERIC_TYPES, FlowEvent
from flowgauge.sources._common import require_hmac_hex
from flowgauge.sources.base import Headers, PayloadError

NAME = "generic"
SIGNATURE_HEADER = "x-flowgauge-signature"
_SOURCE_FIELDS = frozenset({"source", "label", "labels", "kind", "project", "links"})
#: Fields whose `null` says "none from this event on" (CONTRACT.md): carried as "" so that it
#: stays apart from "not given" (None) through storage, which drops defaults.
_NULL_MEANS_NONE = ("assignee", "team", "parent")
_REASON_TYPES = frozenset({"blocked", "unblocked"})


def verify(secret: bytes, raw_body: bytes, headers: Headers, now: datetime | None = None) -> None:
    """Raise SignatureError unless the body carries our HMAC-SHA256 signature."""
    require_hmac_hex(secret, raw_body, headers, SIGNATURE_HEADER, prefix="sha256=")


def normalize(headers: Headers, body: Any) -> list[FlowEvent]:
    """Validate each generic event; any invalid one refuses the whole delivery (400)."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise PayloadError("empty array: no events")
    return [_event(index, raw) for index, raw in enumerate(items)]


def _event(index: int, raw: Any) -> FlowEvent:
    where = f"event {index}"
    if not isinstance(raw, dict):
        raise PayloadError(f"{where}: must be a JSON object")
    if raw.get("type") not in GENERIC_TYPES:
        raise PayloadError(f"{where}: type must be one of {', '.join(sorted(GENERIC_TYPES))}")
    if raw.get("type") == "state" and not raw.get("state"):
        raise PayloadError(f"{where}: a state event needs a state")
    if raw.get("reason") is not None and raw.get("type") not in _REASON_TYPES:
        raise PayloadError(f"{where}: reason: only blocked and unblocked events carry a reason")
    fields = {k: v for k, v in raw.items() if k not in _SOURCE_FIELDS}
    for name in _NULL_MEANS_NONE:
        if name in fields and fields[name] is None:
            fields[name] = ""
    item = fields.get("item")
    if isinstance(item, str) and item and not item.startswith("generic:"):
        fields["item"] = f"generic:{item}"
    try:
        return FlowEvent.model_validate({**fields, "source": NAME})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "event"
        raise PayloadError(f"{where}: {loc}: {first['msg']}") from None


def delivery_id(headers: Headers, body: Any) -> str | None:
    """Generic events carry their own ids; a delivery has none of its own."""
    return headers.get("x-flowgauge-delivery")
