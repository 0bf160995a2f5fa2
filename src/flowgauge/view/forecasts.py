"""The forecast charts: the how-many and when distributions behind `flowgauge_forecast_*`.

The snapshot carries the forecasts' answers only (a k per horizon and confidence, a day per
target and confidence, the due probability), and the engine keeps no distribution between
scrapes. So the curves are computed here, in `build` (an executor thread for the live page,
never on the event loop), from the same daily samples with the same functions: the samples are
`daily_samples` over the captured items' completion times (the set `engine/aggregate.py`
bisects), and the curves are `tail_curves` and `completion_curve` of `engine/forecast.py`. The
marked numbers (the confidence lines' k and days, the due probability) are the snapshot's, so
they equal `/metrics`; the curves pass through them (tests/unit/view/test_forecast_charts.py).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

from flowgauge.engine.forecast import (
    CONFIDENCES,
    DAY_SECONDS,
    HORIZONS,
    MAX_DAYS,
    DailyThroughput,
    completion_curve,
    confidence_label,
    tail_curves,
)
from flowgauge.engine.forecast_state import daily_samples
from flowgauge.engine.item import ItemFacts
from flowgauge.engine.snapshot import StreamForecast, TargetForecast
from flowgauge.model.config import StreamConfig
from flowgauge.model.micros import DAY_MICROS, MICROS

Json = dict[str, Any]

#: Fewer completions than this in the history: the chart says the forecast is not to be trusted
#: yet (docs/forecasts.md, "Too few completions": "wait for a few dozen").
FEW_COMPLETIONS = 20
LEVELS = [confidence_label(c) for c in CONFIDENCES]


def samples_of(stream: StreamConfig, items: Mapping[str, ItemFacts], now: int) -> tuple[int, ...]:
    """The daily throughput samples the stream's forecast drew from at `now`."""
    completed = sorted(f.completed_at for f in items.values() if f.completed_at is not None)
    return daily_samples(lambda t: bisect.bisect_right(completed, t), now, stream.forecast.days)


def warning(samples: tuple[int, ...]) -> str | None:
    """What a reader must know before trusting the forecast (None: nothing)."""
    days, done = len(samples), sum(samples)
    if done == 0:
        return f"No item completed in the last {days} days: no forecast."
    if done < FEW_COMPLETIONS:
        return (
            f"Only {done} item{'s' if done != 1 else ''} completed in the last {days} days: "
            f"too few for a forecast to trust (wait for a few dozen, or lengthen "
            f"forecast.history)."
        )
    return None


def forecast_charts(
    stream: StreamConfig, forecast: StreamForecast, items: Mapping[str, ItemFacts], now: int
) -> Json:
    """How many in 7/14/30 days, and when each target is done, with their confidence lines."""
    samples = samples_of(stream, items, now)
    daily = DailyThroughput.of(samples)
    live = not daily.all_zero
    return {
        "history_days": len(samples),
        "samples": list(samples),  # newest day first
        "completions": sum(samples),
        "warning": warning(samples),
        "confidences": LEVELS,
        "how_many": _how_many(daily, forecast),
        "when": [_when(daily, t, now, live) for t in forecast.targets],
    }


def _how_many(daily: DailyThroughput, forecast: StreamForecast) -> list[Json]:
    """Per horizon: P(S_N >= k) for k = 0 … and the exposed k per confidence."""
    return [
        {
            "days": n,
            "probability": tail,
            "items": {c: forecast.items[(n, c)] for c in LEVELS if (n, c) in forecast.items},
        }
        for n, tail in sorted(tail_curves(daily, HORIZONS).items())
    ]


def _last_day(target: TargetForecast, due_days: int | None) -> int:
    """How far the curve goes: past the latest exposed day and the due date, within MAX_DAYS."""
    known = [round(s / DAY_SECONDS) for s in target.completion.values()]
    if len(known) < len(LEVELS):  # a confidence beyond MAX_DAYS: draw all of them
        return MAX_DAYS
    last = max([*known, due_days or 0])
    return min(MAX_DAYS, last + max(1, last // 5))


def _when(daily: DailyThroughput, target: TargetForecast, now: int, live: bool) -> Json:
    """P(S_d >= R) by day d, the exposed day per confidence, the due date and its chance."""
    due_days = None
    if target.due_seconds is not None:
        due_days = (round(target.due_seconds * MICROS) - now) // DAY_MICROS
    drawn = live and target.remaining > 0
    days = _last_day(target, due_days) if drawn else 0
    return {
        "target": target.target,
        "remaining": target.remaining,
        "completion_seconds": dict(target.completion),
        "due": target.due,
        "due_seconds": target.due_seconds,
        "due_days": due_days,
        "day": list(range(1, days + 1)),
        "probability": completion_curve(daily, target.remaining, days) if drawn else [],
    }
