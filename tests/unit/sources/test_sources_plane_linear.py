"""Plane and Linear behaviours beyond the golden payloads, built by editing them."""

from __future__ import annotations

from typing import Any

import pytest
from sources_helpers import ev, kept, payload, same_events

from flowgauge.sources import PayloadError, jira, linear, plane

PROJECT = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"
ITEM = f"plane:{PROJECT}/9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


def plane_body(event: str, **data: Any) -> dict[str, Any]:
    """The update payload as `event`, without labels unless `data` gives some."""
    body = payload("plane", "workitem.updated.json", event=event)
    body["data"].update({"label_ids": [], "assignee_ids": [], "parent_id": None, **data})
    return body


def test_plane_created_names_the_state_when_expanded() -> None:
    body = plane_body("workitem.created", state={"id": "s1", "name": "Backlog"})
    expected = ev(
        "plane",
        "created",
        ITEM,
        "2026-02-16T10:00:00+00:00",
        project=PROJECT,
        kind="work_item",
        state="Backlog",
        labels=(),
        assignee="",
        parent="",
    )
    same_events(plane.normalize({}, body), [expected])


def test_plane_label_changes_by_id() -> None:
    body = plane_body("workitem.updated", label_ids=["L2", "L3"])
    body["previous_attributes"] = {"label_ids": ["L1", "L2"]}
    events = plane.normalize({}, body)
    assert [(e.type, e.label) for e in events] == [
        ("state", None),
        ("labeled", "L3"),
        ("unlabeled", "L1"),
    ]
    assert events[0].labels == ("L2", "L3")


def test_plane_deleted() -> None:
    body = plane_body("workitem.deleted", deleted_at="2026-04-01T00:00:00+00:00")
    (event,) = plane.normalize({}, body)
    assert (event.type, event.item, event.at.isoformat()) == (
        "deleted",
        ITEM,
        "2026-04-01T00:00:00+00:00",
    )


def test_plane_v1_state_change_has_change_derived_ids() -> None:
    body: dict[str, Any] = {
        "event": "issue",
        "action": "update",
        "webhook_id": "w",
        "workspace_id": "ws",
        "data": {
            "id": "i1",
            "project": "p1",
            "state": "s2",
            "updated_at": "2023-10-25T06:44:48.543685Z",
        },
        "activity": {"field": "state_id", "old_value": "s1", "new_value": "s2", "actor": "a"},
    }
    (event,) = plane.normalize({"x-plane-delivery": "attempt-1"}, body)
    assert (event.type, event.item, event.state) == ("state", "plane:p1/i1", "s2")
    again = plane.normalize({"x-plane-delivery": "attempt-2"}, body)
    assert [e.id for e in again] == [event.id] and event.id.startswith("plane:wi1-u")
    body["activity"]["field"] = "priority"
    assert plane.normalize({}, body) == []


def test_plane_body_without_event_is_refused() -> None:
    with pytest.raises(PayloadError):
        plane.normalize({}, {"data": {}})


TEAM = {"id": "t1", "key": "ENG", "name": "Engineering"}
DOING = {"id": "st-2", "name": "In Progress", "type": "started"}


def linear_issue(action: str, **extra: Any) -> dict[str, Any]:
    """A Linear Issue event in the documented (SDK schema) shape, on the golden envelope."""
    body = payload("linear", "Issue.create.json", action=action)
    body["data"] = {
        "id": "539068e2-ae88-4d09-bd75-22eb4a59612f",
        "identifier": "ENG-123",
        "number": 123,
        "title": "Make it faster",
        "stateId": DOING["id"],
        "state": DOING,
        "team": TEAM,
        "labelIds": ["lb-1"],
        "labels": [{"id": "lb-1", "name": "Bug"}],
        "createdAt": "2020-01-23T12:00:00.000Z",
        "updatedAt": "2020-01-24T09:30:00.000Z",
    }
    body.update(extra)
    return body


LINEAR_FIELDS = {
    "project": "ENG",
    "kind": "issue",
    "labels": ("Bug",),
    "item_type": "bug",
    "team": "ENG",
}


def test_linear_issue_create() -> None:
    """Created with the `Bug` label: the label is also a `labeled` event, at creation."""
    created = ev(
        "linear",
        "created",
        "linear:ENG-123",
        "2020-01-23T12:00:00Z",
        state="In Progress",
        **LINEAR_FIELDS,
    )
    labeled = ev("linear", "labeled", "linear:ENG-123", "2020-01-23T12:00:00Z", label="Bug")
    labeled = labeled.model_copy(update=LINEAR_FIELDS)
    got = linear.normalize({"linear-delivery": "x"}, linear_issue("create"))
    same_events(got, [created, labeled])
    created_key = "linear:i539068e2-ae88-4d09-bd75-22eb4a59612f-created"  # the change, not "x"
    assert [e.id for e in got] == [f"{created_key}:0", f"{created_key}:1"]


def test_linear_state_change_needs_updated_from_state_id() -> None:
    moved = linear_issue("update", updatedFrom={"stateId": "st-1", "updatedAt": "x"})
    expected = ev(
        "linear",
        "state",
        "linear:ENG-123",
        "2020-01-24T09:30:00Z",
        state="In Progress",
        **LINEAR_FIELDS,
    )
    same_events(linear.normalize({}, moved), [expected])
    renamed = linear_issue("update", updatedFrom={"title": "Make it fast"})
    assert linear.normalize({}, renamed) == []


def test_linear_label_changes() -> None:
    body = linear_issue("update", updatedFrom={"labelIds": ["lb-0"]})
    events = linear.normalize({}, body)
    assert [(e.type, e.label) for e in events] == [("labeled", "Bug"), ("unlabeled", "lb-0")]


def test_linear_remove_and_uuid_items() -> None:
    body = linear_issue("remove")
    del body["data"]["identifier"]
    body["data"]["archivedAt"] = "2020-02-01T00:00:00.000Z"
    (event,) = linear.normalize({}, body)
    assert (event.type, event.item) == ("deleted", "linear:539068e2-ae88-4d09-bd75-22eb4a59612f")
    assert event.project == "ENG"


def test_linear_body_without_type_is_refused() -> None:
    with pytest.raises(PayloadError):
        linear.normalize({}, {"action": "create", "data": {}})


@pytest.mark.parametrize("provider", ["jira", "plane", "linear"])
def test_an_item_created_with_a_label_gets_a_labeled_event(provider: str) -> None:
    """Created already carrying `blocked`: without the event it would never count as blocked.

    These platforms send the initial labels only inside the create payload (no label event).
    """
    if provider == "jira":
        body = payload("jira", "jira_issue_created.json")
        body["issue"]["fields"]["labels"] = ["blocked"]
        events = kept(jira.normalize({}, body))  # `blocked` makes no incident
    elif provider == "plane":
        events = plane.normalize({}, plane_body("workitem.created", label_ids=["blocked"]))
    else:
        body = linear_issue("create")
        body["data"]["labels"] = [{"id": "lb-9", "name": "blocked"}]
        events = linear.normalize({}, body)
    created, labeled = events
    assert (created.type, labeled.type, labeled.label) == ("created", "labeled", "blocked")
    assert labeled.at == created.at and labeled.item == created.item
    assert labeled.labels == ("blocked",)


def test_an_item_created_without_labels_gets_no_label_event() -> None:
    assert [e.type for e in plane.normalize({}, plane_body("workitem.created"))] == ["created"]
    body = linear_issue("create")
    body["data"]["labels"] = []
    assert [e.type for e in linear.normalize({}, body)] == ["created"]
