"""Forecast distributions in integers: counts of day sequences (METRICS.md, "Forecasts").

Monte Carlo draws day sequences from the past days' throughput at random; here every one of the
H^d sequences of d days is counted instead. With `c_v` the number of sampled days that completed
v items, the number of d-day sequences whose sum is s is the coefficient of x^s in
(sum_v c_v x^v)^d: the d-fold convolution of the empirical daily distribution. All counts are
Python integers, and a "P(...) >= c" test is the integer comparison `q * count >= p * H^d` with
c = p/q.

The counts are packed into one big integer per polynomial, one fixed-width slot per coefficient
(Kronecker substitution): a convolution step is then a few shifts, small-integer
multiplications and additions of one big integer, which CPython does in C. A slot can never
overflow into its neighbour, because every coefficient, and every sum of coefficients, counts
distinct sequences and so is at most H^d < 2^width. For `when`, only sums below R matter
(P(S_d >= R) = 1 - count(S_d < R) / H^d), so the polynomial is cut at degree R after each step.

The counts grow by log2(H) bits a day, so this is the reference and the tie-breaker:
`engine/forecast.py` walks the days in floats and comes here only where a float cannot decide.
Pure math: no Faust, no I/O, no clock.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

#: The confidence levels of CONTRACT.md's `confidence` label, as exact fractions.
CONFIDENCES: tuple[Fraction, ...] = (Fraction(1, 2), Fraction(17, 20), Fraction(19, 20))
#: How-many horizons in days.
HORIZONS: tuple[int, ...] = (7, 14, 30)
#: `when` answers beyond this many days are not exposed (METRICS.md).
MAX_DAYS = 730
#: Due dates further away than this get no due probability (it would cost a step per day).
MAX_DUE_DAYS = 10 * 365
DAY_SECONDS = 86_400
#: 1 - P below this rounds P to the float 1.0 (half an ulp below 1.0; ties go to the even 1.0).
_FLOAT_ONE_GAP = Fraction(1, 2**54)


def confidence_label(c: Fraction) -> str:
    """`0.5`, `0.85`, `0.95`: the label value CONTRACT.md writes."""
    return repr(float(c))


@dataclass(frozen=True, slots=True)
class DailyThroughput:
    """The empirical daily throughput distribution: each sampled day equally likely.

    `weights` holds (items completed in a day, weight) for the values that occur, ascending;
    `total` is the sum of the weights. Weights are the day counts divided by their gcd, which
    changes no probability and keeps the integers small.
    """

    weights: tuple[tuple[int, int], ...]
    total: int

    @classmethod
    def of(cls, samples: Iterable[int]) -> DailyThroughput:
        """The distribution of these daily samples (at least one day, none negative)."""
        counts = Counter(samples)
        if not counts:
            raise ValueError("a forecast needs at least one day of history")
        if min(counts) < 0:
            raise ValueError("a day cannot complete a negative number of items")
        g = math.gcd(*counts.values())
        weights = tuple(sorted((v, n // g) for v, n in counts.items()))
        return cls(weights, sum(w for _, w in weights))

    @property
    def all_zero(self) -> bool:
        return self.weights[-1][0] == 0

    @property
    def largest(self) -> int:
        return self.weights[-1][0]


class PackedCounts:
    """Coefficients a[0..slots) of a polynomial with nonnegative integer coefficients, packed
    into one integer, `width` bits per slot (a multiple of 8, so repacking is byte slicing).

    `step` multiplies by the daily polynomial and keeps the first `slots` coefficients; the
    coefficients then count the d-day sequences with each sum below `slots`.
    """

    def __init__(self, daily: DailyThroughput, slots: int, days_capacity: int = 16) -> None:
        self.daily = daily
        self.slots = slots
        self.days = 0
        self.denominator = 1  # total ** days: the number of all d-day sequences
        self._capacity = 0
        self.width = 8
        self.value = 1  # a[0] = 1: the empty sequence sums to 0
        self._grow(days_capacity)

    def _grow(self, days: int) -> None:
        """Widen the slots so that total ** days fits in one (every coefficient is at most it)."""
        capacity = max(days, self._capacity + max(16, self._capacity // 4))
        width = -(-((self.daily.total**capacity).bit_length() + 1) // 8) * 8
        if self.width != width and self.days > 0:
            old, new = self.width // 8, width // 8
            raw = self.value.to_bytes(self.slots * old, "little")
            pad = bytes(new - old)
            self.value = int.from_bytes(
                b"".join(raw[i : i + old] + pad for i in range(0, len(raw), old)), "little"
            )
        self.width, self._capacity = width, capacity
        self._mask = (1 << (self.slots * width)) - 1
        self._folds: list[tuple[int, int]] = []  # (shift, mask) of each halving in `below`
        slots = self.slots
        while slots > 1:
            half = (slots + 1) // 2
            self._folds.append((half * width, (1 << (half * width)) - 1))
            slots = half

    def step(self) -> None:
        """One more day: a[s] <- sum_v weight_v * a[s - v], cut at `slots`."""
        if self.days + 1 > self._capacity:
            self._grow(self.days + 1)
        value, width, total = self.value, self.width, 0
        for v, weight in self.daily.weights:
            if v >= self.slots:
                break
            shifted = value << (v * width) if v else value
            total += shifted * weight if weight != 1 else shifted
        self.value = total & self._mask
        self.days += 1
        self.denominator *= self.daily.total

    def coefficients(self) -> list[int]:
        """a[0..slots), unpacked."""
        size = self.width // 8
        raw = self.value.to_bytes(self.slots * size, "little")
        return [int.from_bytes(raw[i : i + size], "little") for i in range(0, len(raw), size)]

    def below(self) -> int:
        """sum of a[0..slots): the sequences whose sum is below `slots`.

        Folding the slots onto each other adds them in place; no slot sum can overflow, since
        any sum of coefficients counts distinct sequences, at most total ** days.
        """
        value = self.value
        for cut, mask in self._folds:
            value = (value & mask) + (value >> cut)
        return value


def how_many_exact(
    daily: DailyThroughput,
    horizons: Sequence[int] = HORIZONS,
    confidences: Sequence[Fraction] = CONFIDENCES,
) -> dict[tuple[int, Fraction], int]:
    """(N, c) -> the largest k with P(S_N >= k) >= c (0 when every sample is 0), in integers."""
    longest = max(horizons)
    packed = PackedCounts(daily, longest * daily.largest + 1, longest)
    result: dict[tuple[int, Fraction], int] = {}
    for n in range(1, longest + 1):
        packed.step()
        if n not in horizons:
            continue
        counts = packed.coefficients()[: n * daily.largest + 1]
        for c in confidences:
            result[(n, c)] = _largest_at_least(counts, packed.denominator, c)
    return result


def _largest_at_least(counts: list[int], denominator: int, c: Fraction) -> int:
    """The largest k with q * #(S >= k) >= p * denominator, scanning k downwards."""
    need = c.numerator * denominator
    at_least = 0
    for k in range(len(counts) - 1, -1, -1):
        at_least += counts[k]
        if c.denominator * at_least >= need:
            return k
    return 0  # unreachable: #(S >= 0) is every sequence


@dataclass(frozen=True, slots=True)
class Completion:
    """The `when` of R remaining items: days per confidence (a missing confidence: beyond
    MAX_DAYS, or never), and the probability of being done within `due_days`."""

    days: dict[Fraction, int]
    due: float | None  # None: no due date, or one too far away to decide (docs/forecasts.md)


def when_exact(
    daily: DailyThroughput,
    remaining: int,
    due_days: int | None = None,
    confidences: Sequence[Fraction] = CONFIDENCES,
) -> Completion:
    """`when`, all in integers: the due probability is P exactly, rounded once to a float.

    P(S_d >= R) never decreases with d (days add nonnegative counts), so one pass over
    d = 1, 2, ... finds each confidence's d in turn. The due probability reuses the same pass;
    past MAX_DAYS it is only given once P rounds to 1.0 (then it is 1.0 for every later day).
    """
    if remaining <= 0:
        return Completion({}, None if due_days is None else 1.0)
    if due_days is not None and due_days <= 0:
        due: float | None = 0.0  # S_0 = 0 < R: past due (or due today) cannot finish
        due_days = None
    else:
        due = None
    if daily.all_zero:
        return Completion({}, 0.0 if due_days is not None else due)
    days: dict[Fraction, int] = {}
    pending = sorted(confidences)
    packed = PackedCounts(daily, remaining)
    while pending or due_days is not None:
        packed.step()
        d, below, denominator = packed.days, packed.below(), packed.denominator
        while (
            pending
            and pending[0].denominator * below
            <= (pending[0].denominator - pending[0].numerator) * denominator
        ):
            days[pending.pop(0)] = d
        if due_days is not None and (
            d == due_days or below * _FLOAT_ONE_GAP.denominator <= denominator
        ):
            due, due_days = float(Fraction(denominator - below, denominator)), None
        if d >= MAX_DAYS:
            break  # further days are not exposed; a due date beyond them stays unknown
    return Completion(days, due)


def probability_at_least(daily: DailyThroughput, remaining: int, days: int) -> Fraction:
    """P(S_days >= remaining), exactly (for tests and reports)."""
    if remaining <= 0:
        return Fraction(1)
    packed = PackedCounts(daily, remaining, max(days, 1))
    for _ in range(days):
        packed.step()
    return 1 - Fraction(packed.below(), packed.denominator)
