"""Quantiles exactly as METRICS.md defines them: linear interpolation between closest ranks.

This is `numpy.quantile`'s default ("linear", type 7). Inputs are integer microseconds in
ascending order (a list or a `SortedList`), so picking the ranks is O(log n) on a SortedList
and the only rounding is the final interpolation and the division into seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from flowgauge.engine.snapshot import Quantiles, quantile_label
from flowgauge.model.micros import MICROS


def quantile(sorted_values: Sequence[int], q: float) -> float:
    """The q-quantile of ascending integer values (microseconds), in the same unit."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("quantile of an empty set is undefined")
    h = (n - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    low, high = sorted_values[lo], sorted_values[hi]
    return low + (h - lo) * (high - low)


def quantiles_seconds(sorted_micros: Sequence[int], qs: Sequence[float]) -> Quantiles:
    """{label: seconds} for each q; {} for an empty set (no sample is exposed)."""
    if len(sorted_micros) == 0:
        return {}
    return {quantile_label(q): quantile(sorted_micros, q) / MICROS for q in qs}


def age_quantiles_seconds(
    now_micros: int, sorted_starts: Sequence[int], qs: Sequence[float]
) -> Quantiles:
    """Quantiles of ages `now - start` from start instants kept in ascending order.

    Ages ascend as starts descend, so the age at rank i is `now - starts[n - 1 - i]`; reading the
    starts backwards avoids building the list of ages (O(log n) per quantile on a SortedList).
    """
    n = len(sorted_starts)
    if n == 0:
        return {}
    result: Quantiles = {}
    for q in qs:
        h = (n - 1) * q
        lo = math.floor(h)
        hi = min(lo + 1, n - 1)
        low = now_micros - sorted_starts[n - 1 - lo]
        high = now_micros - sorted_starts[n - 1 - hi]
        result[quantile_label(q)] = (low + (h - lo) * (high - low)) / MICROS
    return result
