"""One item's timeline reduced to the few numbers the stream aggregates need (METRICS.md).

`derive` is the only place where the definitions of an item's life are read: created, started,
completed, its stages and their kinds, blocked time, rework, defect. Everything downstream works
on `ItemFacts`, so the live worker and the batch report cannot read the definitions differently.
The readings chosen where METRICS.md leaves room are written in docs/metrics.md.

All times are integer epoch microseconds, so sums of durations are exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

from flowgauge.engine.holders import HANDOFF_KINDS, holding
from flowgauge.engine.timeline import Timeline
from flowgauge.model.config import StreamConfig
from flowgauge.model.events import FlowEvent
from flowgauge.model.micros import to_micros

#: (stage index, active µs, wait µs, blocked µs) of one visited stage on [created_at, completed_at)
StageTimes = tuple[int, int, int, int]
#: The reason of a `blocked` / `unblocked` event that gives none (METRICS.md), and of a
#: configured blocked label added or removed.
UNSPECIFIED = "unspecified"
LABEL_REASON = "label"
_NOT_BLOCKED: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What one (not deleted) item contributes to its stream's metrics.

    `stages`, `active`, `wait` and `blocked_time` are only filled for completed items: they are
    the accounting over [created_at, completed_at) and [started_at, completed_at) respectively.
    """

    created_at: int
    started_at: int | None
    completed_at: int | None
    stage: int  # current stage index
    blocked: bool  # blocked now (after the last event)
    stage_entered_at: int  # entry into the current stage
    rework: bool  # ever moved to an earlier stage (a reopen counts)
    defect: bool
    stages: tuple[StageTimes, ...] = ()  # visited before completion, in stage order
    active: int = 0  # on [started_at, completed_at)
    wait: int = 0
    blocked_time: int = 0
    unmapped: int = 0  # state events whose state maps to no stage
    item_type: str | None = None  # from the latest event naming one (forecast targets match it)
    #: (entry time, stage) of every visit, in time order, consecutive stages distinct; a visit
    #: ends at the next one's entry. The bottleneck signals count arrivals, departures and past
    #: WIP from it. Left out of equality: it is the walk the other fields already summarize.
    visits: tuple[tuple[int, int], ...] = field(default=(), compare=False)
    #: The state name of each unmapped stage event, in timeline order (`""`: a state event
    #: naming none), so that a user sees which tool status to map (docs/metrics.md).
    unmapped_states: tuple[str, ...] = ()
    #: The reasons the item is blocked for now (after the last event), sorted.
    blocked_reasons: tuple[str, ...] = ()
    #: Completed items: (reason, µs) blocked for it on [created_at, completed_at), sorted by
    #: reason; only reasons with time. An instant blocked for two reasons counts for both.
    reason_time: tuple[tuple[str, int], ...] = ()
    #: Completed items: handoffs per `HANDOFF_KINDS` kind on [started_at, completed_at).
    handoffs: tuple[int, ...] = (0, 0)
    team: str | None = None  # from the latest event naming one (or its assignee, `teams:`)
    parent: str | None = None  # from the latest event naming one

    def __post_init__(self) -> None:
        # a cached copy (engine/stored.py) comes back from JSON as a list
        if not isinstance(self.unmapped_states, tuple):
            object.__setattr__(self, "unmapped_states", tuple(self.unmapped_states))

    @property
    def cycle_start(self) -> int | None:
        """started_at when it counts for cycle time and efficiency: started no later than done.

        Only a config whose commitment stage lies after a done stage can start an item after
        its completion; such an item is completed but not started as far as cycle time goes.
        """
        if self.started_at is None or self.completed_at is None:
            return None
        return self.started_at if self.started_at <= self.completed_at else None


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What `derive` reads of a stream's config, worked out once per stream instead of per item
    (a rebuild derives a million items)."""

    states: dict[str, int]  # state name -> stage index
    kinds: tuple[str, ...]  # stage index -> kind
    blocked_labels: frozenset[str]
    commitment: int
    defect_types: tuple[str, ...]
    teams: Mapping[str, str]  # person -> team (the config's `teams:`)

    @classmethod
    def of(cls, stream: StreamConfig, teams: Mapping[str, str] | None = None) -> StreamPlan:
        return cls(
            states=stream.stage_of_state(),
            kinds=tuple(stage.kind for stage in stream.stages),
            blocked_labels=frozenset(stream.blocked_labels),
            commitment=stream.commitment_index,
            defect_types=tuple(stream.defect_types),
            teams=dict(teams or {}),
        )


def derive(
    timeline: Timeline, stream: StreamConfig, plan: StreamPlan | None = None
) -> ItemFacts | None:
    """The facts of one item of `stream`, or None when deleted (or without events).

    `plan` is `StreamPlan.of(stream)`, passed in by callers that derive many items.
    """
    events = timeline.events
    if not events or any(event.type == "deleted" for event in events):
        return None
    if plan is None:
        plan = StreamPlan.of(stream)
    return _facts(_walk(events, plan), plan, events)


class _Walked(NamedTuple):
    """Where one item's events took it: its stage visits and the marks of its conditions."""

    created_at: int
    visits: list[tuple[int, int]]  # (entry time, stage), consecutive stages distinct
    marks: list[tuple[int, int, frozenset[str]]]  # (time, stage, reasons) from that instant on
    stage: int  # after the last event
    reasons: frozenset[str]  # blocked for, after the last event
    unmapped: list[str]  # the state name of each unmapped state event, in order
    item_type: str | None
    labels: set[str]


def _walk(events: Sequence[FlowEvent], plan: StreamPlan) -> _Walked:
    """One pass over the events in time order (locals only: a rebuild walks a million items)."""
    states, blocked_labels = plan.states, plan.blocked_labels
    created_at = to_micros(events[0].at)  # the earliest event is never later than `created`
    # The implicit placement in the first stage is replaced by a stage event at created_at (no
    # instant was spent before it).
    visits: list[tuple[int, int]] = [(created_at, 0)]
    implicit = True
    marks: list[tuple[int, int, frozenset[str]]] = [(created_at, 0, _NOT_BLOCKED)]
    stage, reasons = 0, _NOT_BLOCKED
    unmapped: list[str] = []
    item_type: str | None = None
    labels: set[str] = set()

    for event in events:
        at = to_micros(event.at)
        if event.item_type is not None:
            item_type = event.item_type
        if event.labels is not None:
            labels = set(event.labels)
        kind = event.type
        if kind == "state" or (kind == "created" and event.state is not None):
            target = states.get(event.state) if event.state is not None else None
            if target is None:
                unmapped.append(event.state or "")
                continue
            if implicit and at == created_at:
                visits[0] = (at, target)
            elif target != stage:
                visits.append((at, target))
            implicit = False
            if target != stage:
                stage = target
                marks.append((at, stage, reasons))
            continue
        now_reasons = reasons
        if kind == "blocked":
            now_reasons = reasons | {event.reason or UNSPECIFIED}
        elif kind == "unblocked":
            now_reasons = reasons - {event.reason or UNSPECIFIED}
        elif kind in ("labeled", "unlabeled") and event.label is not None:
            if kind == "labeled":
                labels.add(event.label)
            else:
                labels.discard(event.label)
            if event.label in blocked_labels:
                reason = {event.reason or LABEL_REASON}
                now_reasons = reasons | reason if kind == "labeled" else reasons - reason
        if now_reasons != reasons:
            reasons = now_reasons
            marks.append((at, stage, reasons))
    return _Walked(created_at, visits, marks, stage, reasons, unmapped, item_type, labels)


def _facts(walked: _Walked, plan: StreamPlan, events: Sequence[FlowEvent]) -> ItemFacts:
    """The definitions read off the walk: started, completed, rework, defect, holders; then the
    time accounting of a completed item."""
    visits, kinds, item_type = walked.visits, plan.kinds, walked.item_type
    started_at = next((t for t, s in visits if s >= plan.commitment), None)
    rework = any(later[1] < earlier[1] for earlier, later in pairwise(visits))
    defect_types = plan.defect_types
    defect = (
        item_type in defect_types
        if item_type is not None
        else any(label in defect_types for label in walked.labels)
    )

    completed_at: int | None = None
    for t, s in reversed(visits):
        if kinds[s] != "done":
            break
        completed_at = t

    held = holding(events, plan.teams)
    accounted, handoffs = _NOT_ACCOUNTED, _NO_HANDOFFS
    if completed_at is not None:
        # ItemFacts.cycle_start: started no later than done
        start = started_at if started_at is not None and started_at <= completed_at else None
        accounted = _account(start, completed_at, visits, walked.marks, kinds)
        handoffs = held.handoffs(start, completed_at)
    return ItemFacts(
        created_at=walked.created_at,
        started_at=started_at,
        completed_at=completed_at,
        stage=walked.stage,
        blocked=bool(walked.reasons),
        stage_entered_at=visits[-1][0],
        rework=rework,
        defect=defect,
        stages=accounted.stages,
        active=accounted.active,
        wait=accounted.wait,
        blocked_time=accounted.blocked_time,
        unmapped=len(walked.unmapped),
        item_type=item_type,
        visits=tuple(visits),
        unmapped_states=tuple(walked.unmapped),
        blocked_reasons=tuple(sorted(walked.reasons)),
        reason_time=accounted.reason_time,
        handoffs=handoffs,
        team=held.team,
        parent=held.parent,
    )


class _Accounted(NamedTuple):
    """The time accounting of a completed item (all 0 for one not complete)."""

    stages: tuple[StageTimes, ...] = ()
    active: int = 0
    wait: int = 0
    blocked_time: int = 0
    reason_time: tuple[tuple[str, int], ...] = ()


_NOT_ACCOUNTED = _Accounted()
_NO_HANDOFFS = tuple(0 for _ in HANDOFF_KINDS)


def _account(
    start: int | None,
    completed_at: int,
    visits: list[tuple[int, int]],
    marks: list[tuple[int, int, frozenset[str]]],
    kinds: Sequence[str],
) -> _Accounted:
    """Time accounting of a completed item: each instant of [created_at, completed_at) once
    (per stage and kind), and once for each reason it was blocked for; active, wait and blocked
    time from `start` (the cycle start, None: none)."""
    totals: dict[int, list[int]] = {s: [0, 0, 0] for t, s in visits if t < completed_at}
    by_reason: dict[str, int] = {}
    active = wait = blocked_time = 0
    ends = [t for t, _, _ in marks[1:]] + [completed_at]
    for (begin, stage, reasons), end in zip(marks, ends, strict=True):
        end = min(end, completed_at)
        if end <= begin:
            continue
        slot = 2 if reasons else (0 if kinds[stage] == "active" else 1)
        totals[stage][slot] += end - begin
        for reason in reasons:
            by_reason[reason] = by_reason.get(reason, 0) + end - begin
        if start is not None and end > start:
            overlap = end - max(begin, start)
            if slot == 0:
                active += overlap
            elif slot == 1:
                wait += overlap
            else:
                blocked_time += overlap
    stages = tuple((s, a, w, b) for s, (a, w, b) in sorted(totals.items()))
    return _Accounted(stages, active, wait, blocked_time, tuple(sorted(by_reason.items())))
