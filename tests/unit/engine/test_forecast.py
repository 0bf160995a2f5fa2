"""Exact forecasts (engine/forecast.py): hand-computed cases, edges, and properties.

The reference below convolves plain lists of Fractions, a different computation from the packed
integers of the engine; a seeded Monte Carlo run checks both against what practitioners do.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgauge.engine import forecast
from flowgauge.engine.forecast import (
    CONFIDENCES,
    MAX_DAYS,
    DailyThroughput,
    confidence_label,
    how_many,
    how_many_exact,
    probability_at_least,
    when,
    when_exact,
)

HALF, P85, P95 = CONFIDENCES


def reference_distribution(samples: list[int], days: int) -> list[Fraction]:
    """P(S_days = s) for every s, by convolving the empirical distribution `days` times."""
    one = [Fraction(0)] * (max(samples) + 1)
    for v in samples:
        one[v] += Fraction(1, len(samples))
    dist = [Fraction(1)]
    for _ in range(days):
        out = [Fraction(0)] * (len(dist) + len(one) - 1)
        for i, a in enumerate(dist):
            for j, b in enumerate(one):
                out[i + j] += a * b
        dist = out
    return dist


def reference_at_least(samples: list[int], days: int, k: int) -> Fraction:
    return sum(reference_distribution(samples, days)[k:], Fraction(0))


def test_labels_are_the_contract_values() -> None:
    assert [confidence_label(c) for c in CONFIDENCES] == ["0.5", "0.85", "0.95"]


@pytest.mark.parametrize("k", [1, 3, 7])
def test_constant_throughput_gives_k_times_n_at_every_confidence(k: int) -> None:
    daily = DailyThroughput.of([k] * 30)
    assert set(how_many(daily).values()) == {k * 7, k * 14, k * 30}
    for n in (7, 14, 30):
        assert {how_many(daily)[(n, c)] for c in CONFIDENCES} == {k * n}
    # 42 items at k a day: ceil(42 / k) days, whatever the confidence
    assert when(daily, 42).days == dict.fromkeys(CONFIDENCES, -(-42 // k))


def test_zero_or_two_by_hand() -> None:
    """Days of 0 or 2 items, equally likely. Over two days: 0, 2, 2, 4 (each 1/4).

    P(S_2 >= 4) = 1/4, P(S_2 >= 2) = 3/4, P(S_2 >= 0) = 1: at 0.5 the answer is 2, at 0.85
    and 0.95 it is 0. For 2 remaining items, P(S_d >= 2) = 1 - 2^-d: 1/2 on day 1 (0.5 holds,
    exactly), 3/4, 7/8 on day 3 (>= 0.85), 15/16, 31/32 on day 5 (>= 0.95).
    """
    daily = DailyThroughput.of([0, 2])
    assert how_many(daily, horizons=(2,)) == {(2, HALF): 2, (2, P85): 0, (2, P95): 0}
    assert how_many(daily, horizons=(1,)) == {(1, HALF): 2, (1, P85): 0, (1, P95): 0}
    assert when(daily, 2).days == {HALF: 1, P85: 3, P95: 5}
    assert probability_at_least(daily, 2, 2) == Fraction(3, 4)
    assert probability_at_least(daily, 4, 2) == Fraction(1, 4)
    assert when(daily, 2, due_days=2).due == 0.75


@pytest.mark.parametrize(
    ("samples", "remaining", "due_days", "days", "due"),
    [
        # every sample 0 (no completions in the history): never, and 0 % by any due date
        ([0] * 30, 5, 10, {}, 0.0),
        ([0] * 30, 5, None, {}, None),
        # nothing remains: no `when`, certainly done by the due date
        ([1, 2, 3], 0, 10, {}, 1.0),
        ([0], 0, None, {}, None),
        # past due (or due today) with work left: 0
        ([5] * 10, 3, 0, {HALF: 1, P85: 1, P95: 1}, 0.0),
        ([5] * 10, 3, -4, {HALF: 1, P85: 1, P95: 1}, 0.0),
        # one item every tenth day: beyond MAX_DAYS for 100 items at any confidence
        ([1] + [0] * 9, 100, None, {}, None),
    ],
)
def test_edges(
    samples: list[int],
    remaining: int,
    due_days: int | None,
    days: dict[Fraction, int],
    due: float | None,
) -> None:
    result = when(DailyThroughput.of(samples), remaining, due_days)
    assert result.days == days
    assert result.due == due


def test_every_sample_zero_forecasts_zero_items() -> None:
    assert set(how_many(DailyThroughput.of([0] * 30)).values()) == {0}


def test_a_history_needs_a_day_and_no_negative_counts() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        DailyThroughput.of([])
    with pytest.raises(ValueError, match="negative"):
        DailyThroughput.of([1, -1])


def test_weights_are_reduced_without_changing_probabilities() -> None:
    assert DailyThroughput.of([2, 2, 4, 4]) == DailyThroughput(((2, 1), (4, 1)), 2)


def test_far_due_date_is_one_once_the_float_rounds_to_one() -> None:
    daily = DailyThroughput.of([0, 3, 5])
    assert when(daily, 10, due_days=3000).due == 1.0
    assert when_exact(daily, 10, due_days=100_000).due == 1.0
    # beyond MAX_DAYS and not yet 1.0 as a float: the integer walk does not decide
    assert when_exact(DailyThroughput.of([1] + [0] * 9), 100, due_days=MAX_DAYS + 1).due is None
    # the float walk goes on to the due date (cheap), up to ten years
    slow = DailyThroughput.of([1] + [0] * 9)  # 73 items expected in 731 days: P(>= 100) small
    far = when(slow, 100, due_days=MAX_DAYS + 1).due
    assert far is not None
    assert abs(far - float(probability_at_least(slow, 100, MAX_DAYS + 1))) < 1e-9
    assert when(daily, 10, due_days=100_000).due is None


@settings(max_examples=150, deadline=None)
@given(
    samples=st.lists(st.integers(0, 12), min_size=1, max_size=40),
    remaining=st.integers(1, 300),
    due=st.integers(1, 200),
)
def test_the_float_walk_gives_the_integer_answers(
    samples: list[int], remaining: int, due: int
) -> None:
    """`when` (float walk, integers at near-ties) equals `when_exact` (integers throughout);
    its due probability is within 1e-9 and on the exact side of every confidence."""
    daily = DailyThroughput.of(samples)
    fast, exact = when(daily, remaining, due), when_exact(daily, remaining, due)
    assert fast.days == exact.days
    assert exact.due is not None and fast.due is not None
    assert abs(fast.due - exact.due) <= 1e-9
    for c in CONFIDENCES:
        assert (fast.due >= float(c)) == (probability_at_least(daily, remaining, due) >= c)


@pytest.mark.parametrize(
    ("samples", "remaining"),
    [([0, 2], 2), ([0, 1], 1), ([0, 0, 0, 1], 1), ([0] * 19 + [1], 1), ([1, 3], 4)],
)
def test_exact_ties_are_decided_by_the_integers(samples: list[int], remaining: int) -> None:
    """P(S_d >= R) equal to a confidence exactly (1/2 after one day of {0, 1}; 1 - (19/20)^1
    = 1/20 ...): the float sits on the threshold and the integer counts decide."""
    daily = DailyThroughput.of(samples)
    assert when(daily, remaining).days == when_exact(daily, remaining).days


samples_st = st.lists(st.integers(0, 6), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(samples=samples_st, remaining=st.integers(1, 25), due=st.integers(1, 12))
def test_when_is_the_smallest_day_meeting_each_confidence(
    samples: list[int], remaining: int, due: int
) -> None:
    daily = DailyThroughput.of(samples)
    result = when(daily, remaining, due_days=due)
    expected = reference_at_least(samples, due, remaining)
    assert when_exact(daily, remaining, due_days=due).due == float(expected)
    assert result.due is not None and abs(result.due - float(expected)) <= 1e-9
    if max(samples) == 0:
        assert result.days == {}
        return
    for c in CONFIDENCES:
        d = result.days[c]  # small cases finish well within MAX_DAYS
        assert probability_at_least(daily, remaining, d) >= c
        assert probability_at_least(daily, remaining, d - 1) < c
    assert result.days[HALF] <= result.days[P85] <= result.days[P95]


@settings(max_examples=60, deadline=None)
@given(samples=samples_st, n=st.integers(1, 6))
def test_how_many_is_the_largest_count_meeting_each_confidence(samples: list[int], n: int) -> None:
    got = how_many(DailyThroughput.of(samples), horizons=(n,))
    for c in CONFIDENCES:
        k = got[(n, c)]
        assert reference_at_least(samples, n, k) >= c
        assert reference_at_least(samples, n, k + 1) < c
    assert got[(n, HALF)] >= got[(n, P85)] >= got[(n, P95)]


@settings(max_examples=15, deadline=None)
@given(
    samples=st.lists(st.integers(0, 9), min_size=5, max_size=60),
    remaining=st.integers(1, 120),
    seed=st.integers(0, 2**32 - 1),
)
def test_monte_carlo_agrees_within_sampling_tolerance(
    samples: list[int], remaining: int, seed: int
) -> None:
    """What practitioners run: 200,000 random futures. Its estimate of P(S_d >= R) and
    P(S_30 >= k) at the exact answers lies within 5 standard errors (sqrt(p(1-p)/n) <= 0.0012)."""
    runs, tolerance = 200_000, 0.006
    daily = DailyThroughput.of(samples)
    rng = np.random.default_rng(seed)
    draws = np.asarray(samples)[rng.integers(0, len(samples), size=(runs, 30))]
    totals = draws.sum(axis=1)
    for c, k in ((c, how_many(daily, horizons=(30,))[(30, c)]) for c in CONFIDENCES):
        assert np.mean(totals >= k) >= float(c) - tolerance
        assert np.mean(totals >= k + 1) < float(c) + tolerance
    result = when(daily, remaining)
    for c, d in result.days.items():
        if d > 60:
            continue  # keep the simulated futures short
        days = np.asarray(samples)[rng.integers(0, len(samples), size=(runs, d))].sum(axis=1)
        assert np.mean(days >= remaining) >= float(c) - tolerance
        if d > 1:
            earlier = np.asarray(samples)[rng.integers(0, len(samples), size=(runs, d - 1))]
            assert np.mean(earlier.sum(axis=1) >= remaining) < float(c) + tolerance


@settings(max_examples=150, deadline=None)
@given(samples=st.lists(st.integers(0, 40), min_size=1, max_size=40))
def test_how_many_in_floats_gives_the_integer_answers(samples: list[int]) -> None:
    daily = DailyThroughput.of(samples)
    assert how_many(daily) == how_many_exact(daily)


def test_near_ties_go_to_the_integers_and_clear_cases_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, ...]] = []

    def counting(
        daily: DailyThroughput, horizons: tuple[int, ...], cs: tuple[Fraction, ...]
    ) -> dict[tuple[int, Fraction], int]:
        calls.append(horizons)
        return how_many_exact(daily, horizons, cs)

    monkeypatch.setattr(forecast, "how_many_exact", counting)
    assert how_many(DailyThroughput.of([3] * 30))[(30, P95)] == 90
    assert calls == []  # P(S_30 >= 90) = 1, P(S_30 >= 91) = 0: the floats decide
    # {0, 2} over one day: P(S_1 >= 2) = 1/2 exactly, the 0.5 threshold: the integers decide
    assert how_many(DailyThroughput.of([0, 2]), horizons=(1,))[(1, HALF)] == 2
    assert calls == [(1,)]
