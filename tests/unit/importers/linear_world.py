"""A Linear history built once, rendered two ways: as the webhooks Linear sent while it happened,
and as what Linear's GraphQL API answers afterwards (issues as they are now, and their history).

The webhooks are simulated forwards (each `Issue` body carries the issue as it was right after the
change, `updatedFrom` the old values; a relation is an `IssueRelation` body); the importer
reconstructs them backwards from the API's view. Comparing the two is the test that an import
gives exactly what the webhooks gave.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import recorded

TEAM = {"id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f", "key": "OPS", "name": "Operations"}
STATES = [(f"st-{n}", name) for n, name in enumerate(["Todo", "In Progress", "In Review", "Done"])]
LABELS = [("lb-bug", "Bug"), ("lb-blocked", "blocked"), ("lb-ux", "ux")]
PEOPLE = [("u-mia", "Mia"), ("u-noor", "Noor"), ("u-ola", "Ola")]
PROJECTS = [("pr-print", "Printing"), ("pr-ship", "Shipping")]
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
Ref = tuple[str, str] | None


def linear_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class State:
    state: tuple[str, str]
    labels: tuple[tuple[str, str], ...]
    assignee: Ref
    project: Ref
    parent: Ref


@dataclass
class Change:
    id: str
    at: datetime
    after: State  # the issue right after (unchanged for a title edit or a relation)
    title: bool = False
    relation: tuple[str, str] | None = None  # ("a" | "r", blocker identifier)


@dataclass
class Issue:
    id: str
    identifier: str
    created: datetime
    initial: State
    changes: list[Change] = field(default_factory=list)
    archived: datetime | None = None

    def now(self) -> State:
        return self.changes[-1].after if self.changes else self.initial


def _ref(value: Ref, name: str = "name") -> dict[str, str] | None:
    return None if value is None else {"id": value[0], name: value[1]}


def data(issue: Issue, state: State, updated: datetime) -> dict[str, Any]:
    """An `Issue` webhook's `data` (the fields Linear sends that flowgauge reads, and some more)."""
    return {
        "id": issue.id,
        "identifier": issue.identifier,
        "number": int(issue.identifier.split("-")[1]),
        "title": f"issue {issue.identifier}",
        "teamId": TEAM["id"],
        "team": TEAM,
        "stateId": state.state[0],
        "state": {"id": state.state[0], "name": state.state[1], "type": "started"},
        "labelIds": [x[0] for x in state.labels],
        "labels": [{"id": i, "name": n, "color": "#eb5757"} for i, n in state.labels],
        "assigneeId": state.assignee[0] if state.assignee else None,
        "assignee": _ref(state.assignee),
        "projectId": state.project[0] if state.project else None,
        "project": _ref(state.project),
        "parentId": state.parent[0] if state.parent else None,
        "parent": _ref(state.parent, "identifier"),
        "createdAt": linear_time(issue.created),
        "updatedAt": linear_time(updated),
        "archivedAt": None,
    }


def _next_state(rng: random.Random, state: State, others: list[Issue]) -> State:
    roll = rng.random()
    if roll < 0.4:
        return replace(state, state=rng.choice(STATES))
    if roll < 0.6:
        return replace(state, assignee=rng.choice([*PEOPLE, None]))
    if roll < 0.8:
        label = rng.choice(LABELS)
        labels = [x for x in state.labels if x != label]
        if label not in state.labels:
            labels.append(label)
        return replace(state, labels=tuple(labels))
    if roll < 0.9 or not others:
        return replace(state, project=rng.choice([*PROJECTS, None]))
    parent = rng.choice(others)
    return replace(state, parent=(parent.id, parent.identifier))


def world(seed: int, issues: int = 20, changes: int = 8) -> list[Issue]:
    rng = random.Random(seed)
    out: list[Issue] = []
    for n in range(issues):
        created = START + timedelta(hours=rng.randrange(24 * 60), milliseconds=rng.randrange(1000))
        labels = tuple(rng.sample(LABELS, rng.randrange(0, 2)))
        initial = State(STATES[0], labels, rng.choice([*PEOPLE, None]), None, None)
        issue = Issue(str(uuid.UUID(int=rng.getrandbits(128))), f"OPS-{n + 1}", created, initial)
        at, state, blockers = created, initial, set[str]()
        for _ in range(rng.randrange(changes)):
            at += timedelta(minutes=rng.randrange(1, 2 * 24 * 60), milliseconds=rng.randrange(1000))
            change_id = str(uuid.UUID(int=rng.getrandbits(128)))
            roll = rng.random()
            if roll < 0.1:
                issue.changes.append(Change(change_id, at, state, title=True))
            elif roll < 0.25 and out:
                blocker = rng.choice(out).identifier
                action = "r" if blocker in blockers else "a"
                blockers.symmetric_difference_update({blocker})
                issue.changes.append(Change(change_id, at, state, relation=(action, blocker)))
            else:
                state = _next_state(rng, state, out)
                issue.changes.append(Change(change_id, at, state))
        if rng.random() < 0.1:
            issue.archived = at + timedelta(days=1)
        out.append(issue)
    return out


# --- the webhooks Linear sent -----------------------------------------------------------------


def _envelope(action: str, type_: str, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": action,
        "type": type_,
        **body,
        "url": "https://linear.app/acme-shop/issue/x",
        "createdAt": linear_time(at),
        "organizationId": "7b8c9d0e-1f2a-4b3c-8d4e-6f7a8b9c0d1e",
        "webhookTimestamp": int(at.timestamp() * 1000) + 250,
        "webhookId": "8c9d0e1f-2a3b-4c4d-9e5f-7a8b9c0d1e2f",
    }


def _updated_from(before: State, after: State, at: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"updatedAt": linear_time(at)}
    for key, old, new in (
        ("stateId", before.state, after.state),
        ("assigneeId", before.assignee, after.assignee),
        ("projectId", before.project, after.project),
        ("parentId", before.parent, after.parent),
    ):
        if old != new:
            out[key] = old[0] if old else None
    if before.labels != after.labels:
        out["labelIds"] = [x[0] for x in before.labels]
    return out


def _relation(issue: Issue, change: Change) -> dict[str, Any]:
    assert change.relation is not None
    action, blocker = change.relation
    at = linear_time(change.at)
    return _envelope(
        "create" if action == "a" else "remove",
        "IssueRelation",
        change.at,
        {
            "data": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, issue.id + blocker)),
                "type": "blocks",
                "issueId": "id-of-" + blocker,
                "issue": {"id": "id-of-" + blocker, "identifier": blocker, "title": "x"},
                "relatedIssueId": issue.id,
                "relatedIssue": {"id": issue.id, "identifier": issue.identifier, "title": "y"},
                "createdAt": at,
                "updatedAt": at,
                "archivedAt": None if action == "a" else at,
            }
        },
    )


def webhooks(issues: list[Issue]) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """(headers, body) of every webhook, each with its own delivery id."""
    out: list[dict[str, Any]] = []
    for issue in issues:
        out.append(
            _envelope(
                "create",
                "Issue",
                issue.created,
                {"data": data(issue, issue.initial, issue.created)},
            )
        )
        before = issue.initial
        for change in issue.changes:
            if change.relation is not None:
                out.append(_relation(issue, change))
                continue
            updated_from = _updated_from(before, change.after, change.at)
            if change.title:
                updated_from["title"] = "an older title"
            body = {"data": data(issue, change.after, change.at), "updatedFrom": updated_from}
            out.append(_envelope("update", "Issue", change.at, body))
            before = change.after
        if issue.archived is not None:
            gone = {
                **data(issue, before, issue.archived),
                "archivedAt": linear_time(issue.archived),
            }
            out.append(_envelope("remove", "Issue", issue.archived, {"data": gone}))
    return [({"linear-delivery": str(uuid.uuid4())}, body) for body in out]


def delivery_lines(deliveries: list[tuple[dict[str, str], dict[str, Any]]]) -> bytes:
    """What the raw topic (and `report`) reads: one delivery record per line."""
    return recorded.delivery_lines("linear", "linear-delivery", deliveries)


# --- what the GraphQL API answers ---------------------------------------------------------------


def api_issue(issue: Issue) -> dict[str, Any]:
    """The issue node as `issues` returns it now (without `history`)."""
    state = issue.now()
    updated = issue.changes[-1].at if issue.changes else issue.created
    return {
        "id": issue.id,
        "identifier": issue.identifier,
        "createdAt": linear_time(issue.created),
        "updatedAt": linear_time(issue.archived or updated),
        "archivedAt": linear_time(issue.archived) if issue.archived else None,
        "team": TEAM,
        "state": _ref(state.state),
        "assignee": _ref(state.assignee),
        "project": _ref(state.project),
        "parent": _ref(state.parent, "identifier"),
        "labels": {"nodes": [{"id": i, "name": n} for i, n in state.labels]},
    }


def _pair(entry: dict[str, Any], field: str, old: Ref, new: Ref, name: str = "name") -> None:
    entry[f"from{field}"], entry[f"to{field}"] = _ref(old, name), _ref(new, name)


def api_history(issue: Issue) -> list[dict[str, Any]]:
    """IssueHistory entries, newest first (as Linear lists them); unchanged fields null."""
    out: list[dict[str, Any]] = []
    before = issue.initial
    for change in issue.changes:
        after = change.after
        entry: dict[str, Any] = {"id": change.id, "createdAt": linear_time(change.at)}
        for field_name in ("State", "Assignee", "Project", "Parent"):
            entry[f"from{field_name}"] = entry[f"to{field_name}"] = None
        entry["fromAssigneeId"] = entry["toAssigneeId"] = None
        if before.state != after.state:
            _pair(entry, "State", before.state, after.state)
        if before.assignee != after.assignee:
            _pair(entry, "Assignee", before.assignee, after.assignee)
            entry["fromAssigneeId"] = before.assignee[0] if before.assignee else None
            entry["toAssigneeId"] = after.assignee[0] if after.assignee else None
        if before.project != after.project:
            _pair(entry, "Project", before.project, after.project)
        if before.parent != after.parent:
            _pair(entry, "Parent", before.parent, after.parent, "identifier")
        added = [x for x in after.labels if x not in before.labels]
        removed = [x for x in before.labels if x not in after.labels]
        entry["addedLabels"] = [{"id": i, "name": n} for i, n in added] or None
        entry["removedLabels"] = [{"id": i, "name": n} for i, n in removed] or None
        if change.relation is not None:
            entry["relationChanges"] = [
                {"identifier": change.relation[1], "type": change.relation[0] + "b"}
            ]
        else:
            entry["relationChanges"] = None
        out.append(entry)
        before = after
    return list(reversed(out))
