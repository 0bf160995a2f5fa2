"""A Plane work item and its activities, as the webhook deliveries Plane sent. Pure.

The REST API gives a work item as it is now and its activities: one per changed field, written
when the change was made (its `created_at` is the work item's `updated_at` of that change, which
the webhook's event id names: sources/plane.py). Walking the activities backwards from now gives
the work item as it was after each change (state, labels, assignees, parent), which is what each
v2 `workitem.updated` carried, with the old values in `previous_attributes`. A `blocked_by`
activity becomes the v1 `issue` update Plane sends per activity (v2 bodies carry no relations):
the only shape a relation is read from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flowgauge.importers.base import Delivery
from flowgauge.importers.rewind import instants, millis, rewind, undo_each
from flowgauge.sources._native import need_obj, need_text, opt_text
from flowgauge.sources.base import PayloadError
from flowgauge.sources.plane import BLOCKED_BY


@dataclass(frozen=True)
class ItemState:
    state: str | None
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    parent: str | None


def _ids(value: Any) -> tuple[str, ...]:
    found = value if isinstance(value, list) else []
    return tuple(x for x in (opt_text(v) for v in found) if x is not None)


def _now(item: Mapping[str, Any]) -> ItemState:
    return ItemState(
        state=opt_text(item.get("state")),
        labels=_ids(item.get("labels")),
        assignees=_ids(item.get("assignees")),
        parent=opt_text(item.get("parent")),
    )


def _toggle(values: tuple[str, ...], add: str | None, drop: str | None) -> tuple[str, ...]:
    kept = tuple(v for v in values if v != add)
    return (*kept, drop) if drop is not None and drop not in kept else kept


def _undo(state: ItemState, activity: Mapping[str, Any]) -> ItemState:
    """The work item before `activity`, from the work item after it."""
    field = opt_text(activity.get("field"))
    old, new = opt_text(activity.get("old_identifier")), opt_text(activity.get("new_identifier"))
    if field == "state" and old is not None:
        return replace(state, state=old)
    if field == "labels":
        return replace(state, labels=_toggle(state.labels, new, old))
    if field == "assignees":
        return replace(state, assignees=_toggle(state.assignees, new, old))
    if field == "parent":
        return replace(state, parent=old)
    return state


def _data(item: Mapping[str, Any], project: str, state: ItemState, at: Any) -> dict[str, Any]:
    """The work item as a v2 webhook of that moment carried it."""
    return {
        "id": item.get("id"),
        "project_id": project,
        "state_id": state.state,
        "label_ids": list(state.labels),
        "assignee_ids": list(state.assignees),
        "parent_id": state.parent,
        "created_at": item.get("created_at"),
        "updated_at": at,
    }


def _previous(before: ItemState, after: ItemState) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, old, new in (
        ("state_id", before.state, after.state),
        ("label_ids", list(before.labels), list(after.labels)),
        ("assignee_ids", list(before.assignees), list(after.assignees)),
        ("parent_id", before.parent, after.parent),
    ):
        if old != new:
            out[key] = old
    return out


def _relation(item: Mapping[str, Any], project: str, state: ItemState, act: Any) -> Delivery:
    """A v1 `issue` update of one `blocked_by` activity (v1 expands neither labels nor
    assignees: empty lists, as Plane sends them)."""
    data = {
        "id": item.get("id"),
        "project": project,
        "state": state.state,
        "labels": [],
        "assignees": [],
        "created_at": item.get("created_at"),
        "updated_at": act.get("created_at"),
    }
    activity = {k: act.get(k) for k in ("field", "old_value", "new_value")}
    return {}, {"event": "issue", "action": "update", "data": data, "activity": activity}


def _order(activity: Mapping[str, Any]) -> tuple[int, str]:
    return millis(activity.get("created_at"), "activity.created_at"), need_text(
        activity.get("id"), "activity.id"
    )


def work_item_deliveries(
    item: Mapping[str, Any], project: str, activities: list[Any]
) -> list[Delivery]:
    """`workitem.created`, then one `workitem.updated` per instant with activities other than
    relations (Plane sends one for any edit), and a v1 update per `blocked_by` activity."""
    need_text(item.get("id"), "work_item.id")
    created = item.get("created_at")
    millis(created, "work_item.created_at")
    activities_read = (need_obj(x, "activity") for x in activities)
    updates = (a for a in activities_read if a.get("verb") == "updated")
    grouped = instants(updates, _order)
    state, after = rewind(_now(item), grouped, undo_each(_undo))
    out: list[Delivery] = [
        ({}, {"event": "workitem.created", "data": _data(item, project, state, created)})
    ]
    for group, state_after in zip(grouped, after, strict=True):
        at = group[0].get("created_at")
        edits = [a for a in group if opt_text(a.get("field")) != BLOCKED_BY]
        if edits:
            body = {
                "event": "workitem.updated",
                "data": _data(item, project, state_after, at),
                "previous_attributes": _previous(state, state_after),
            }
            out.append(({}, body))
        out.extend(_relation(item, project, state_after, a) for a in group if a not in edits)
        state = state_after
    return out


def check(item: Any) -> dict[str, Any]:
    """A work item of the API, or PayloadError naming what is missing."""
    node = need_obj(item, "a work item")
    for name in ("id", "created_at"):
        if opt_text(node.get(name)) is None:
            raise PayloadError(f"work_item.{name} is missing")
    return node
