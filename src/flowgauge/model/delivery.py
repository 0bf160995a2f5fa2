"""A raw delivery: one webhook request as the ingester accepted it, before normalization.

The raw topic keeps these whole, so a changed config or a newer adapter can be applied later by
replaying the topic through the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

#: Headers never kept: credentials, and what a proxy adds that means nothing to us.
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "x-gitlab-token", "proxy-authorization"})


@dataclass(frozen=True)
class Delivery:
    source: str
    headers: dict[str, str]
    body: str
    received_at: str
    delivery_id: str

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "source": self.source,
                "headers": self.headers,
                "body": self.body,
                "received_at": self.received_at,
                "delivery_id": self.delivery_id,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Delivery:
        data: Any = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a delivery record must be a JSON object")
        headers = data.get("headers") or {}
        return cls(
            source=str(data["source"]),
            headers={str(k).lower(): str(v) for k, v in headers.items()},
            body=str(data["body"]),
            received_at=str(data.get("received_at", "")),
            delivery_id=str(data.get("delivery_id", "")),
        )


def keep_headers(headers: Any) -> dict[str, str]:
    """Lower-cased headers without credentials (the signature header is kept: it is no secret)."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in SENSITIVE_HEADERS}
