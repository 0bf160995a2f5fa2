"""One stream's metrics, maintained incrementally so that a scrape never walks every item.

Each item's contribution (`ItemFacts`) is added when it is put and subtracted when it is
replaced or removed. In-progress items live in per-stage sorted lists of start instants, so age
quantiles and SLE breaches are O(log n) at any `now`. Completed items live in one list sorted by
completion time; the "completed in window" set is kept for the `now` of the last scrape and moved
at its edges as `now` advances (O(k log n) for the k items crossing an edge). A `now` that moves
backwards (rare: a replay, or a clock step) rebuilds the window from the completed list.

Sums are integer microseconds, so adding and subtracting contributions is exact and the result
equals a from-scratch computation bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sortedcontainers import SortedKeyList, SortedList

from flowgauge.engine.breakdown import NowBreakdown, WindowBreakdown, breakdown
from flowgauge.engine.bulk import change, pending, settle
from flowgauge.engine.forecast_state import ForecastState, daily_samples
from flowgauge.engine.item import ItemFacts, StreamPlan
from flowgauge.engine.quantile import age_quantiles_seconds, quantiles_seconds
from flowgauge.engine.signals import SignalState
from flowgauge.engine.snapshot import (
    AGE_QUANTILES,
    KINDS,
    QUANTILES,
    StreamMetrics,
    StreamSignals,
)
from flowgauge.model.config import StreamConfig
from flowgauge.model.micros import MICROS, duration_micros


@dataclass(slots=True)
class _StageNow:
    """In-progress items currently in one non-done stage."""

    wip: int = 0
    blocked: int = 0
    age_starts: SortedList = field(default_factory=SortedList)  # started_at, else created_at
    started: SortedList = field(default_factory=SortedList)  # started_at of started items


@dataclass(slots=True)
class _Window:
    """Sums and sorted samples over the items completed in the window."""

    stages: int
    throughput: int = 0
    rework: int = 0
    defects: int = 0
    active: int = 0
    wait: int = 0
    blocked: int = 0
    lead: SortedList = field(default_factory=SortedList)
    cycle: SortedList = field(default_factory=SortedList)
    stage_time: list[SortedList] = field(default_factory=list)
    stage_kind: list[list[int]] = field(default_factory=list)  # stage -> [active, wait, blocked]
    breakdown: WindowBreakdown = field(default_factory=WindowBreakdown)

    def __post_init__(self) -> None:
        self.stage_time = [SortedList() for _ in range(self.stages)]
        self.stage_kind = [[0, 0, 0] for _ in range(self.stages)]

    def add(self, facts: ItemFacts, sign: int) -> None:
        """Add (sign 1) or subtract (sign -1) one completed item's contribution."""
        completed = facts.completed_at
        assert completed is not None
        self.throughput += sign
        self.rework += sign * facts.rework
        self.defects += sign * facts.defect
        self.active += sign * facts.active
        self.wait += sign * facts.wait
        self.blocked += sign * facts.blocked_time
        self.breakdown.add(facts, sign)
        change(self.lead, completed - facts.created_at, sign)
        start = facts.cycle_start
        if start is not None:
            change(self.cycle, completed - start, sign)
        for stage, active, wait, blocked in facts.stages:
            change(self.stage_time[stage], active + wait + blocked, sign)
            totals = self.stage_kind[stage]
            totals[0] += sign * active
            totals[1] += sign * wait
            totals[2] += sign * blocked


class StreamAggregate:
    """The live metrics of one stream: `put` items' facts, ask for `metrics(now)`."""

    def __init__(self, stream: StreamConfig, teams: Mapping[str, str] | None = None) -> None:
        self.stream = stream
        self.plan = StreamPlan.of(stream, teams)
        self._window_us = duration_micros(stream.window)
        self._sle_us = None if stream.sle is None else duration_micros(stream.sle)
        self._done = [stage.kind == "done" for stage in stream.stages]
        self._items: dict[str, ItemFacts] = {}
        self._now_stages = [_StageNow() for _ in stream.stages]
        self._completed = SortedKeyList(key=_completed_at)  # (completed_at, item)
        self._window = _Window(len(stream.stages))
        self._now = NowBreakdown()  # not complete: blocked by reason, started by dimension
        self._window_now: int | None = None  # the `now` the window holds, None: not built
        self._signals = SignalState(stream)  # stage visits for the bottleneck signals
        self._forecast = ForecastState(stream)  # targets' remaining items, cached forecasts

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> Mapping[str, ItemFacts]:
        """Every held item's facts (read-only view): what the page's charts are drawn from."""
        return MappingProxyType(self._items)

    def put(self, item: str, facts: ItemFacts | None) -> None:
        """Replace `item`'s contribution with `facts` (None: the item no longer counts)."""
        old = self._items.pop(item, None)
        if old is not None:
            self._contribute(item, old, -1)
        if facts is not None:
            self._items[item] = facts
            self._contribute(item, facts, 1)

    def _contribute(self, item: str, facts: ItemFacts, sign: int) -> None:
        self._signals.contribute(facts, sign)
        self._forecast.contribute(facts, sign)
        completed = facts.completed_at
        if completed is None:
            if self._done[facts.stage]:
                return  # cannot happen: a done stage means completed; keep the sums safe
            here = self._now_stages[facts.stage]
            here.wip += sign
            here.blocked += sign * facts.blocked
            self._now.add(facts, sign)
            change(here.age_starts, facts.started_at or facts.created_at, sign)
            if facts.started_at is not None:
                change(here.started, facts.started_at, sign)
            return
        change(self._completed, (completed, item), sign)
        if self._window_now is not None and self._in_window(completed, self._window_now):
            self._window.add(facts, sign)

    def begin_load(self) -> None:
        """Until `end_load`, sorted structures collect values unsorted (engine/bulk.py)."""
        for here in self._now_stages:
            here.age_starts, here.started = pending(here.age_starts), pending(here.started)
        self._completed = pending(self._completed)
        self._window_now = None  # rebuilt from `_completed` at the next `metrics`
        self._signals.begin_load()

    def end_load(self) -> None:
        for here in self._now_stages:
            here.age_starts, here.started = settle(here.age_starts), settle(here.started)
        self._completed = settle(self._completed, key=_completed_at)
        self._signals.end_load()

    def _in_window(self, completed_at: int, now: int) -> bool:
        return now - self._window_us < completed_at <= now

    def _move_window(self, now: int) -> None:
        """Make the window hold the items completed in (now - window, now]."""
        previous = self._window_now
        if previous is None or now < previous or now - self._window_us >= previous:
            self._window = _Window(len(self.stream.stages))
            for _, item in self._crossing(now - self._window_us, now):
                self._window.add(self._items[item], 1)
        else:
            edge = previous - self._window_us
            for _, item in self._crossing(edge, now - self._window_us):
                self._window.add(self._items[item], -1)
            for _, item in self._crossing(previous, now):
                self._window.add(self._items[item], 1)
        self._window_now = now

    def _crossing(self, after: int, until: int) -> list[tuple[int, str]]:
        """Completed items with after < completed_at <= until (a list: the caller may mutate)."""
        return list(self._completed.irange_key(after, until, inclusive=(False, True)))

    def metrics(self, now_micros: int) -> StreamMetrics:
        """Every flow gauge of the stream at `now` (epoch microseconds)."""
        self._move_window(now_micros)
        stages = self.stream.stages
        wip: dict[str, int] = {}
        blocked: dict[str, int] = {}
        breaches: dict[str, int] = {}
        age = {}
        for index, stage in enumerate(stages):
            if self._done[index]:
                continue
            here = self._now_stages[index]
            wip[stage.name] = here.wip
            blocked[stage.name] = here.blocked
            if self._sle_us is not None:
                breaches[stage.name] = here.started.bisect_left(now_micros - self._sle_us)
            if here.age_starts:
                age[stage.name] = age_quantiles_seconds(now_micros, here.age_starts, AGE_QUANTILES)
        window = self._window
        stage_time = {
            stage.name: quantiles_seconds(window.stage_time[index], QUANTILES)
            for index, stage in enumerate(stages)
            if window.stage_time[index]
        }
        stage_seconds = {
            stage.name: {
                kind: window.stage_kind[index][slot] / MICROS for slot, kind in enumerate(KINDS)
            }
            for index, stage in enumerate(stages)
        }
        total = window.active + window.wait + window.blocked
        throughput = window.throughput
        started_wip = sum(len(here.started) for here in self._now_stages)
        shares = breakdown(self._now, window.breakdown)
        samples = daily_samples(
            self._completed.bisect_key_right, now_micros, self._forecast.history_days
        )
        return StreamMetrics(
            stream=self.stream.name,
            wip=wip,
            blocked=blocked,
            sle_breaches=breaches,
            age=age,
            lead_time=quantiles_seconds(window.lead, QUANTILES),
            cycle_time=quantiles_seconds(window.cycle, QUANTILES),
            stage_time=stage_time,
            stage_seconds=stage_seconds,
            throughput=throughput,
            flow_efficiency=window.active / total if throughput and total else None,
            rework_ratio=window.rework / throughput if throughput else None,
            defect_ratio=window.defects / throughput if throughput else None,
            sle_attainment=self._sle_attainment(),
            forecast=self._forecast.evaluate(now_micros, samples, started_wip),
            handoffs=shares.handoffs,
            blocked_reason_seconds=shares.reason_seconds,
            blocked_reason_items=shares.reason_items,
            distribution_wip=shares.wip,
            distribution_throughput=shares.throughput,
        )

    def _sle_attainment(self) -> float | None:
        """Of the cycle times in window, the share at most the SLE (METRICS.md)."""
        cycle = self._window.cycle
        if self._sle_us is None or not cycle:
            return None
        return int(cycle.bisect_right(self._sle_us)) / len(cycle)

    def signals(self, now_micros: int) -> StreamSignals:
        """Every non-done stage's bottleneck signals at `now` (docs/bottlenecks.md)."""
        return StreamSignals(self.stream.name, self._signals.evaluate(now_micros))


def _completed_at(entry: tuple[int, str]) -> int:
    return entry[0]
