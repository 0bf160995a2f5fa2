"""A delivery record: one webhook request as the ingester accepted it, and its events.

The ingester parses and normalizes a delivery once and puts this record on the raw topic: the
request as received (source, kept headers, body, delivery id) and, since format 2, the canonical
events its adapter made of it. The worker routes those events and never runs an adapter again;
the body stays so that a dump of the raw topic can be replayed through a newer adapter
(`flowgauge replay`, `flowgauge report`) and a dead letter shows what was sent.

Format 1 (before issue 15) had no `events` (and no `v`): the worker still reads it and
normalizes it itself, so records already on a topic keep working. Both formats give the same
event ids: they come from the adapter and the payload, never from the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from flowgauge.model.events import FlowEvent

#: Headers never kept: credentials, and what a proxy adds that means nothing to us.
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "x-gitlab-token", "proxy-authorization"})
#: The record format written now: 2 carries the normalized events.
FORMAT = 2


@dataclass(frozen=True)
class Delivery:
    """`events` is None for a record of format 1 (or a delivery not normalized yet)."""

    source: str
    headers: dict[str, str]
    body: str
    received_at: str
    delivery_id: str
    events: tuple[FlowEvent, ...] | None = None

    def with_events(self, events: Sequence[FlowEvent]) -> Delivery:
        return Delivery(
            self.source, self.headers, self.body, self.received_at, self.delivery_id, tuple(events)
        )

    def as_received(self) -> Delivery:
        """The request alone: what a dead letter keeps and what a replay normalizes afresh."""
        if self.events is None:
            return self
        return Delivery(self.source, self.headers, self.body, self.received_at, self.delivery_id)

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "source": self.source,
            "headers": self.headers,
            "body": self.body,
            "received_at": self.received_at,
            "delivery_id": self.delivery_id,
        }
        if self.events is not None:
            data["v"] = FORMAT
            data["events"] = [e.model_dump(mode="json", exclude_defaults=True) for e in self.events]
        return orjson.dumps(data)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Delivery:
        """Either format; a ValueError (or KeyError, TypeError) for anything else."""
        data: Any = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a delivery record must be a JSON object")
        headers = data.get("headers") or {}
        events = data.get("events")
        if events is not None and not isinstance(events, list):
            raise ValueError("a delivery record's events must be a list")
        return cls(
            source=str(data["source"]),
            headers={str(k).lower(): str(v) for k, v in headers.items()},
            body=str(data["body"]),
            received_at=str(data.get("received_at", "")),
            delivery_id=str(data.get("delivery_id", "")),
            events=None if events is None else tuple(FlowEvent.model_validate(e) for e in events),
        )


def keep_headers(headers: Any) -> dict[str, str]:
    """Lower-cased headers without credentials (the signature header is kept: it is no secret)."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in SENSITIVE_HEADERS}
