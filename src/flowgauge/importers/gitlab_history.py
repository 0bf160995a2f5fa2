"""A GitLab issue / merge request and its resource events, as the hooks GitLab sent. Pure.

The REST API gives the object as it is now and, per object, what changed when: resource state
events (closed, reopened, merged), resource label events (add / remove), resource milestone events
(add / remove) and system notes (`assigned to @a`, `unassigned @b`). Changes in the same second
are one hook, as GitLab sends one hook per update (and stamps hooks in whole seconds). Walking
them backwards from now gives the labels, assignees and state after each change; milestones are
walked forwards from none (a milestone change names only the milestone added or removed). Each
hook then carries what the Issue / Merge Request Hook of that moment carried, with `updated_at`
in the hook's format, so `sources.gitlab.normalize` gives the very events, and ids, the hooks gave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from flowgauge.importers.base import Delivery
from flowgauge.importers.rewind import rewind
from flowgauge.model.micros import to_micros
from flowgauge.sources._common import timestamp
from flowgauge.sources._native import dig, names, need_text, opt_text

_ACTIONS = {"closed": "close", "reopened": "reopen", "merged": "merge", "locked": "update"}
_STATE_AFTER = {"closed": "closed", "reopened": "opened", "merged": "merged", "locked": "locked"}
_ASSIGNED = re.compile(r"^(?:assigned to |unassigned |reassigned to )")
_USER = re.compile(r"@([\w.\-]+)")
_UNASSIGNED = re.compile(r"(?<![\w@.\-])unassigned ")


@dataclass(frozen=True)
class Snapshot:
    state: str
    labels: tuple[str, ...]
    assignees: frozenset[str]
    milestone: int | None


@dataclass
class Change:
    """One hook's worth of changes (everything GitLab recorded at one instant)."""

    at: datetime
    state: str | None = None  # the resource state event's `state`
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    assigned: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    milestone: tuple[str, int] | None = None  # (add | remove, milestone id)


def hook_time(at: datetime) -> str:
    """A hook's time format: `2026-02-09 08:30:00 UTC` (whole seconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _at(value: Any, what: str) -> datetime:
    return timestamp(value, what).replace(microsecond=0)


def _changes(
    state_events: list[Any], label_events: list[Any], milestone_events: list[Any], notes: list[Any]
) -> list[Change]:
    """The changes, one per instant (whole second), oldest first."""
    found: dict[int, Change] = {}

    def at(event: Any, what: str) -> Change:
        when = _at(dig(event, "created_at"), what)
        return found.setdefault(to_micros(when), Change(when))

    for event in state_events:
        state = opt_text(dig(event, "state"))
        if state in _ACTIONS:
            at(event, "resource_state_events[].created_at").state = state
    for event in label_events:
        label = opt_text(dig(event, "label", "name"))
        if label is None:  # a label deleted since: GitLab no longer names it
            continue
        change = at(event, "resource_label_events[].created_at")
        (change.added if dig(event, "action") == "add" else change.removed).append(label)
    for event in milestone_events:
        milestone = dig(event, "milestone", "id")
        if isinstance(milestone, int):
            action = "add" if dig(event, "action") == "add" else "remove"
            at(event, "resource_milestone_events[].created_at").milestone = (action, milestone)
    for note in notes:
        body = opt_text(dig(note, "body")) or ""
        if dig(note, "system") is not True or not _ASSIGNED.match(body):
            continue
        change = at(note, "notes[].created_at")
        given, taken = _split_assignment(body)
        change.assigned.extend(_USER.findall(given))
        change.unassigned.extend(_USER.findall(taken))
    return [found[key] for key in sorted(found)]


def _split_assignment(body: str) -> tuple[str, str]:
    """`assigned to @a and @b and unassigned @c` -> (the assigned part, the unassigned part)."""
    parts = _UNASSIGNED.split(body, maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _before(after: Snapshot, change: Change) -> Snapshot:
    """The object before `change`, from the object after it (milestones aside: forwards)."""
    labels = [x for x in after.labels if x not in change.added]
    labels += [x for x in change.removed if x not in labels]
    state = after.state
    if change.state in ("closed", "merged", "locked"):
        state = "opened"
    elif change.state == "reopened":
        state = "closed"
    people = (after.assignees - set(change.assigned)) | set(change.unassigned)
    return replace(after, state=state, labels=tuple(labels), assignees=frozenset(people))


def _snapshots(now: Snapshot, changes: list[Change]) -> tuple[Snapshot, list[Snapshot]]:
    """The object at creation and after each change."""
    state, after = rewind(now, changes, _before)
    milestone: int | None = None
    created = replace(state, milestone=None)
    for n, change in enumerate(changes):
        if change.milestone is not None:
            action, number = change.milestone
            milestone = number if action == "add" else (None if milestone == number else milestone)
        after[n] = replace(after[n], milestone=milestone)
    return created, after


def _labels(titles: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    return [{"title": title} for title in titles]


def _users(people: frozenset[str] | set[str]) -> list[dict[str, str]]:
    return [{"username": name} for name in sorted(people)]


@dataclass(frozen=True)
class Subject:
    """What every hook of the object repeats: its kind, project and unchanging attributes."""

    kind: str  # issue | merge_request
    project: dict[str, Any]
    attributes: dict[str, Any]


def _hook(subject: Subject, snap: Snapshot, at: datetime, action: str) -> dict[str, Any]:
    attrs = {
        **subject.attributes,
        "action": action,
        "state": snap.state,
        "updated_at": hook_time(at),
        "labels": _labels(snap.labels),
        "milestone_id": snap.milestone,
    }
    if not snap.assignees:  # (the ids of past assignees are unknown: their usernames say)
        attrs["assignee_ids"] = []
    body: dict[str, Any] = {
        "object_kind": subject.kind,
        "event_type": subject.kind,
        "project": subject.project,
        "object_attributes": attrs,
        "labels": _labels(snap.labels),
    }
    if snap.assignees:
        body["assignees"] = _users(snap.assignees)
    return body


def _diff(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if before.labels != after.labels:
        changes["labels"] = {"previous": _labels(before.labels), "current": _labels(after.labels)}
    if before.assignees != after.assignees:
        changes["assignees"] = {
            "previous": _users(before.assignees),
            "current": _users(after.assignees),
        }
    if before.milestone != after.milestone:
        changes["milestone_id"] = {"previous": before.milestone, "current": after.milestone}
    return changes


def now_of(obj: dict[str, Any]) -> Snapshot:
    state = opt_text(obj.get("state")) or "opened"
    return Snapshot(
        state=state,
        labels=tuple(names(obj.get("labels")) or ()),
        assignees=frozenset(names(obj.get("assignees"), "username") or ()),
        milestone=None,
    )


def item_deliveries(
    subject: Subject,
    obj: dict[str, Any],
    events: tuple[list[Any], list[Any], list[Any], list[Any]],
) -> list[Delivery]:
    """The Open hook, then one hook per change: what GitLab sent while it happened. `events`:
    resource state, label and milestone events and the object's notes."""
    created_at = _at(obj.get("created_at"), "created_at")
    changes = _changes(*events)
    at_creation = [c for c in changes if c.at <= created_at and c.state is None]
    changes = [c for c in changes if c not in at_creation]
    initial, after = _snapshots(now_of(obj), [*at_creation, *changes])
    opened = after[len(at_creation) - 1] if at_creation else initial
    after = after[len(at_creation) :]
    subject.attributes.setdefault("created_at", hook_time(created_at))
    body = _hook(subject, opened, created_at, "open")
    body["changes"] = _diff(replace(opened, labels=(), assignees=frozenset()), opened)
    out: list[Delivery] = [({}, body)]
    before = opened
    for change, snap in zip(changes, after, strict=True):
        action = _ACTIONS[change.state] if change.state is not None else "update"
        body = _hook(subject, snap, change.at, action)
        body["changes"] = _diff(before, snap)
        if change.state is not None and action == "update":  # locked
            body["changes"]["state_id"] = {"previous": 1, "current": 4}
        out.append(({}, body))
        before = snap
    return out


def subject_of(
    kind: str, project: dict[str, Any], obj: dict[str, Any], head: dict[str, Any] | None = None
) -> Subject:
    """The unchanging attributes of an issue / merge request, as its hooks carry them; `head`:
    a merged merge request's head commit (its `last_commit`, for DORA)."""
    attrs: dict[str, Any] = {
        "id": obj.get("id"),
        "iid": need_text(obj.get("iid"), f"{kind}.iid"),
        "title": obj.get("title"),
        "description": obj.get("description"),
    }
    if kind == "issue":
        attrs["type"] = _issue_type(obj)
    else:
        attrs.update(
            source_branch=obj.get("source_branch"),
            target_branch=obj.get("target_branch"),
            merge_commit_sha=obj.get("merge_commit_sha"),
            squash_commit_sha=obj.get("squash_commit_sha"),
            draft=False,
        )
        if head is not None:
            attrs["last_commit"] = {
                "id": head.get("id"),
                "message": head.get("message"),
                "timestamp": head.get("committed_date"),
            }
    return Subject(kind, {"path_with_namespace": project["path_with_namespace"]}, attrs)


def _issue_type(obj: dict[str, Any]) -> str | None:
    """The API's `issue_type` (`issue`, `incident`, `test_case`, `task`) as a hook's `type`."""
    raw = opt_text(obj.get("type")) or opt_text(obj.get("issue_type"))
    return raw.replace("_", " ").title().replace(" ", "") if raw else None
