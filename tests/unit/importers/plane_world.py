"""A Plane history built once, rendered two ways: as the webhooks Plane sent while it happened
(v2 `workitem.*` bodies; a `blocked_by` relation as the v1 per-activity `issue` update, the only
webhook shape that carries one), and as what Plane's REST API answers afterwards (work items as
they are now, and their activities). The importer reconstructs the first from the second.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import recorded

SLUG = "acme-shop"
PROJECT = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"
STATES = ["st-backlog", "st-doing", "st-review", "st-done"]
LABELS = ["lb-bug", "lb-blocked", "lb-ux"]
PEOPLE = ["u-mia", "u-noor", "u-ola"]
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def plane_time(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z") if at.microsecond else at.isoformat()


@dataclass(frozen=True)
class State:
    state: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    parent: str | None


@dataclass
class Change:
    id: str
    at: datetime
    field: str
    old: str | None  # old_identifier / new_identifier (for blocked_by: the related key)
    new: str | None
    after: State


@dataclass
class WorkItem:
    id: str
    sequence: int
    created: datetime
    initial: State
    changes: list[Change] = field(default_factory=list)

    def now(self) -> State:
        return self.changes[-1].after if self.changes else self.initial


def _change(
    rng: random.Random, state: State, others: list[WorkItem]
) -> tuple[str, Any, Any, State]:
    roll = rng.random()
    if roll < 0.35:
        new = rng.choice([s for s in STATES if s != state.state])
        return "state", state.state, new, replace(state, state=new)
    if roll < 0.55:
        who = rng.choice(PEOPLE)
        if who in state.assignees:
            return (
                "assignees",
                who,
                None,
                replace(state, assignees=tuple(x for x in state.assignees if x != who)),
            )
        return "assignees", None, who, replace(state, assignees=(*state.assignees, who))
    if roll < 0.75:
        label = rng.choice(LABELS)
        if label in state.labels:
            return (
                "labels",
                label,
                None,
                replace(state, labels=tuple(x for x in state.labels if x != label)),
            )
        return "labels", None, label, replace(state, labels=(*state.labels, label))
    if roll < 0.85 and others:
        parent = rng.choice(others).id
        if parent != state.parent:
            return "parent", state.parent, parent, replace(state, parent=parent)
    return "name", None, None, state


def world(seed: int, items: int = 20, changes: int = 8) -> list[WorkItem]:
    rng = random.Random(seed)
    out: list[WorkItem] = []
    for n in range(items):
        created = START + timedelta(hours=rng.randrange(24 * 60), microseconds=rng.randrange(10**6))
        labels = tuple(rng.sample(LABELS, rng.randrange(0, 2)))
        initial = State(STATES[0], labels, tuple(rng.sample(PEOPLE, rng.randrange(0, 3))), None)
        item = WorkItem(str(uuid.UUID(int=rng.getrandbits(128))), n + 1, created, initial)
        at, state, blockers = created, initial, set[str]()
        for _ in range(rng.randrange(changes)):
            at += timedelta(
                minutes=rng.randrange(1, 2 * 24 * 60), microseconds=rng.randrange(10**6)
            )
            change_id = str(uuid.UUID(int=rng.getrandbits(128)))
            if rng.random() < 0.15 and out:
                key = f"SHOP-{rng.choice(out).sequence}"
                old, new = (key, None) if key in blockers else (None, key)
                blockers.symmetric_difference_update({key})
                item.changes.append(Change(change_id, at, "blocked_by", old, new, state))
                continue
            field_name, old, new, state = _change(rng, state, out)
            item.changes.append(Change(change_id, at, field_name, old, new, state))
        out.append(item)
    return out


# --- the webhooks Plane sent ------------------------------------------------------------------


def data(item: WorkItem, state: State, updated: datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": f"work item {item.sequence}",
        "sequence_id": item.sequence,
        "priority": "medium",
        "state_id": state.state,
        "label_ids": list(state.labels),
        "assignee_ids": list(state.assignees),
        "project_id": PROJECT,
        "workspace_id": "3f1e2d4c-5b6a-4789-8a9b-0c1d2e3f4a5b",
        "created_at": plane_time(item.created),
        "updated_at": plane_time(updated),
        "is_draft": False,
        "parent_id": state.parent,
        "archived_at": None,
    }


def _v2(event: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "v2",
        "delivery_id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),  # per event: a change twice-delivered keeps it
        "entity_type": "issue",
        "event": event,
        "webhook_id": "f0e1d2c3-b4a5-4968-8776-655443322110",
        "workspace_id": "3f1e2d4c-5b6a-4789-8a9b-0c1d2e3f4a5b",
        **body,
    }


def _previous(before: State, after: State) -> dict[str, Any]:
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


def webhooks(items: list[WorkItem]) -> list[tuple[dict[str, str], dict[str, Any]]]:
    out: list[dict[str, Any]] = []
    for item in items:
        out.append(_v2("workitem.created", {"data": data(item, item.initial, item.created)}))
        before = item.initial
        for change in item.changes:
            if change.field == "blocked_by":
                v1 = {
                    "event": "issue",
                    "action": "update",
                    "webhook_id": "f0e1d2c3-b4a5-4968-8776-655443322110",
                    "data": {
                        "id": item.id,
                        "project": PROJECT,
                        "state": before.state,
                        "labels": [],
                        "assignees": [],
                        "created_at": plane_time(item.created),
                        "updated_at": plane_time(change.at),
                    },
                    "activity": {
                        "field": "blocked_by",
                        "new_value": change.new,
                        "old_value": change.old,
                        "actor": {"id": "u-mia", "display_name": "mia"},
                    },
                }
                out.append(v1)
                continue
            body = {"data": data(item, change.after, change.at)}
            body["previous_attributes"] = _previous(before, change.after)
            out.append(_v2("workitem.updated", body))
            before = change.after
    return [({"x-plane-delivery": str(uuid.uuid4())}, body) for body in out]


def delivery_lines(deliveries: list[tuple[dict[str, str], dict[str, Any]]]) -> bytes:
    """What the raw topic (and `report`) reads: one delivery record per line."""
    return recorded.delivery_lines("plane", "x-plane-delivery", deliveries)


# --- what the REST API answers ------------------------------------------------------------------


def api_item(item: WorkItem) -> dict[str, Any]:
    state = item.now()
    updated = item.changes[-1].at if item.changes else item.created
    return {
        "id": item.id,
        "name": f"work item {item.sequence}",
        "sequence_id": item.sequence,
        "state": state.state,
        "labels": list(state.labels),
        "assignees": list(state.assignees),
        "parent": state.parent,
        "project": PROJECT,
        "workspace": "3f1e2d4c-5b6a-4789-8a9b-0c1d2e3f4a5b",
        "priority": "medium",
        "created_at": plane_time(item.created),
        "updated_at": plane_time(updated),
    }


def api_activities(item: WorkItem) -> list[dict[str, Any]]:
    """Activities oldest first: the creation, then one per changed field."""
    created = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, item.id)),
        "verb": "created",
        "field": None,
        "old_value": None,
        "new_value": None,
        "old_identifier": None,
        "new_identifier": None,
        "created_at": plane_time(item.created),
        "issue": item.id,
        "project": PROJECT,
    }
    out = [created]
    for change in item.changes:
        relation = change.field == "blocked_by"
        out.append(
            {
                **created,
                "id": change.id,
                "verb": "updated",
                "field": change.field,
                "old_value": change.old if relation else (change.old and f"name of {change.old}"),
                "new_value": change.new if relation else (change.new and f"name of {change.new}"),
                "old_identifier": None if relation else change.old,
                "new_identifier": None if relation else change.new,
                "created_at": plane_time(change.at),
            }
        )
    return out
