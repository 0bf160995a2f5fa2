"""The data of the four charts practitioners read, derived exactly from the items' facts.

Every chart covers the stream's window (now - window, now] and is cut into UTC days. The facts
(`ItemFacts`) are the pure function of each stored timeline that the metrics are summed from, so
nothing here is sampled: asked again with the same events, in any order, the charts are the same.

Cumulative flow (`cumulative_flow`): for stage s and instant t, `arrived(s, t)` is the number of
held items with a visit to stage s *or a later stage* entered at or before t. It never decreases
with t (a visit once entered stays entered) nor grows with s, so the curves never cross; the band
between stage s and the next is the number of items that had reached s but not yet a later stage
(the WIP of s when no item moved backwards). The first stage counts every item created by t. One
point per UTC day of the window, at the day's end (the last one at `now`).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from flowgauge.engine.item import ItemFacts
from flowgauge.engine.quantile import quantile
from flowgauge.engine.snapshot import QUANTILES, quantile_label
from flowgauge.model.config import StreamConfig
from flowgauge.model.micros import DAY_MICROS, MICROS, from_micros

Json = dict[str, Any]


def day_ends(now: int, window: int) -> list[int]:
    """The instants the daily points stand for: each UTC day's end in the window, then `now`."""
    first_day = (now - window) // DAY_MICROS
    ends = [(day + 1) * DAY_MICROS for day in range(first_day, now // DAY_MICROS)]
    return [t for t in ends if t < now] + [now]


def iso(micros: int) -> str:
    return from_micros(micros).isoformat().replace("+00:00", "Z")


def first_arrivals(facts: ItemFacts, stages: int) -> list[int | None]:
    """Per stage s: the earliest entry into stage s or a later one (None: never reached)."""
    earliest: list[int | None] = [None] * stages
    for entry, stage in facts.visits:
        known = earliest[stage]
        if known is None or entry < known:
            earliest[stage] = entry
    best: int | None = None
    for s in range(stages - 1, -1, -1):
        here = earliest[s]
        if here is not None and (best is None or here < best):
            best = here
        earliest[s] = best
    return earliest


def cumulative_flow(
    stream: StreamConfig, items: Mapping[str, ItemFacts], now: int, window: int
) -> Json:
    """`arrived(s, t)` for every stage s (config order) and every daily point t."""
    count = len(stream.stages)
    arrivals: list[list[int]] = [[] for _ in range(count)]
    for facts in items.values():
        for s, at in enumerate(first_arrivals(facts, count)):
            if at is not None:
                arrivals[s].append(at)
    for instants in arrivals:
        instants.sort()
    ends = day_ends(now, window)
    return {
        "at": [iso(t) for t in ends],
        "stages": [stage.name for stage in stream.stages],
        "arrived": [[bisect.bisect_right(instants, t) for t in ends] for instants in arrivals],
    }


def completed_in_window(
    items: Mapping[str, ItemFacts], now: int, window: int
) -> list[tuple[str, ItemFacts]]:
    """Items completed in (now - window, now], by completion time then id (the metrics' set)."""
    done = [
        (name, facts)
        for name, facts in items.items()
        if facts.completed_at is not None and now - window < facts.completed_at <= now
    ]
    done.sort(key=lambda pair: (pair[1].completed_at, pair[0]))
    return done


def scatter(done: Sequence[tuple[str, ItemFacts]], lines: Mapping[str, float]) -> Json:
    """Cycle time of each started item completed in the window, with the quantile lines."""
    points = [(name, f) for name, f in done if f.cycle_start is not None]
    return {
        "items": [name for name, _ in points],
        "completed_at": [iso(f.completed_at or 0) for _, f in points],
        "cycle_seconds": [
            ((f.completed_at or 0) - (f.cycle_start or 0)) / MICROS for _, f in points
        ],
        "lines": dict(lines),
    }


def throughput_run(done: Sequence[tuple[str, ItemFacts]], now: int, window: int) -> Json:
    """Items completed per UTC day of the window; the counts sum to the throughput gauge."""
    ends = day_ends(now, window)
    counts = [0] * len(ends)
    for _, facts in done:
        counts[bisect.bisect_left(ends, facts.completed_at or 0)] += 1
    return {"day": [iso(t - 1)[:10] for t in ends], "completed": counts}


def aging(
    stream: StreamConfig,
    items: Mapping[str, ItemFacts],
    done: Sequence[tuple[str, ItemFacts]],
    now: int,
) -> Json:
    """In-progress items' ages (as the age gauge counts them) by current stage, and per stage the
    50/85/95 % of the age at which the window's completed items last left it (the bands)."""
    kinds = [stage.kind for stage in stream.stages]
    points = sorted(
        (facts.stage, name, (now - (facts.started_at or facts.created_at)) / MICROS)
        for name, facts in items.items()
        if facts.completed_at is None and kinds[facts.stage] != "done"
    )
    left: list[list[int]] = [[] for _ in kinds]
    for _, facts in done:
        origin = facts.started_at or facts.created_at
        last_exit: dict[int, int] = {}
        for (_, stage), (exit_, _) in zip(facts.visits, facts.visits[1:], strict=False):
            last_exit[stage] = exit_
        for stage, exit_ in last_exit.items():
            if kinds[stage] != "done" and exit_ >= origin:
                left[stage].append(exit_ - origin)
    bands: dict[str, dict[str, float]] = {}
    for index, ages in enumerate(left):
        if ages:
            ages.sort()
            bands[stream.stages[index].name] = {
                quantile_label(q): quantile(ages, q) / MICROS for q in QUANTILES
            }
    return {
        "stages": [s.name for s in stream.stages if s.kind != "done"],
        "items": [name for _, name, _ in points],
        "stage": [stream.stages[index].name for index, _, _ in points],
        "age_seconds": [age for _, _, age in points],
        "bands": bands,
    }
