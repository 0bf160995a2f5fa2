"""One stream's handoffs, blocked reasons and flow distribution, kept by ±1 like the rest.

METRICS.md, "Handoffs, blocked reasons, distribution". Two halves, as in `aggregate.py`: what
the items not complete add now (blocked items by reason; started items by dimension value), and
what the items completed in window add (handoffs per item, blocked µs by reason, throughput by
dimension value). Each item adds or removes a handful of counter entries and one value per
handoff kind in a sorted list: O(log n) per item change, integer sums, exact.

Label values come from the tools (teams, parents, reasons), so per stream and dimension (and
for reasons) only the `TOP_VALUES` largest values are shown, the rest summed under `other`
(docs/metrics.md): a scrape sorts the distinct values, never the items.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from sortedcontainers import SortedList

from flowgauge.engine.bulk import change
from flowgauge.engine.holders import HANDOFF_KINDS
from flowgauge.engine.item import ItemFacts
from flowgauge.engine.quantile import quantile
from flowgauge.engine.snapshot import QUANTILES, Quantiles, quantile_label
from flowgauge.model.micros import MICROS

#: The dimensions of the flow distribution (the `dimension` label).
DIMENSIONS: tuple[str, ...] = ("item_type", "team", "parent")
NO_VALUE = "none"  # an item without a value for the dimension (or `null`)
OTHER = "other"  # the values beyond the `TOP_VALUES` largest
TOP_VALUES = 50

K = TypeVar("K", bound=Hashable)


def dimension_values(facts: ItemFacts) -> tuple[tuple[str, str], ...]:
    """(dimension, value) of an item for each of `DIMENSIONS`."""
    return (
        ("item_type", facts.item_type or NO_VALUE),
        ("team", facts.team or NO_VALUE),
        ("parent", facts.parent or NO_VALUE),
    )


def _bump(counts: Counter[K], key: K, by: int) -> None:
    """Add `by` to one count; a count back at 0 is dropped (its series goes with it)."""
    total = counts[key] + by
    if total:
        counts[key] = total
    else:
        del counts[key]


@dataclass(slots=True)
class NowBreakdown:
    """Items not complete: blocked by reason, and the started ones by dimension value."""

    reasons: Counter[str] = field(default_factory=Counter)
    wip: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, facts: ItemFacts, sign: int) -> None:
        for reason in facts.blocked_reasons:
            _bump(self.reasons, reason, sign)
        if facts.started_at is not None:
            for key in dimension_values(facts):
                _bump(self.wip, key, sign)


@dataclass(slots=True)
class WindowBreakdown:
    """Items completed in window: handoffs, blocked µs by reason, throughput by value."""

    handoffs: tuple[SortedList, ...] = field(
        default_factory=lambda: tuple(SortedList() for _ in HANDOFF_KINDS)
    )
    reason_time: Counter[str] = field(default_factory=Counter)
    throughput: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, facts: ItemFacts, sign: int) -> None:
        for values, count in zip(self.handoffs, facts.handoffs, strict=True):
            change(values, count, sign)
        for reason, micros in facts.reason_time:
            _bump(self.reason_time, reason, sign * micros)
        for key in dimension_values(facts):
            _bump(self.throughput, key, sign)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """What a scrape shows of both halves (values capped at `TOP_VALUES` + `other`)."""

    handoffs: dict[str, Quantiles]  # kind -> quantile label -> handoffs per item
    reason_seconds: dict[str, float]
    reason_items: dict[str, int]
    wip: dict[str, dict[str, int]]  # dimension -> value -> items
    throughput: dict[str, dict[str, int]]


def breakdown(now: NowBreakdown, window: WindowBreakdown) -> Breakdown:
    """The breakdown samples of a stream from its two halves."""
    handoffs = {
        kind: {quantile_label(q): quantile(values, q) for q in QUANTILES}
        for kind, values in zip(HANDOFF_KINDS, window.handoffs, strict=True)
        if values
    }
    return Breakdown(
        handoffs=handoffs,
        reason_seconds={r: us / MICROS for r, us in capped(window.reason_time).items()},
        reason_items=capped(now.reasons),
        wip=_by_dimension(now.wip),
        throughput=_by_dimension(window.throughput),
    )


def _by_dimension(counts: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    split: dict[str, dict[str, int]] = {dimension: {} for dimension in DIMENSIONS}
    for (dimension, value), n in counts.items():
        split[dimension][value] = n
    return {dimension: capped(values) for dimension, values in split.items() if values}


def capped(counts: Mapping[str, int]) -> dict[str, int]:
    """The `TOP_VALUES` largest counts (ties by name) as they are, the rest summed as `other`
    (added to a value named `other` if there is one); in name order, so that the samples come
    in the same order whatever order the items came in."""
    if len(counts) <= TOP_VALUES:
        return dict(sorted(counts.items()))
    ranked = sorted(counts.items(), key=lambda entry: (-entry[1], entry[0]))
    shown = dict(ranked[:TOP_VALUES])
    rest = sum(n for _, n in ranked[TOP_VALUES:])
    shown[OTHER] = shown.get(OTHER, 0) + rest
    return dict(sorted(shown.items()))
