"""Each reading of an item's life (METRICS.md, docs/metrics.md), with hand-computed facts."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import ev, st, stream, us

from flowgauge.engine.item import ItemFacts, derive
from flowgauge.engine.timeline import Timeline
from flowgauge.model import FlowEvent

S = 1_000_000  # one second in microseconds
BACKLOG, DEV, REVIEW, TEST, DONE, RELEASED = range(6)

CASES: list[tuple[str, list[FlowEvent], dict[str, Any]]] = [
    (
        "straight through",
        [
            ev("a", "created", 0),
            st("b", 10, "In Progress"),
            st("c", 30, "In Review"),
            st("d", 40, "QA"),
            st("e", 60, "Done"),
        ],
        {
            "created_at": us(0),
            "started_at": us(10),
            "completed_at": us(60),
            "stage": DONE,
            "stage_entered_at": us(60),
            "rework": False,
            "stages": (
                (BACKLOG, 0, 10 * S, 0),
                (DEV, 20 * S, 0, 0),
                (REVIEW, 0, 10 * S, 0),
                (TEST, 20 * S, 0, 0),
            ),
            "active": 40 * S,
            "wait": 10 * S,
            "blocked_time": 0,
        },
    ),
    (
        "reopen: rework, done time before the reopen is wait, completed_at is the last entry",
        [
            ev("a", "created", 0),
            st("b", 10, "In Progress"),
            st("c", 20, "Done"),
            st("d", 30, "In Progress"),
            st("e", 50, "Done"),
        ],
        {
            "completed_at": us(50),
            "rework": True,
            "stages": ((BACKLOG, 0, 10 * S, 0), (DEV, 30 * S, 0, 0), (DONE, 0, 10 * S, 0)),
            "active": 30 * S,
            "wait": 10 * S,
        },
    ),
    (
        "reopened and not done again: in progress",
        [ev("a", "created", 0), st("b", 10, "Done"), st("c", 20, "In Review")],
        {"completed_at": None, "stage": REVIEW, "rework": True, "started_at": us(10)},
    ),
    (
        "blocked until done: blocked until completion, still flagged",
        [
            ev("a", "created", 0),
            st("b", 10, "In Progress"),
            ev("c", "blocked", 15),
            st("d", 25, "Done"),
        ],
        {
            "completed_at": us(25),
            "blocked": True,
            "stages": ((BACKLOG, 0, 10 * S, 0), (DEV, 5 * S, 0, 10 * S)),
            "active": 5 * S,
            "blocked_time": 10 * S,
        },
    ),
    (
        "blocked label added and removed; other labels change nothing",
        [
            ev("a", "created", 0),
            st("b", 10, "In Progress"),
            ev("c", "labeled", 15, label="blocked"),
            ev("d", "labeled", 16, label="other"),
            ev("e", "unlabeled", 20, label="blocked"),
            ev("f", "unlabeled", 22, label="other"),
            st("g", 30, "Done"),
        ],
        {"blocked": False, "active": 15 * S, "blocked_time": 5 * S},
    ),
    (
        "repeated blocks for a held reason change nothing: the first unblock ends it",
        [
            ev("a", "created", 0),
            st("b", 10, "In Progress"),
            ev("c", "blocked", 12),
            ev("e", "blocked", 15),
            ev("f", "unblocked", 16),
            st("g", 30, "Done"),
        ],
        {"active": 16 * S, "blocked_time": 4 * S, "reason_time": (("unspecified", 4 * S),)},
    ),
    (
        "blocked while one reason holds: an unblock for another reason ends nothing",
        [
            ev("a", "created", 0),
            st("b", 10, "In Progress"),
            ev("c", "blocked", 12),
            ev("d", "labeled", 14, label="blocked"),  # reason `label`
            ev("f", "unblocked", 16),  # `unspecified` ends, `label` holds
            ev("h", "blocked", 20, reason="dependency"),
            ev("i", "unblocked", 25, reason="flag"),  # not held: nothing
            st("g", 30, "Done"),
        ],
        {
            "active": 2 * S,
            "blocked_time": 18 * S,
            "blocked": True,
            "blocked_reasons": ("dependency", "label"),
            "reason_time": (("dependency", 10 * S), ("label", 16 * S), ("unspecified", 4 * S)),
        },
    ),
    (
        "blocked seconds by reason count from created_at, like the stages' blocked seconds",
        [
            ev("a", "created", 0),
            ev("b", "blocked", 2, reason="approval"),
            ev("c", "unblocked", 5, reason="approval"),
            st("d", 10, "In Progress"),
            st("e", 20, "Done"),
        ],
        {"blocked_time": 0, "reason_time": (("approval", 3 * S),), "blocked_reasons": ()},
    ),
    (
        "blocked in a wait stage is blocked, not wait",
        [
            ev("a", "created", 0),
            st("b", 10, "In Review"),
            ev("c", "blocked", 12),
            ev("d", "unblocked", 17),
            st("e", 20, "Done"),
        ],
        {
            "stages": ((BACKLOG, 0, 10 * S, 0), (REVIEW, 0, 5 * S, 5 * S)),
            "started_at": us(10),
            "wait": 5 * S,
            "blocked_time": 5 * S,
        },
    ),
    (
        "unmapped state: counted, does not move the item",
        [ev("a", "created", 0), st("b", 10, "Somewhere"), st("c", 12, "In Progress")],
        {"unmapped": 1, "stage": DEV, "stage_entered_at": us(12), "started_at": us(12)},
    ),
    (
        "no created event: created_at is the earliest event, created in that stage directly",
        [st("a", 5, "In Progress"), st("b", 15, "Done")],
        {
            "created_at": us(5),
            "started_at": us(5),
            "completed_at": us(15),
            "stages": ((DEV, 10 * S, 0, 0),),
            "active": 10 * S,
        },
    ),
    (
        "created naming a state puts the item there (after commitment: started)",
        [ev("a", "created", 0, state="In Review"), st("b", 5, "Done")],
        {"started_at": us(0), "stages": ((REVIEW, 0, 5 * S, 0),), "wait": 5 * S},
    ),
    (
        "created naming the backlog: not started",
        [ev("a", "created", 0, state="Backlog")],
        {"started_at": None, "stage": BACKLOG, "completed_at": None},
    ),
    (
        "a created event later than the earliest event: earliest wins, no move back",
        [st("a", 5, "In Progress"), ev("b", "created", 10)],
        {"created_at": us(5), "stage": DEV, "started_at": us(5)},
    ),
    (
        "equal timestamps: ordered by id (review then dev: a move back)",
        [
            ev("a0", "created", 0),
            st("b", 10, "In Progress"),
            st("a", 10, "In Review"),
            st("c", 20, "Done"),
        ],
        {
            "rework": True,
            "stage_entered_at": us(20),
            "stages": ((BACKLOG, 0, 10 * S, 0), (DEV, 10 * S, 0, 0), (REVIEW, 0, 0, 0)),
            "started_at": us(10),
        },
    ),
    (
        "done to done is not a new completion and not rework",
        [ev("a", "created", 0), st("b", 20, "Done"), st("c", 30, "Released")],
        {"completed_at": us(20), "rework": False, "stage": RELEASED, "started_at": us(20)},
    ),
    (
        "moving back within done is rework, completion unchanged",
        [ev("a", "created", 0), st("b", 20, "Released"), st("c", 30, "Done")],
        {"completed_at": us(20), "rework": True, "stage": DONE},
    ),
    (
        "defect: the latest item_type wins",
        [ev("a", "created", 0, item_type="bug"), ev("b", "state", 1, state="QA", item_type="x")],
        {"defect": False},
    ),
    (
        "defect: item_type bug",
        [ev("a", "created", 0, item_type="feature"), ev("b", "state", 1, item_type="bug")],
        {"defect": True, "unmapped": 1},
    ),
    (
        "defect from labels only when no item_type is known",
        [ev("a", "created", 0, labels=["bug"]), ev("b", "labeled", 1, label="x")],
        {"defect": True},
    ),
    (
        "a label removed is no longer a defect",
        [
            ev("a", "created", 0),
            ev("b", "labeled", 1, label="bug"),
            ev("c", "unlabeled", 2, label="bug"),
        ],
        {"defect": False},
    ),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_derive(events: list[FlowEvent], expected: dict[str, Any]) -> None:
    facts = derive(Timeline.from_events(events), stream())
    assert facts is not None
    actual = {name: getattr(facts, name) for name in expected}
    assert actual == expected


def test_commitment_explicit() -> None:
    events = [ev("a", "created", 0), st("b", 10, "In Progress"), st("c", 20, "In Review")]
    facts = derive(Timeline.from_events(events), stream(commitment="review"))
    assert facts is not None and facts.started_at == us(20)


def test_commitment_default_is_the_first_active_stage() -> None:
    assert stream().commitment_index == DEV
    events = [ev("a", "created", 0), st("b", 10, "In Review")]
    facts = derive(Timeline.from_events(events), stream())
    assert facts is not None and facts.started_at == us(10)  # review is after dev


def test_commitment_after_a_done_stage_never_starts_before_completion() -> None:
    config = stream(commitment="released")
    events = [ev("a", "created", 0), st("b", 10, "Done"), st("c", 20, "Released")]
    facts = derive(Timeline.from_events(events), config)
    assert facts is not None
    assert (facts.started_at, facts.completed_at, facts.cycle_start) == (us(20), us(10), None)
    assert (facts.active, facts.wait, facts.blocked_time) == (0, 0, 0)


@pytest.mark.parametrize("deleted_at", [-5, 0, 5, 100])
def test_deleted_removes_the_item_wherever_it_is(deleted_at: int) -> None:
    events = [ev("a", "created", 0), st("b", 10, "Done"), ev("z", "deleted", deleted_at)]
    assert derive(Timeline.from_events(events), stream()) is None


def test_empty_timeline_has_no_facts() -> None:
    assert derive(Timeline(), stream()) is None


def test_in_progress_item_has_no_accounting() -> None:
    events = [ev("a", "created", 0), st("b", 10, "In Progress"), ev("c", "blocked", 12)]
    facts = derive(Timeline.from_events(events), stream())
    assert facts == ItemFacts(
        created_at=us(0),
        started_at=us(10),
        completed_at=None,
        stage=DEV,
        blocked=True,
        stage_entered_at=us(10),
        rework=False,
        defect=False,
        blocked_reasons=("unspecified",),
    )
