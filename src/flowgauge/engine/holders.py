"""Who holds an item, and what it belongs to: the raw material of handoffs and distribution.

METRICS.md, "Handoffs, blocked reasons, distribution": an event may say who holds the item from
then on (`assignee`, `team`) and what it belongs to (`parent`). A field an event does not give is
None; `""` says "none from this event on" (a generic event's `null`, model/events.py). A
**handoff** is a change of holder from one non-empty value to a different non-empty value: an
unassigned stretch in between does not reset it (A → none → B is one handoff, A → none → A
none). Here the instants of every such change are collected in timeline order; `item.py` counts
those inside [started_at, completed_at).

The config's `teams:` (people → team) gives the team of an event that names an assignee but no
team; an assignee the mapping does not know leaves the team as it was (docs/value-streams.md).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flowgauge.model.events import FlowEvent
from flowgauge.model.micros import to_micros

#: The kinds of holder a handoff is counted for (the `kind` label of handoffs per item).
HANDOFF_KINDS: tuple[str, ...] = ("assignee", "team")


@dataclass(frozen=True, slots=True)
class Holding:
    """One item's holder changes and its latest team and parent (None: none)."""

    changes: tuple[tuple[int, ...], ...]  # per HANDOFF_KINDS: instants of handoffs, ascending
    team: str | None
    parent: str | None

    def handoffs(self, start: int | None, end: int | None) -> tuple[int, ...]:
        """Per kind, the handoffs at an instant of [start, end) (all 0 without the interval)."""
        if start is None or end is None:
            return tuple(0 for _ in HANDOFF_KINDS)
        return tuple(bisect_left(times, end) - bisect_left(times, start) for times in self.changes)


class _Holder:
    """One kind of holder along the timeline: the last non-empty one and the changes seen."""

    __slots__ = ("changes", "current", "last")

    def __init__(self) -> None:
        self.current: str | None = None  # what the latest event naming it said ("" -> None)
        self.last: str | None = None  # the latest non-empty value
        self.changes: list[int] = []

    def name(self, value: str, at: int) -> None:
        self.current = value or None
        if not value:
            return
        if self.last is not None and value != self.last:
            self.changes.append(at)
        self.last = value


def holding(events: Sequence[FlowEvent], teams: Mapping[str, str]) -> Holding:
    """The holders of one item's events (in timeline order); `teams`: person -> team."""
    assignee, team = _Holder(), _Holder()
    parent: str | None = None
    for event in events:
        if event.assignee is None and event.team is None and event.parent is None:
            continue
        at = to_micros(event.at)
        if event.assignee is not None:
            assignee.name(event.assignee, at)
        named_team = event.team
        if named_team is None and event.assignee:
            named_team = teams.get(event.assignee)
        if named_team is not None:
            team.name(named_team, at)
        if event.parent is not None:
            parent = event.parent or None
    return Holding((tuple(assignee.changes), tuple(team.changes)), team.current, parent)
