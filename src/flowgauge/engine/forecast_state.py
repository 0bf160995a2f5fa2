"""A stream's forecasts, kept current off the hot path (METRICS.md, "Forecasts").

Per event, only counters move: the not-complete items each configured target selects (±1, as
`engine/aggregate.py` does). At a scrape, the daily throughput samples are H + 1 bisections of
the stream's completed list; the exact distributions (`engine/forecast.py`) are recomputed only
when what they depend on changed: the multiset of daily samples, a target's remaining count,
or the number of whole days to its due date. Otherwise the previous answer is reused.

Matching: a target selects the items not complete, started or not, whose every `match` key
holds one of the listed values, the item's value taken from its latest event naming it.
An item's `item_type`, `team` (also from its assignee through `teams:`) and `parent` are those
its facts carry (engine/item.py, engine/holders.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from flowgauge.engine.forecast import (
    CONFIDENCES,
    DAY_SECONDS,
    HORIZONS,
    Completion,
    DailyThroughput,
    confidence_label,
    how_many,
    when,
)
from flowgauge.engine.item import ItemFacts
from flowgauge.engine.snapshot import StreamForecast, TargetForecast
from flowgauge.model.config import ForecastTarget, StreamConfig

MICROS = 1_000_000
DAY_MICROS = DAY_SECONDS * MICROS
WIP_TARGET = "wip"


def _values(facts: ItemFacts) -> Mapping[str, str | None]:
    return {"item_type": facts.item_type, "team": facts.team, "parent": facts.parent}


def matches(target: ForecastTarget, facts: ItemFacts) -> bool:
    values = _values(facts)
    return all(values.get(key) in accepted for key, accepted in target.match.keys().items())


def daily_samples(completed_until: Callable[[int], int], now: int, days: int) -> tuple[int, ...]:
    """Items completed in (now - (j+1)·24 h, now - j·24 h] for j = 0 … days-1.

    `completed_until(t)` is the number of completed items with completed_at <= t.
    """
    edges = [completed_until(now - j * DAY_MICROS) for j in range(days + 1)]
    return tuple(edges[j] - edges[j + 1] for j in range(days))


def due_end_micros(target: ForecastTarget) -> int | None:
    """Epoch µs of the end (24:00 UTC) of the target's due date."""
    if target.due is None:
        return None
    end = datetime.combine(target.due + timedelta(days=1), time(), tzinfo=UTC)
    return int(end.timestamp()) * MICROS


@dataclass(frozen=True, slots=True)
class _Answer:
    key: tuple[DailyThroughput, int, int | None]
    completion: Completion


class ForecastState:
    """The forecast counters of one stream and the cache of its last answers."""

    def __init__(self, stream: StreamConfig) -> None:
        self.history_days = stream.forecast.days
        self.targets = stream.forecasts
        self._ends = tuple(due_end_micros(t) for t in self.targets)
        self._remaining = [0] * len(self.targets)
        self._how_many: tuple[DailyThroughput, dict[tuple[int, str], int]] | None = None
        self._answers: dict[str, _Answer] = {}
        #: recomputations of the exact distributions (tests and the bench read it)
        self.computations = 0

    def contribute(self, facts: ItemFacts, sign: int) -> None:
        """Add (sign 1) or subtract (sign -1) one item's share of the targets' remaining."""
        if facts.completed_at is not None:
            return
        for index, target in enumerate(self.targets):
            if matches(target, facts):
                self._remaining[index] += sign

    def evaluate(self, now: int, samples: tuple[int, ...], wip: int) -> StreamForecast:
        """The forecasts at `now` from the daily samples and the started WIP."""
        daily = DailyThroughput.of(samples)
        if self._how_many is None or self._how_many[0] != daily:
            self.computations += 1
            counts = how_many(daily, HORIZONS, CONFIDENCES)
            labelled = {(n, confidence_label(c)): k for (n, c), k in counts.items()}
            self._how_many = (daily, labelled)
        targets = [self._target(WIP_TARGET, daily, wip, None, None)]
        for target, end, remaining in zip(self.targets, self._ends, self._remaining, strict=True):
            due_days = None if end is None else (end - now) // DAY_MICROS
            targets.append(self._target(target.name, daily, remaining, due_days, end))
        return StreamForecast(items=dict(self._how_many[1]), targets=tuple(targets))

    def _target(
        self,
        name: str,
        daily: DailyThroughput,
        remaining: int,
        due_days: int | None,
        end: int | None,
    ) -> TargetForecast:
        key = (daily, remaining, due_days)
        answer = self._answers.get(name)
        if answer is None or answer.key != key:
            self.computations += 1
            answer = self._answers[name] = _Answer(key, when(daily, remaining, due_days))
        return TargetForecast(
            target=name,
            remaining=remaining,
            completion={
                confidence_label(c): float(d * DAY_SECONDS)
                for c, d in sorted(answer.completion.days.items())
            },
            due=answer.completion.due,
            due_seconds=None if end is None else end / MICROS,
        )
