"""The dead-letter record: what could not be turned into events, why, and the thing itself.

Written by the ingester (a delivery its adapter refused) and by the worker (a record it cannot
read, a delivery of the old raw format its adapter refuses), read by people and by the tests:
one JSON object `{"reason", "source", "delivery"}`, `delivery` being the record as it was
received (a delivery record's JSON, or an events-topic record), as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class DeadLetter:
    """`source`: the delivery's source, or the topic role (`raw`, `events`) of an unreadable
    record, which is also the label of `flowgauge_dead_letters_total`."""

    reason: str
    source: str
    delivery: str

    @classmethod
    def of(cls, record: bytes, reason: str, source: str) -> DeadLetter:
        return cls(reason=reason, source=source, delivery=record.decode("utf-8", "replace"))

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {"reason": self.reason, "source": self.source, "delivery": self.delivery}
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> DeadLetter:
        data: Any = orjson.loads(raw)
        return cls(
            reason=str(data["reason"]), source=str(data["source"]), delivery=str(data["delivery"])
        )
