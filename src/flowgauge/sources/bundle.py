"""Item-grouped records: one raw record carrying many deliveries of one source (an import).

`flowgauge import` writes an item's whole history as ONE record, so a running worker absorbs it
in one step instead of one record per change. The record is a delivery of the source with the
header `x-flowgauge-bundle: 1` and a body that is a JSON array of `{"headers": {...}, "body":
...}`: each part is normalized by the source's own `normalize`, exactly as if it had arrived as a
webhook, so ids and events are those of the webhooks (docs/sources/README.md).
"""

from __future__ import annotations

from typing import Any

import orjson

from flowgauge.model import FlowEvent
from flowgauge.sources.base import Headers, Normalize, PayloadError

BUNDLE_HEADER = "x-flowgauge-bundle"


def bundled(normalize: Normalize) -> Normalize:
    """`normalize`, also accepting a bundle: the events of each part, in order."""

    def run(headers: Headers, body: Any) -> list[FlowEvent]:
        if headers.get(BUNDLE_HEADER) != "1":
            return normalize(headers, body)
        if not isinstance(body, list):
            raise PayloadError("a bundle body must be a JSON array of deliveries")
        events: list[FlowEvent] = []
        for index, part in enumerate(body):
            if not isinstance(part, dict) or not isinstance(part.get("headers", {}), dict):
                raise PayloadError(f"bundle part {index}: must be {{headers, body}}")
            part_headers = {str(k).lower(): str(v) for k, v in part.get("headers", {}).items()}
            try:
                events.extend(normalize(part_headers, part.get("body")))
            except PayloadError as exc:
                raise PayloadError(f"bundle part {index}: {exc}") from None
        return events

    return run


def bundle_part(headers: dict[str, str], body: Any) -> bytes:
    """One part of a bundle body, encoded."""
    return orjson.dumps({"headers": headers, "body": body})


def bundle_text(parts: list[bytes]) -> str:
    """The bundle body (a JSON array) of encoded parts."""
    return (b"[" + b",".join(parts) + b"]").decode()
