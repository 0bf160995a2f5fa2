"""Microseconds, the engine's time unit (model/micros.py): exact integers for any time or duration,
where float seconds would round (`total_seconds()` keeps 53 bits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from flowgauge.model.micros import DAY_MICROS, MICROS, duration_micros, to_micros

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@given(st.timedeltas())
def test_a_duration_is_its_exact_count_of_microseconds(delta: timedelta) -> None:
    micros = duration_micros(delta)
    assert isinstance(micros, int)
    assert micros == delta // timedelta(microseconds=1)
    assert timedelta(microseconds=micros) == delta


@given(st.datetimes(timezones=st.just(UTC)))
def test_a_time_round_trips_through_epoch_microseconds(at: datetime) -> None:
    assert EPOCH + timedelta(microseconds=to_micros(at)) == at


def test_float_seconds_would_round_where_integers_do_not() -> None:
    """The reason there is no float on the way: a long duration plus one microsecond."""
    delta = timedelta(days=200_000, microseconds=1)
    assert duration_micros(delta) == 200_000 * DAY_MICROS + 1
    assert round(delta.total_seconds() * MICROS) != duration_micros(delta)
