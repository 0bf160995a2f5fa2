"""Microseconds, the engine's time unit: the one place a time or a duration becomes one.

Times are integer epoch microseconds and durations integer microseconds, so sums and differences
of them are exact. They are computed from a `timedelta`'s integer days, seconds and microseconds,
never through float seconds (`total_seconds() * 1e6`): a float holds 53 bits, so that product
rounds, and a rounded value added and later subtracted again leaves a residue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MICROS = 1_000_000  # microseconds per second
DAY_MICROS = 86_400 * MICROS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def duration_micros(delta: timedelta) -> int:
    """A duration in integer microseconds (exact)."""
    return (delta.days * 86_400 + delta.seconds) * MICROS + delta.microseconds


def to_micros(at: datetime) -> int:
    """An aware time as integer epoch microseconds (exact)."""
    return duration_micros(at - _EPOCH)


def from_micros(micros: int) -> datetime:
    """Integer epoch microseconds as an aware UTC time (exact: no float seconds on the way)."""
    return _EPOCH + timedelta(microseconds=micros)
