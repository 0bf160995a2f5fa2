"""A Linear issue and its history, as the webhook deliveries Linear sent while it happened. Pure.

The GraphQL API gives an issue as it is now and its history: one `IssueHistory` entry per change,
written when the change was made (its `createdAt` is the issue's `updatedAt` of that change, which
is what the webhook's event id names: sources/linear.py). Walking the history backwards from now
gives the issue as it was after each change (state, labels, assignee, project, parent), which is
what each `Issue` webhook carried; a `relationChanges` entry `ab` / `rb` (a "blocked by" relation
added / removed) is what the `IssueRelation` webhook of that relation carried. The source's
`normalize` then gives the same events and ids as the webhooks did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flowgauge.importers.base import Delivery
from flowgauge.importers.rewind import instants, millis, rewind, undo_each
from flowgauge.sources._native import dig, need_obj, need_text, opt_text
from flowgauge.sources.base import PayloadError

Ref = tuple[str, str] | None  # (id, name or identifier) of a state, user, project, parent issue

#: What the importer asks of each issue and history entry (GraphQL selections).
ISSUE_FIELDS = """
  id identifier createdAt updatedAt archivedAt
  team { id key name }
  state { id name }
  assignee { id name }
  project { id name }
  parent { id identifier }
  labels(first: 50) { nodes { id name } }
"""
HISTORY_FIELDS = """
  id createdAt
  fromState { id name } toState { id name }
  fromAssignee { id name } toAssignee { id name }
  fromAssigneeId toAssigneeId
  fromProject { id name } toProject { id name }
  fromParent { id identifier } toParent { id identifier }
  addedLabels { id name } removedLabels { id name }
  relationChanges { identifier type }
"""
#: `relationChanges[].type`: action (`a` added, `r` removed), then the relation as seen from this
#: issue (`b`: blocked by `identifier`; `x`: blocking it, read on the other issue's side).
BLOCKED_BY = "b"


@dataclass(frozen=True)
class IssueState:
    state: Ref
    labels: tuple[tuple[str, str], ...]
    assignee: Ref
    project: Ref
    parent: Ref


def _ref(value: Any, name: str = "name") -> Ref:
    ident = opt_text(dig(value, "id"))
    return None if ident is None else (ident, opt_text(dig(value, name)) or ident)


def _changed(entry: Mapping[str, Any], field: str) -> bool:
    """Did the entry change `field` (Linear leaves both sides null for an unchanged field)?"""
    ids = (f"from{field}Id", f"to{field}Id")
    objects = (f"from{field}", f"to{field}")
    return any(entry.get(k) is not None for k in (*ids, *objects))


def _before(entry: Mapping[str, Any], field: str, name: str = "name") -> Ref:
    ref = _ref(entry.get(f"from{field}"), name)
    if ref is None and (ident := opt_text(entry.get(f"from{field}Id"))) is not None:
        ref = (ident, ident)
    return ref


def _undo(state: IssueState, entry: Mapping[str, Any]) -> IssueState:
    """The issue before `entry`, from the issue after it."""
    if _changed(entry, "State") and (before := _before(entry, "State")) is not None:
        state = replace(state, state=before)
    if _changed(entry, "Assignee"):
        state = replace(state, assignee=_before(entry, "Assignee"))
    if _changed(entry, "Project"):
        state = replace(state, project=_before(entry, "Project"))
    if _changed(entry, "Parent"):
        state = replace(state, parent=_before(entry, "Parent", "identifier"))
    added = {r[0] for r in (_ref(x) for x in _list(entry.get("addedLabels"))) if r}
    removed = [r for r in (_ref(x) for x in _list(entry.get("removedLabels"))) if r]
    if added or removed:
        kept = tuple(x for x in state.labels if x[0] not in added)
        state = replace(state, labels=kept + tuple(r for r in removed if r not in kept))
    return state


def _list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        value = value.get("nodes")
    return value if isinstance(value, list) else []


def _now(issue: Mapping[str, Any]) -> IssueState:
    labels = tuple(r for r in (_ref(x) for x in _list(issue.get("labels"))) if r)
    return IssueState(
        state=_ref(issue.get("state")),
        labels=labels,
        assignee=_ref(issue.get("assignee")),
        project=_ref(issue.get("project")),
        parent=_ref(issue.get("parent"), "identifier"),
    )


def _obj(ref: Ref, name: str = "name") -> dict[str, str] | None:
    return None if ref is None else {"id": ref[0], name: ref[1]}


def _data(issue: Mapping[str, Any], state: IssueState, updated: Any) -> dict[str, Any]:
    """The issue as a webhook of that moment carried it (the fields `normalize` reads)."""
    return {
        "id": issue.get("id"),
        "identifier": issue.get("identifier"),
        "team": issue.get("team"),
        "stateId": state.state[0] if state.state else None,
        "state": _obj(state.state),
        "labelIds": [x[0] for x in state.labels],
        "labels": [{"id": i, "name": n} for i, n in state.labels],
        "assigneeId": state.assignee[0] if state.assignee else None,
        "assignee": _obj(state.assignee),
        "projectId": state.project[0] if state.project else None,
        "project": _obj(state.project),
        "parentId": state.parent[0] if state.parent else None,
        "parent": _obj(state.parent, "identifier"),
        "createdAt": issue.get("createdAt"),
        "updatedAt": updated,
        "archivedAt": None,
    }


def _updated_from(before: IssueState, after: IssueState) -> dict[str, Any]:
    """What the `Issue` update webhook's `updatedFrom` says changed (old values)."""
    out: dict[str, Any] = {}
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


def _relations(issue: Mapping[str, Any], entry: Mapping[str, Any]) -> list[Delivery]:
    """The `IssueRelation` webhooks of the "blocked by" relations this entry added or removed."""
    out: list[Delivery] = []
    at = entry.get("createdAt")
    for change in _list(entry.get("relationChanges")):
        kind, blocker = opt_text(dig(change, "type")) or "", opt_text(dig(change, "identifier"))
        if len(kind) != 2 or kind[1] != BLOCKED_BY or kind[0] not in "ar" or blocker is None:
            continue
        added = kind[0] == "a"
        data = {
            "type": "blocks",
            "issue": {"identifier": blocker},
            "relatedIssueId": issue.get("id"),
            "relatedIssue": {"id": issue.get("id"), "identifier": issue.get("identifier")},
            "createdAt": at,
            "updatedAt": at,
            "archivedAt": None if added else at,
        }
        action = "create" if added else "remove"
        out.append(({}, {"type": "IssueRelation", "action": action, "createdAt": at, "data": data}))
    return out


def _order(entry: Mapping[str, Any]) -> tuple[int, str]:
    return millis(entry.get("createdAt"), "history.createdAt"), need_text(entry.get("id"), "id")


def issue_deliveries(issue: Mapping[str, Any], history: list[Any]) -> list[Delivery]:
    """`Issue` create, then one `Issue` update per instant whose entries change what flowgauge
    reads (entries of one instant are one update, as they were one webhook), the relation
    webhooks, and `Issue` remove when the issue is archived."""
    need_text(issue.get("id"), "issue.id")
    created = issue.get("createdAt")
    millis(created, "issue.createdAt")
    grouped = instants((need_obj(h, "history entry") for h in history), _order)
    state, after = rewind(_now(issue), grouped, undo_each(_undo))
    out: list[Delivery] = [
        ({}, {"type": "Issue", "action": "create", "createdAt": created,
              "data": _data(issue, state, created)})
    ]  # fmt: skip
    for group, state_after in zip(grouped, after, strict=True):
        at = group[0].get("createdAt")
        changed = _updated_from(state, state_after)
        if changed:
            body = {"type": "Issue", "action": "update", "createdAt": at, "updatedFrom": changed}
            out.append(({}, {**body, "data": _data(issue, state_after, at)}))
        for entry in group:
            out.extend(_relations(issue, entry))
        state = state_after
    archived = issue.get("archivedAt")
    if archived is not None:
        data = {**_data(issue, state, archived), "archivedAt": archived}
        out.append(({}, {"type": "Issue", "action": "remove", "createdAt": archived, "data": data}))
    return out


def check(issue: Any) -> dict[str, Any]:
    """An issue node of the API, or PayloadError naming what is missing."""
    node = need_obj(issue, "an issue node")
    for name in ("id", "identifier", "createdAt"):
        need_text(node.get(name), f"issue.{name}")
    if not isinstance(node.get("team"), dict):
        raise PayloadError("issue.team is missing")
    return node
