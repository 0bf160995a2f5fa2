"""Bottleneck signals per stage: the pure math and the structure that keeps it cheap.

METRICS.md (Bottlenecks) asks for four signals per stage, evaluated continuously; their readings
are written in docs/bottlenecks.md:

- `wip_limit`: the stage's WIP is above its configured `wip_limit`.
- `aging`: items have been in the stage (since their latest entry) longer than the stage's `sle`,
  or else the stream's `sle` (the stream's SLE only applies from the commitment stage on).
- `accumulating`: more entries than exits in (now - interval, now].
- `out_of_limits`: WIP, or the mean time in stage of the items now in it, is outside the natural
  process limits (XmR: mean +- 2.66 x mean moving range) of the stage's daily values over the
  last `baseline_days` complete UTC days.

Everything comes from the items' stage visits (`ItemFacts.visits`), so a set of events gives the
same signals whatever order it arrived in. `SignalState` keeps, per stage, sorted lists of entry
and exit instants and a per-day tally of exits: an item's put costs O(v log n) for its v visits,
and an evaluation costs O(log n) per stage plus O(baseline_days x log n) for the daily values;
nothing at evaluation walks the items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from sortedcontainers import SortedList

from flowgauge.engine.bulk import change, pending, settle
from flowgauge.engine.item import ItemFacts
from flowgauge.engine.snapshot import SIGNALS, StageSignals
from flowgauge.model.config import SignalsConfig, StreamConfig
from flowgauge.model.micros import DAY_MICROS, MICROS, duration_micros

XMR_FACTOR = 2.66  # natural process limits: mean +- 2.66 x mean moving range (Wheeler)


def xmr_limits(values: Sequence[float]) -> tuple[float, float, float] | None:
    """(mean, lower, upper) natural process limits of individual values, None under 2 values."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    moving = sum(abs(b - a) for a, b in pairwise(values)) / (len(values) - 1)
    return mean, mean - XMR_FACTOR * moving, mean + XMR_FACTOR * moving


def score(firing: dict[str, bool], pressing: bool, wip: int, stream_wip: int) -> float:
    """The bottleneck score (docs/bottlenecks.md): pile-up signals firing, plus the WIP share.

    Signals that say work piles up here count 1 each (`out_of_limits` only when a value is
    *above* its upper limit, `pressing`); a stage with none scores 0 and is never the bottleneck.
    Among stages with as many signals, the one holding the larger share of the stream's WIP
    (a fraction in [0, 1]) ranks higher; remaining ties go to the earlier stage.
    """
    count = sum(on for name, on in firing.items() if name != "out_of_limits")
    count += int(pressing)
    if count == 0:
        return 0.0
    return count + (wip / stream_wip if stream_wip else 0.0)


@dataclass(slots=True)
class StageHistory:
    """Every visit of the stream's live items to one stage, and the items in it now."""

    entries: SortedList = field(default_factory=SortedList)  # entry instants of all visits
    exits: SortedList = field(default_factory=SortedList)  # exit instants of ended visits
    exits_by_day: dict[int, list[int]] = field(default_factory=dict)  # day -> [visits, µs]
    current: SortedList = field(default_factory=SortedList)  # entries of the items in it now
    current_sum: int = 0  # sum of `current`, for the mean time in stage

    def visit(self, entry: int, exit_: int | None, sign: int) -> None:
        """Add (sign 1) or remove (sign -1) one visit [entry, exit_) (None: not ended)."""
        change(self.entries, entry, sign)
        if exit_ is None:
            return
        change(self.exits, exit_, sign)
        tally = self.exits_by_day.setdefault(exit_ // DAY_MICROS, [0, 0])
        tally[0] += sign
        tally[1] += sign * (exit_ - entry)
        if tally[0] == 0:
            del self.exits_by_day[exit_ // DAY_MICROS]

    def occupant(self, entered: int, sign: int) -> None:
        """An in-progress item whose current stage this is, since `entered`."""
        change(self.current, entered, sign)
        self.current_sum += sign * entered

    def between(self, instants: SortedList, after: int, until: int) -> int:
        """How many of `instants` lie in (after, until]."""
        return int(instants.bisect_right(until) - instants.bisect_right(after))

    def wip_before(self, instant: int) -> int:
        """Visits open just before `instant` (entered before it, not exited before it)."""
        return int(self.entries.bisect_left(instant) - self.exits.bisect_left(instant))

    def mean_exit_time(self, day: int) -> float | None:
        """Mean time in stage (µs) of the visits that ended on UTC day `day`, None if none."""
        tally = self.exits_by_day.get(day)
        return None if tally is None else tally[1] / tally[0]


class SignalState:
    """The per-stage histories of one stream, maintained as items' facts come and go."""

    def __init__(self, stream: StreamConfig) -> None:
        self.stream = stream
        self._done = [stage.kind == "done" for stage in stream.stages]
        self._stages = [StageHistory() for _ in stream.stages]

    def contribute(self, facts: ItemFacts, sign: int) -> None:
        """Add (1) or remove (-1) one item's visits and, if in progress, its current stage."""
        visits = facts.visits
        for index, (entry, stage) in enumerate(visits):
            if self._done[stage]:
                continue
            exit_ = visits[index + 1][0] if index + 1 < len(visits) else None
            self._stages[stage].visit(entry, exit_, sign)
        if facts.completed_at is None and not self._done[facts.stage]:
            self._stages[facts.stage].occupant(facts.stage_entered_at, sign)

    def begin_load(self) -> None:
        """Until `end_load`, the histories collect instants unsorted (engine/bulk.py)."""
        for history in self._stages:
            history.entries, history.exits = pending(history.entries), pending(history.exits)
            history.current = pending(history.current)

    def end_load(self) -> None:
        for history in self._stages:
            history.entries, history.exits = settle(history.entries), settle(history.exits)
            history.current = settle(history.current)

    def evaluate(self, now: int) -> tuple[StageSignals, ...]:
        """Every non-done stage's signals and score at `now`; the bottleneck marked."""
        stream = self.stream
        commitment = stream.commitment_index
        stream_wip = sum(len(history.current) for history in self._stages)
        result: list[StageSignals] = []
        for index, stage in enumerate(stream.stages):
            if self._done[index]:
                continue
            history = self._stages[index]
            committed = index >= commitment
            sle = stage.sle if stage.sle is not None else (stream.sle if committed else None)
            firing, values, pressing = _stage(
                history,
                now,
                wip_limit=stage.wip_limit,
                sle_us=None if sle is None else duration_micros(sle),
                committed=committed,
                stream=stream,
            )
            wip = len(history.current)
            result.append(
                StageSignals(stage.name, firing, values, score(firing, pressing, wip, stream_wip))
            )
        best = max(result, key=lambda s: s.score, default=None)  # max keeps the first of ties
        if best is None or best.score <= 0:
            return tuple(result)
        return tuple(StageSignals(s.stage, s.firing, s.values, s.score, s is best) for s in result)


def _stage(
    history: StageHistory,
    now: int,
    *,
    wip_limit: int | None,
    sle_us: int | None,
    committed: bool,
    stream: StreamConfig,
) -> tuple[dict[str, bool], dict[str, dict[str, float]], bool]:
    """The four signals of one stage: (firing, numbers behind them, above an upper limit)."""
    config = stream.signals
    wip = len(history.current)
    values: dict[str, dict[str, float]] = {name: {} for name in SIGNALS}
    firing = dict.fromkeys(SIGNALS, False)

    values["wip_limit"]["wip"] = wip
    if wip_limit is not None:
        values["wip_limit"]["limit"] = wip_limit
        firing["wip_limit"] = wip > wip_limit

    aging = values["aging"]
    oldest = history.current[0] if history.current else None
    if oldest is not None:
        aging["oldest_seconds"] = (now - oldest) / MICROS
    if sle_us is not None:
        # older than the SLE: now - entered > sle, i.e. entered < now - sle
        over = int(history.current.bisect_left(now - sle_us))
        aging.update(items=over, sle_seconds=sle_us / MICROS)
        firing["aging"] = over > 0

    interval = duration_micros(config.interval)
    arrivals = history.between(history.entries, now - interval, now)
    departures = history.between(history.exits, now - interval, now)
    values["accumulating"].update(
        arrivals=arrivals, departures=departures, interval_seconds=interval / MICROS
    )
    firing["accumulating"] = committed and arrivals > departures + config.accumulating_margin

    limits = values["out_of_limits"]
    limits["wip"] = wip
    high = low = False
    if committed and history.entries:
        high, low = _out_of_limits(history, now, wip, config, limits)
    firing["out_of_limits"] = high or low
    return firing, values, high


def _out_of_limits(
    history: StageHistory, now: int, wip: int, config: SignalsConfig, limits: dict[str, float]
) -> tuple[bool, bool]:
    """(above, below) the stage's natural process limits of daily WIP and wait (XmR over the
    baseline days); the limits and the numbers behind them go into `limits`."""
    high = low = False
    today = now // DAY_MICROS
    first = max(today - config.baseline_days, history.entries[0] // DAY_MICROS)
    days = range(first, today)
    daily_wip = [float(history.wip_before((day + 1) * DAY_MICROS)) for day in days]
    wip_npl = xmr_limits(daily_wip) if len(daily_wip) >= config.min_baseline_days else None
    if wip_npl is not None:
        mean, lower, upper = wip_npl
        limits.update(
            wip_mean=mean, wip_lower=max(lower, 0.0), wip_upper=upper, baseline_days=len(days)
        )
        high = wip > upper
        low = lower > 0 and wip < lower
    daily_wait = [w for w in map(history.mean_exit_time, days) if w is not None]
    wait_npl = xmr_limits(daily_wait) if len(daily_wait) >= config.min_baseline_days else None
    if wip:
        wait = (now * wip - history.current_sum) / wip / MICROS  # exact numerator
        limits["wait_seconds"] = wait
        if wait_npl is not None:
            limits.update(
                wait_mean_seconds=wait_npl[0] / MICROS,
                wait_upper_seconds=wait_npl[2] / MICROS,
            )
            high = high or wait > wait_npl[2] / MICROS
    return high, low
