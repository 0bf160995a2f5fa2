"""A verified request into a delivery record: parsed once, normalized once. Pure, no I/O.

The ingester runs this for every signed delivery and puts the record on the raw topic, keyed by
its first event's partition key (`flowgauge.keys`); the worker then only routes the events. What
an adapter refuses, whatever it raises, becomes a dead letter with the reason, never an
exception: an adapter bug (in `normalize`, or anything but a SignatureError from `verify`) costs
one delivery a 400 and a dead-letter record, not a 500 with nothing stored. `flowgauge replay
--to topic` and the worker (for records of format 1) run the same code, so a delivery's events
are the same wherever it is normalized.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from flowgauge.keys import raw_record_key
from flowgauge.model import FlowEvent
from flowgauge.model.deadletter import DeadLetter
from flowgauge.model.delivery import Delivery, keep_headers
from flowgauge.sources import REGISTRY, PayloadError, Source


@dataclass(frozen=True)
class Intake:
    """What one delivery became: the record for the raw topic, or a reason to dead-letter it.

    `delivery` carries its events when accepted and is the request as received when refused.
    """

    delivery: Delivery
    error: str | None = None

    @property
    def events(self) -> tuple[FlowEvent, ...]:
        return self.delivery.events or ()

    def raw_record(self) -> tuple[bytes, bytes]:
        """(key, value) of the raw-topic record: keyed where its first event's state lives."""
        return raw_record_key(self.events, self.delivery.delivery_id), self.delivery.to_bytes()

    def dead_letter(self) -> tuple[bytes, bytes]:
        """(key, value) of the dead-letter record: keyed by the delivery id."""
        record = DeadLetter.of(self.delivery.to_bytes(), self.error or "", self.delivery.source)
        return _key(self.delivery.delivery_id), record.to_bytes()


def take(source: Source, raw: bytes, headers: Mapping[str, str], received_at: str) -> Intake:
    """Parse the body once, read its delivery id, normalize it once."""
    kept = keep_headers(headers)
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        delivery = _delivery(source.name, kept, raw, received_at, _content_id(raw))
        return Intake(delivery, f"body is not JSON: {exc}")
    delivery = _delivery(source.name, kept, raw, received_at, _delivery_id(source, kept, body, raw))
    events, error = run_adapter(source, kept, body)
    if error is not None:
        return Intake(delivery, error)
    return Intake(delivery.with_events(events))


def refused(
    source: Source, raw: bytes, headers: Mapping[str, str], received_at: str, reason: str
) -> Intake:
    """A delivery refused before its adapter ran (its `verify` failed with a bug), as received."""
    kept = keep_headers(headers)
    try:
        delivery_id = _delivery_id(source, kept, orjson.loads(raw), raw)
    except orjson.JSONDecodeError:
        delivery_id = _content_id(raw)
    return Intake(_delivery(source.name, kept, raw, received_at, delivery_id), reason)


def failure(step: str, exc: Exception) -> str:
    """The dead-letter reason of an adapter bug: the step and what it raised."""
    return f"{step} failed: {type(exc).__name__}: {exc}"


def take_recorded(delivery: Delivery) -> Intake:
    """A delivery recorded as received (format 1, a replayed file) through its adapter."""
    source = REGISTRY.get(delivery.source)
    if source is None:
        return Intake(delivery.as_received(), f"unknown source {delivery.source!r}")
    try:
        body: Any = orjson.loads(delivery.body)
    except orjson.JSONDecodeError as exc:
        return Intake(delivery.as_received(), f"body is not JSON: {exc}")
    events, error = run_adapter(source, delivery.headers, body)
    if error is not None:
        return Intake(delivery.as_received(), error)
    return Intake(delivery.with_events(events))


def run_adapter(
    source: Source, headers: Mapping[str, str], body: Any
) -> tuple[list[FlowEvent], str | None]:
    """The adapter's events, or the reason it refused the payload (any exception is one)."""
    try:
        return source.normalize(headers, body), None
    except PayloadError as exc:
        return [], str(exc)
    except Exception as exc:  # an adapter bug: this delivery is dead-lettered, nothing else
        return [], failure("normalize", exc)


def _delivery(
    source: str, headers: dict[str, str], raw: bytes, received_at: str, delivery_id: str
) -> Delivery:
    return Delivery(
        source=source,
        headers=headers,
        body=raw.decode("utf-8", "replace"),
        received_at=received_at,
        delivery_id=delivery_id,
    )


def _delivery_id(source: Source, headers: Mapping[str, str], body: Any, raw: bytes) -> str:
    """The platform's delivery id; with none (or an unreadable one) the content is the id."""
    try:
        given = source.delivery_id(headers, body)
    except Exception:  # an adapter's id reader must not lose the delivery either
        given = None
    return given or _content_id(raw)


def _content_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _key(delivery_id: str) -> bytes:
    return delivery_id.encode("utf-8", "surrogatepass")
