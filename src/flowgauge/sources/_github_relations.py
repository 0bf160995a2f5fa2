"""Who holds a GitHub issue or pull request, what it belongs to, and what blocks it.

- **Holder** (`assignee`): GitHub allows several assignees; flowgauge's holder is ONE of them, the
  lowest login in the item's current `assignees` list (compared case-insensitively, as GitHub
  compares logins), so that it does not depend on the order GitHub lists them or on the order
  they were added; `""` (unassigned) when the list is empty; not given (None) when the payload
  has no `assignees` list. Every event of an issue or pull request carries it.
- **Parent** (`parent`): the parent issue of a sub-issue, `github:<repo>#<number>`. From the
  `sub_issues` webhook, and from the issue's `parent_issue_url` when the payload has that key
  (`""` when it is null: no parent). Milestones are releases or time boxes, not epics: not a
  parent.
- **Dependencies**: the `issue_dependencies` webhook. `blocked_by_added` (and its mirror
  `blocking_added`, sent to the blocking issue's repository) blocks the blocked issue with reason
  `dependency`; `blocked_by_removed` / `blocking_removed` unblock it unless the blocked issue's
  `issue_dependencies_summary.blocked_by` says other open blockers remain. Blocked labels are
  `labeled` events, which the engine reads with reason `label`.

A change that has no flow event of its own (an assignment, a sub-issue link) is carried by a
`labeled` event without a `label` (HOLDER_EVENT): it changes no label and no state (the item walk
skips a label-less label event); it only says, from that instant, who holds the item and what its
parent is.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flowgauge.sources._native import (
    HOLDER_EVENT,
    Batch,
    dig,
    names,
    need_obj,
    need_text,
    opt_text,
    type_from_labels,
    when,
)

DEPENDENCY = "dependency"
_ISSUE_URL = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<number>\d+)$")


def holder(obj: dict[str, Any]) -> str | None:
    """The lowest current assignee's login; "" when none; None when the payload does not say."""
    raw = obj.get("assignees")
    if not isinstance(raw, list):
        return None
    logins = names(raw, "login") or ()
    return min(logins, key=lambda login: (login.casefold(), login)) if logins else ""


def ref(repo: str, number: Any) -> str:
    return f"github:{repo}#{need_text(number, 'issue number')}"


def parent_of(issue: dict[str, Any]) -> str | None:
    """`github:<repo>#<n>` of `parent_issue_url`; "" when it is null; None when absent."""
    if "parent_issue_url" not in issue:
        return None
    url = opt_text(issue.get("parent_issue_url"))
    if url is None:
        return ""
    found = _ISSUE_URL.search(url)
    return f"github:{found['repo']}#{found['number']}" if found else None


def issue_fields(repo: str, issue: dict[str, Any]) -> dict[str, Any]:
    """What every event of a GitHub issue carries: item, project, kind, labels, item_type,
    assignee and (when the payload says) parent."""
    labels = names(issue.get("labels"))
    issue_type = opt_text(dig(issue, "type", "name"))
    return {
        "item": ref(repo, issue.get("number")),
        "project": repo,
        "kind": "issue",
        "labels": labels,
        "item_type": issue_type.lower() if issue_type else type_from_labels(labels),
        "assignee": holder(issue),
        "parent": parent_of(issue),
    }


def updated(obj: dict[str, Any], what: str) -> datetime:
    return when((obj.get("updated_at"), f"{what}.updated_at"))


def _repo_of(payload: dict[str, Any], key: str) -> str:
    """The full name of `payload[key]` (a repository object), else of `repository`."""
    named = opt_text(dig(payload, key, "full_name"))
    return named or need_text(dig(payload, "repository", "full_name"), "repository.full_name")


# --- issue_dependencies ---------------------------------------------------------------------------

_DEPENDENCY_ACTIONS = {
    "blocked_by_added": "blocked",
    "blocking_added": "blocked",
    "blocked_by_removed": "unblocked",
    "blocking_removed": "unblocked",
}


def dependency_change(payload: dict[str, Any]) -> tuple[str, str] | None:
    """(canonical action, blocking issue) naming a dependency change the same way from either
    side (`blocked_by_*` and its mirror `blocking_*`), for the event id; None if not one."""
    action = opt_text(payload.get("action")) or ""
    if action not in _DEPENDENCY_ACTIONS:
        return None
    blocking = need_obj(payload.get("blocking_issue"), "blocking_issue")
    blocker_repo = _repo_of(payload, "blocking_issue_repo")
    return _DEPENDENCY_ACTIONS[action], ref(blocker_repo, blocking.get("number"))


def issue_dependencies(batch: Batch, payload: dict[str, Any]) -> None:
    """A dependency added or removed: `blocked` / `unblocked` of the blocked issue, reason
    `dependency`; a removal that leaves other open blockers unblocks nothing."""
    change = dependency_change(payload)
    if change is None:
        return
    type_ = change[0]
    blocked = need_obj(payload.get("blocked_issue"), "blocked_issue")
    remaining = dig(blocked, "issue_dependencies_summary", "blocked_by")
    if type_ == "unblocked" and isinstance(remaining, int) and remaining > 0:
        return
    repo = _repo_of(payload, "blocked_issue_repo")
    fields = issue_fields(repo, blocked)
    batch.add(type_, at=updated(blocked, "blocked_issue"), reason=DEPENDENCY, **fields)


# --- sub_issues ---------------------------------------------------------------------------------

_SUB_ISSUE_ACTIONS = {
    "sub_issue_added": True,
    "parent_issue_added": True,
    "sub_issue_removed": False,
    "parent_issue_removed": False,
}


def sub_issue_change(payload: dict[str, Any]) -> tuple[str, str] | None:
    """(canonical action, parent) naming a sub-issue link the same way from the parent's side
    (`sub_issue_*`) and the sub-issue's (`parent_issue_*`); None if not one."""
    action = opt_text(payload.get("action")) or ""
    if action not in _SUB_ISSUE_ACTIONS:
        return None
    parent = need_obj(payload.get("parent_issue"), "parent_issue")
    parent_ref = ref(_repo_of(payload, "parent_issue_repo"), parent.get("number"))
    return ("added" if _SUB_ISSUE_ACTIONS[action] else "removed"), parent_ref


def sub_issues(batch: Batch, payload: dict[str, Any]) -> None:
    """A sub-issue linked to or unlinked from its parent: the sub-issue's `parent` from then on,
    on a HOLDER_EVENT of the sub-issue."""
    change = sub_issue_change(payload)
    if change is None:
        return
    added, parent = change[0] == "added", change[1]
    sub = need_obj(payload.get("sub_issue"), "sub_issue")
    fields = issue_fields(_repo_of(payload, "sub_issue_repo"), sub)
    fields["parent"] = parent if added else ""
    batch.add(HOLDER_EVENT, at=updated(sub, "sub_issue"), **fields)
