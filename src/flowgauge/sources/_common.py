"""Helpers shared by the source modules: the HMAC header check and payload reading."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowgauge.signing import hmac_hex, same
from flowgauge.sources.base import Headers, PayloadError, SignatureError


def require_hmac_hex(
    secret: bytes, raw_body: bytes, headers: Headers, header: str, prefix: str = ""
) -> None:
    """Check `header: <prefix><hex HMAC-SHA256 of the raw body>` in constant time."""
    given = headers.get(header)
    if not given:
        raise SignatureError(f"missing {header} header")
    if not same(given.strip().lower(), prefix + hmac_hex(secret, raw_body)):
        raise SignatureError(f"{header} does not match the configured secret")


def obj(value: Any, what: str) -> dict[str, Any]:
    """The value as a JSON object, or a PayloadError naming what was expected."""
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be a JSON object")
    return value


def text(value: Any, what: str) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(f"{what} is missing or not a string")


def timestamp(value: Any, what: str) -> datetime:
    """An RFC 3339 / ISO 8601 time with offset (or epoch milliseconds) as an aware datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000.0, tz=UTC)
    if not isinstance(value, str):
        raise PayloadError(f"{what} is missing or not a time")
    raw = value.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    if len(raw) > 5 and raw[-5] in "+-" and raw[-4:].isdigit():  # Jira: -0800
        raw = raw[:-2] + ":" + raw[-2:]
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise PayloadError(f"{what} is not an RFC 3339 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise PayloadError(f"{what} has no UTC offset: {value!r}")
    return parsed
