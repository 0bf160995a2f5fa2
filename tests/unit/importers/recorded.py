"""The webhooks a tool sent, as the raw topic (and `flowgauge report`) reads them: one delivery
record a line. The one home of that record's shape for every tool's history builder."""

from __future__ import annotations

from typing import Any

import orjson

Deliveries = list[tuple[dict[str, str], dict[str, Any]]]


def delivery_lines(source: str, id_header: str, deliveries: Deliveries) -> bytes:
    """One record per delivery, its id read from the tool's delivery header."""
    return b"".join(
        orjson.dumps(
            {
                "source": source,
                "headers": headers,
                "body": orjson.dumps(body).decode(),
                "delivery_id": headers[id_header],
            }
        )
        + b"\n"
        for headers, body in deliveries
    )
