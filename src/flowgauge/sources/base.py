"""What every source module provides, and the errors they raise.

A source is two pure functions over bytes and dicts, so it can be tested with the platforms'
published payloads alone: `verify` (is this request really from the platform?) and `normalize`
(what happened, as canonical `FlowEvent`s). Headers always arrive with lower-cased names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowgauge.model import FlowEvent

Headers = Mapping[str, str]


class SignatureError(Exception):
    """The request is not signed, or not signed with the configured secret (HTTP 401)."""


class PayloadError(ValueError):
    """The body is not a payload of this source (HTTP 400, dead-lettered with this reason)."""


Verify = Callable[..., None]  # (secret: bytes, raw_body: bytes, headers: Headers, *, now) -> None
Normalize = Callable[[Headers, Any], list[FlowEvent]]
DeliveryId = Callable[[Headers, Any], str | None]


@dataclass(frozen=True)
class Source:
    """One provider: its name, signature check, normalizer and delivery-id reader."""

    name: str
    verify: Callable[[bytes, bytes, Headers, datetime | None], None]  # None: no clock check
    normalize: Normalize
    delivery_id: DeliveryId
