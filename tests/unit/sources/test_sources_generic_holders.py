"""Generic events' `assignee`, `team`, `parent` and `reason` (CONTRACT.md): accepted, carried in
the canonical event, `null` kept apart from "not given" through storage, and refused with a
clear error where they make no sense."""

from __future__ import annotations

from typing import Any

import pytest

from flowgauge.engine.timeline import Timeline
from flowgauge.model.delivery import Delivery
from flowgauge.sources import PayloadError, generic

AT = "2026-11-01T09:00:00+01:00"


def one(**fields: Any) -> dict[str, Any]:
    return {"id": "e1", "type": "state", "item": "A-1", "at": AT, "state": "Doing", **fields}


def test_holder_and_parent_are_carried() -> None:
    (event,) = generic.normalize({}, one(assignee="ana", team="payments", parent="ACME-100"))
    assert (event.assignee, event.team, event.parent) == ("ana", "payments", "ACME-100")


def test_null_says_none_and_absent_says_nothing() -> None:
    (given,) = generic.normalize({}, one(assignee=None, team=None, parent=None))
    (silent,) = generic.normalize({}, one())
    assert (given.assignee, given.team, given.parent) == ("", "", "")
    assert (silent.assignee, silent.team, silent.parent) == (None, None, None)


def test_the_difference_survives_storage() -> None:
    events = generic.normalize(
        {}, [one(assignee=None), {**one(assignee="bo"), "id": "e2"}, {**one(), "id": "e3"}]
    )
    timeline = Timeline.from_bytes(Timeline.from_events(events, "s").to_bytes())
    assert [e.assignee for e in timeline.events] == ["", "bo", None]
    delivery = Delivery(
        source="generic", headers={}, body="[]", received_at=AT, delivery_id="d"
    ).with_events(events)
    assert Delivery.from_bytes(delivery.to_bytes()).events == tuple(events)


@pytest.mark.parametrize("kind", ["blocked", "unblocked"])
def test_reason_of_blocked_and_unblocked(kind: str) -> None:
    raw = {"id": "b", "type": kind, "item": "A-1", "at": AT}
    (event,) = generic.normalize({}, {**raw, "reason": "dependency"})
    assert event.reason == "dependency"
    (event,) = generic.normalize({}, raw)
    assert event.reason is None  # read as `unspecified` (METRICS.md)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (one(reason="dependency"), "event 0: reason: only blocked and unblocked events"),
        ({**one(), "type": "blocked", "reason": ""}, "event 0: reason:"),
        (one(assignee=7), "event 0: assignee:"),
        (one(team=["a", "b"]), "event 0: team:"),
        (one(parent="x" * 600), "event 0: parent:"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        generic.normalize({}, raw)
