"""Handoffs, team and parent of one item, and the stream breakdown's cap, by hand."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import ev, st, stream, us

from flowgauge.engine.breakdown import OTHER, TOP_VALUES, capped
from flowgauge.engine.holders import holding
from flowgauge.engine.item import StreamPlan, derive
from flowgauge.engine.timeline import Timeline
from flowgauge.model import FlowEvent


def facts_of(events: list[FlowEvent], teams: dict[str, str] | None = None) -> Any:
    config = stream()
    facts = derive(Timeline.from_events(events), config, StreamPlan.of(config, teams))
    assert facts is not None
    return facts


def worked(*holders: tuple[float, dict[str, Any]]) -> list[FlowEvent]:
    """Created at 0, started at 10, done at 30; holder events at the given seconds."""
    events = [ev("a", "created", 0), st("b", 10, "In Progress"), st("z", 30, "Done")]
    return events + [ev(f"h{i}", "state", at, **f) for i, (at, f) in enumerate(holders)]


CASES: list[tuple[str, list[FlowEvent], tuple[int, int]]] = [
    (
        "A -> B in [started, completed) is one",
        worked((1, {"assignee": "A"}), (12, {"assignee": "B"})),
        (1, 0),
    ),
    (
        "A -> none -> B is one",
        worked((11, {"assignee": "A"}), (12, {"assignee": ""}), (13, {"assignee": "B"})),
        (1, 0),
    ),
    (
        "A -> none -> A is none",
        worked((11, {"assignee": "A"}), (12, {"assignee": ""}), (13, {"assignee": "A"})),
        (0, 0),
    ),
    (
        "a change before started_at is none",
        worked((1, {"assignee": "A"}), (5, {"assignee": "B"})),
        (0, 0),
    ),
    (
        "a change at started_at counts",
        worked((1, {"assignee": "A"}), (10, {"assignee": "B"})),
        (1, 0),
    ),
    (
        "a change at completed_at does not",
        worked((1, {"assignee": "A"}), (30, {"assignee": "B"})),
        (0, 0),
    ),
    ("the first holder is no handoff", worked((12, {"assignee": "A", "team": "T"})), (0, 0)),
    (
        "teams count apart",
        worked((1, {"team": "T"}), (12, {"team": "U"}), (14, {"team": "T"})),
        (0, 2),
    ),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_handoffs(events: list[FlowEvent], expected: tuple[int, int]) -> None:
    assert facts_of(events).handoffs == expected


def test_an_item_not_complete_has_no_handoffs_yet() -> None:
    events = [
        ev("a", "created", 0, assignee="A"),
        st("b", 10, "In Progress"),
        ev("c", "state", 12, assignee="B"),
    ]
    facts = facts_of(events)
    assert facts.handoffs == (0, 0)
    assert holding(Timeline.from_events(events).events, {}).changes == ((us(12),), ())


def test_the_teams_mapping_gives_the_team_of_an_assignee_without_one() -> None:
    teams = {"ana": "pay", "bo": "core"}
    events = worked(
        (1, {"assignee": "ana"}),  # team pay
        (12, {"assignee": "bo"}),  # team core: a team handoff too
        (14, {"assignee": "cy"}),  # not mapped: the team stays core
        (16, {"assignee": "ana", "team": "ops"}),  # a named team wins over the mapping
    )
    facts = facts_of(events, teams)
    assert (facts.handoffs, facts.team) == ((3, 2), "ops")
    assert facts_of(events).handoffs == (3, 0)  # without the mapping: one team named, once


def test_team_and_parent_are_the_latest_named_and_null_clears_them() -> None:
    events = worked((1, {"team": "T", "parent": "E-1"}), (5, {"parent": "E-2"}), (6, {"team": ""}))
    facts = facts_of(events)
    assert (facts.team, facts.parent) == (None, "E-2")


def test_the_cap_keeps_the_largest_values_and_sums_the_rest_as_other() -> None:
    counts = {f"v{i:03}": i for i in range(1, TOP_VALUES + 6)}  # 55 values, 1..55
    shown = capped(counts)
    assert len(shown) == TOP_VALUES + 1
    assert shown[OTHER] == 1 + 2 + 3 + 4 + 5
    assert min(n for v, n in shown.items() if v != OTHER) == 6
    assert capped({"a": 1}) == {"a": 1}
