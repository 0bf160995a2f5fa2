"""Forecasts exactly as METRICS.md ("Forecasts") defines them, fast enough for every stream.

The answers are the ones the integer counts of day sequences give (`engine/forecast_exact.py`),
but counting in integers costs ~0.3 s for 500 items some 260 days out (the counts grow by
log2(H) bits a day), and the bench asks < 50 ms for 90 days of history and 500 items. So the
days are walked with a float64 convolution (`numpy.convolve`: sums of nonnegative products)
whose rounding error has a proven bound (`_float_error`). Where a float lies farther from a
threshold than that bound, the integer comparison is known to give the same answer; where it
does not (a near-tie, or an exact tie such as P = 1/2), the integers are computed and decide.
Either way every "P(...) >= c" decision is the integer one.

Pure math: no Faust, no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from flowgauge.engine.forecast_exact import (
    CONFIDENCES,
    DAY_SECONDS,
    HORIZONS,
    MAX_DAYS,
    MAX_DUE_DAYS,
    Completion,
    DailyThroughput,
    PackedCounts,
    confidence_label,
    how_many_exact,
    probability_at_least,
    when_exact,
)

__all__ = [
    "CONFIDENCES",
    "DAY_SECONDS",
    "HORIZONS",
    "MAX_DAYS",
    "MAX_DUE_DAYS",
    "Completion",
    "DailyThroughput",
    "completion_curve",
    "confidence_label",
    "how_many",
    "how_many_exact",
    "probability_at_least",
    "tail_curves",
    "when",
    "when_exact",
]

Floats = NDArray[np.float64]

_UNIT = 2.0**-53  # float64 unit roundoff
_TINY = 2.0**-1074  # the smallest subnormal: the most an underflow can lose per operation


def _gamma(n: int) -> float:
    """Higham's gamma_n = n·u / (1 - n·u): the relative error bound of n float operations."""
    return n * _UNIT / (1 - n * _UNIT)


def _float_error(days: int, terms: int, slots: int) -> tuple[float, float]:
    """(relative, absolute) bound of the float P(S_days < R) against the exact one.

    Each convolution output is a sum of at most `terms` nonzero products of nonnegative floats
    (in any order, with or without fused multiply-adds), one factor of each a probability
    p_v = w_v / total rounded once: each day multiplies every coefficient's relative error by at
    most 1 + gamma_{terms+2}; the final sum of at most `slots` coefficients adds gamma_slots.
    Underflow adds at most one subnormal per operation. The bound is then doubled and padded for
    the rounding of the thresholds themselves.
    """
    relative = (1 + _gamma(terms + 2)) ** days * (1 + _gamma(slots)) - 1
    absolute = days * slots * (terms + 1) * _TINY
    return 2 * relative + 1e-12, 2 * absolute


def _probabilities(daily: DailyThroughput) -> Floats:
    """p_v = w_v / total for v = 0 … largest (0 where no day completed v items)."""
    probabilities = np.zeros(daily.largest + 1)
    for v, weight in daily.weights:
        probabilities[v] = weight / daily.total
    return probabilities


def how_many(
    daily: DailyThroughput,
    horizons: Sequence[int] = HORIZONS,
    confidences: Sequence[Fraction] = CONFIDENCES,
) -> dict[tuple[int, Fraction], int]:
    """(N, c) -> the largest k with P(S_N >= k) >= c (0 when every sample is 0).

    P(S_N >= k) never increases with k: the float tail gives a candidate k, and the answer is
    the candidate when the error bound shows P(S_N >= k) >= c and P(S_N >= k + 1) < c; else
    the integers (`how_many_exact`) give it for that N and c.
    """
    terms = len(daily.weights)
    result: dict[tuple[int, Fraction], int] = {}
    for n, tail in _tails(daily, horizons):
        bounds = _float_error(n, terms, len(tail))
        for c in confidences:
            level = float(c)
            k = int(np.flatnonzero(tail >= level)[-1]) if tail[0] >= level else 0
            upper = float(tail[k + 1]) if k + 1 < len(tail) else 0.0
            if _above(float(tail[k]), level, *bounds) and _below(upper, level, *bounds):
                result[(n, c)] = k
            else:
                result[(n, c)] = how_many_exact(daily, (n,), (c,))[(n, c)]
    return result


def _tails(daily: DailyThroughput, horizons: Sequence[int]) -> Iterator[tuple[int, Floats]]:
    """(N, tail) per horizon, ascending, with tail[k] = P(S_N >= k) in floats (k = 0 … N·max)."""
    probabilities = _probabilities(daily)
    distribution: Floats = np.array([1.0])
    for n in range(1, max(horizons) + 1):
        distribution = np.convolve(distribution, probabilities)
        if n in horizons:
            yield n, np.cumsum(distribution[::-1])[::-1]


def tail_curves(
    daily: DailyThroughput, horizons: Sequence[int] = HORIZONS
) -> dict[int, list[float]]:
    """N -> [P(S_N >= k) for k = 0 … N·largest]: the how-many distribution, for charts.

    The floats `how_many` starts from (within `_float_error` of the exact values); a chart's
    confidence lines take their k from `how_many`, which the integers decide at near-ties.
    """
    return {n: tail.tolist() for n, tail in _tails(daily, horizons)}


def completion_curve(daily: DailyThroughput, remaining: int, days: int) -> list[float]:
    """[P(S_d >= R) for d = 1 … days]: the `when` distribution of R items, for charts.

    The same float walk as `when` (each day's P(S_d < R) within `_float_error` of the exact
    one); the days a chart marks come from `when`, which the integers decide at near-ties.
    """
    if remaining <= 0:
        return [1.0] * days
    probabilities = _probabilities(daily)
    below: Floats = np.array([1.0])
    curve: list[float] = []
    for _ in range(days):
        below = _next_below(below, probabilities, remaining)
        curve.append(1.0 - float(below.sum()))
    return curve


def _next_below(below: Floats, probabilities: Floats, remaining: int) -> Floats:
    """One more day of P(S_d = s) for s < R (the sums at or above R are done: dropped)."""
    return np.convolve(below, probabilities)[:remaining]


def _above(value: float, level: float, relative: float, absolute: float) -> bool:
    """The exact value behind `value` is > level (proven by the error bound; the exact level
    is within one rounding of the float `level`, which the bound's padding covers)."""
    return value * (1 - relative) - absolute > level * (1 + _UNIT)


def _below(value: float, level: float, relative: float, absolute: float) -> bool:
    """The exact value behind `value` is < level (proven by the error bound)."""
    return value * (1 + relative) + absolute < level * (1 - _UNIT)


class _ExactBelow:
    """count(S_d < R) and H^d in integers, walked forward on demand (near-ties only)."""

    def __init__(self, daily: DailyThroughput, remaining: int) -> None:
        self._packed = PackedCounts(daily, remaining)

    def meets(self, days: int, c: Fraction) -> bool:
        """P(S_days >= R) >= c, decided by the integer counts."""
        while self._packed.days < days:
            self._packed.step()
        below, denominator = self._packed.below(), self._packed.denominator
        return c.denominator * below <= (c.denominator - c.numerator) * denominator


def when(
    daily: DailyThroughput,
    remaining: int,
    due_days: int | None = None,
    confidences: Sequence[Fraction] = CONFIDENCES,
) -> Completion:
    """Smallest d with P(S_d >= R) >= c per confidence, and P(S_due >= R) as a float.

    The days are exactly `when_exact`'s (see the module docstring). The due probability is the
    float convolution's value (within 1e-9 of P), moved to the right side of each confidence
    whose day is known: so `due < c` holds exactly when the c-forecast ends after the due date.
    """
    if remaining <= 0 or daily.all_zero:
        return when_exact(daily, remaining, due_days, confidences)  # no walk: answered at once
    past_due = due_days is not None and due_days <= 0  # S_0 = 0 < R: cannot finish, P = 0
    if past_due or (due_days is not None and due_days > MAX_DUE_DAYS):
        due_days = None  # beyond MAX_DUE_DAYS: not exposed (docs/forecasts.md)
    probabilities, terms = _probabilities(daily), len(daily.weights)
    below: Floats = np.array([1.0])
    exact = _ExactBelow(daily, remaining)
    days: dict[Fraction, int] = {}
    pending = sorted(confidences)
    due: float | None = None
    d = 0
    while pending or (due_days is not None and due is None):
        d += 1
        below = _next_below(below, probabilities, remaining)
        mass = float(below.sum())  # P(S_d < R), approximately
        relative, absolute = _float_error(d, terms, len(below))
        while pending and _meets(mass, pending[0], relative, absolute, exact, d):
            days[pending.pop(0)] = d
        if d == MAX_DAYS:
            pending = []  # not exposed beyond MAX_DAYS
        if due_days is not None and due is None and (d == due_days or 1.0 - mass == 1.0):
            due = 1.0 - mass  # P only grows with d: once it rounds to 1.0 it stays there
    if due is None:
        return Completion(days, 0.0 if past_due else None)
    return Completion(days, _consistent(due, due_days, days, confidences))


def _meets(
    mass: float, c: Fraction, relative: float, absolute: float, exact: _ExactBelow, d: int
) -> bool:
    """P(S_d >= R) >= c: the float where its error bound decides, else the integers."""
    threshold = float(1 - c)  # P(S_d < R) <= 1 - c
    if _below(mass, threshold, relative, absolute):
        return True
    if _above(mass, threshold, relative, absolute):
        return False  # P(S_d < R) > 1 - c
    return exact.meets(d, c)


def _consistent(
    due: float, due_days: int | None, days: dict[Fraction, int], confidences: Sequence[Fraction]
) -> float:
    """The float due probability, on the exact side of every confidence whose day is known
    (or known to be beyond MAX_DAYS): P(S_due >= R) >= c exactly when due_days >= d_c."""
    assert due_days is not None
    for c in confidences:
        level = float(c)
        found = days.get(c)
        if found is not None and due_days >= found:
            due = max(due, level)
        elif (found is not None or due_days <= MAX_DAYS) and due >= level:
            due = math.nextafter(level, 0.0)
    return min(max(due, 0.0), 1.0)
