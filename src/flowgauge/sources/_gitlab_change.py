"""GitLab issues and merge requests: who holds them, what they belong to, and change ids. Pure.

Holder: GitLab allows several assignees; flowgauge needs one holder. The holder is the lowest
username (in code point order) among the current assignees: the same whatever order GitLab lists
them in, and it changes only when that person leaves or someone lower joins. No assignee: "" (the
event says "unassigned"); a payload that says nothing of assignees: None.

Parent: the milestone, `gitlab:milestones/<milestone id>` (milestone ids are unique on an
instance, project and group milestones alike). Webhooks carry only `milestone_id`, not the title
(gitlab-org/gitlab#218295), and no epic, so the milestone id is what both a webhook and the
REST API name. `milestone_id: null` gives "" (no parent).

Event ids name the change, not the delivery, so that `flowgauge import gitlab` (which reads the
same changes from the REST API's resource events) gives the very same ids:
`gitlab:<path><sep><iid>@<epoch seconds of the change>/<what changed>`, e.g.
`gitlab:acme/shop#31@1770625800/state:closed` or `.../label+:blocked`. Seconds, because that is
the resolution of a webhook's `updated_at`. A change name over 200 characters is digested.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowgauge.model import FlowEvent
from flowgauge.sources._native import Batch, content_key, dig, names, opt_text

_MAX_CHANGE = 200


def holder(payload: dict[str, Any], attrs: dict[str, Any]) -> str | None:
    """The one holder of the item (the lowest username of its assignees), "" for none."""
    people = names(payload.get("assignees"), "username")
    if people:
        return min(people)
    ids = attrs.get("assignee_ids")
    if people is not None or (isinstance(ids, list) and not ids):
        return ""
    if "assignee_id" in attrs and attrs.get("assignee_id") is None and ids is None:
        return ""
    return None


def parent(attrs: dict[str, Any]) -> str | None:
    """The milestone the item belongs to, "" for none, None when the payload does not say."""
    if "milestone_id" not in attrs:
        return None
    milestone = opt_text(attrs.get("milestone_id"))
    return f"gitlab:milestones/{milestone}" if milestone else ""


def assignees_changed(changes: dict[str, Any]) -> bool:
    return isinstance(dig(changes, "assignees", "current"), list)


def parent_changed(changes: dict[str, Any]) -> bool:
    return isinstance(changes.get("milestone_id"), dict)


def change_id(item: str, at: datetime, change: str) -> str:
    """The id of one change of one item (module docstring)."""
    if len(change) > _MAX_CHANGE or not change.isprintable():
        change = "d-" + content_key(change)
    return f"{item}@{int(at.timestamp())}/{change}"


def what_changed(event: FlowEvent) -> str:
    """The change an event of an issue / merge request reports, for its id."""
    if event.type in ("labeled", "unlabeled"):
        return f"label{'+' if event.type == 'labeled' else '-'}:{event.label}"
    if event.type == "commit":
        return f"commit:{event.item.rsplit('/', 1)[-1]}"
    if event.type.startswith("incident_"):
        return f"{event.type}:{event.label}" if event.label else event.type
    return f"{event.type}:{event.state or ''}"


def name_changes(batch: Batch, start: int, at: datetime, overrides: dict[int, str]) -> None:
    """Give the events from `start` on the ids of their changes; `overrides[n]` names the change
    of the n-th event (an assignee or milestone change, reported by a label-less `labeled`)."""
    for n in range(start, len(batch.events)):
        event = batch.events[n]
        new_id = change_id(event.item, at, overrides.get(n) or what_changed(event))
        batch.events[n] = event.model_copy(update={"id": new_id})
