"""A Jira issue and its changelog, as the webhook deliveries Jira sent while it happened. Pure.

The REST API gives an issue as it is now and its changelog (one history per change, with the
same id as the `changelog.id` of the `jira:issue_updated` webhook of that change). Walking the
changelog backwards from now gives the issue as it was after each change (status and its
category, labels, issue type, resolution, assignee, parent, the issues that block it), which is
what each webhook carried; the source's `normalize` then gives the same events and ids as the
webhooks did (sources/jira.py). A parent the changelog names by issue id only is given its key
by the caller (`parent_keys`: the importer looks those few issues up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from flowgauge.importers.base import Delivery
from flowgauge.importers.rewind import millis, rewind
from flowgauge.sources._jira_fields import (
    ASSIGNEE,
    BLOCKED_BY,
    LINK,
    PARENT_FIELDS,
    assignee_of,
    blockers,
    is_key,
    link_change,
)
from flowgauge.sources._native import dig, need_obj, need_text, opt_text
from flowgauge.sources.base import PayloadError
from flowgauge.sources.jira import READ_FIELDS

#: What the snapshots track, by lower-cased changelog field.
_TRACKED = ("status", "labels", "issuetype", "resolution")
#: The issue fields the importer asks the API for.
FIELDS = (
    "created",
    "updated",
    "status",
    "labels",
    "issuetype",
    "project",
    "resolution",
    "assignee",
    "parent",
    "issuelinks",
)
#: The link type a rebuilt snapshot writes for each blocker (Jira's system type "Blocks").
_BLOCKS = {"name": "Blocks", "inward": BLOCKED_BY, "outward": "blocks"}


@dataclass(frozen=True)
class IssueState:
    status: str | None
    labels: tuple[str, ...]
    issuetype: str | None
    resolution: str | None
    assignee: str = ""  # the holder's id, "" unassigned
    parent: tuple[str | None, str | None] | None = None  # (issue id, key)
    blockers: frozenset[str] = frozenset()


def parent_ids(histories: list[Any], fields: Any) -> set[str]:
    """Issue ids of former parents that the changelog names without their key: the ones a
    rebuilt snapshot needs looked up (the current parent's key is in `fields.parent`)."""
    current = opt_text(dig(fields, "parent", "id"))
    found: set[str] = set()
    for history in histories:
        items = dig(history, "items")
        for change in items if isinstance(items, list) else []:
            if isinstance(change, dict) and _field(change) & PARENT_FIELDS:
                before = opt_text(change.get("from"))
                if before and before != current and not is_key(opt_text(change.get("fromString"))):
                    found.add(before)
    return found


def _field(change: Mapping[str, Any]) -> set[str]:
    return {(opt_text(change.get(k)) or "").lower() for k in ("fieldId", "field")}


def _undo(
    state: IssueState, history: Mapping[str, Any], parent_keys: Mapping[str, str]
) -> IssueState:
    """The state before `history`, from the state after it."""
    items = history.get("items")
    for change in reversed(items if isinstance(items, list) else []):
        if not isinstance(change, dict):
            continue
        names = _field(change)
        before = opt_text(change.get("fromString"))
        if "labels" in names:
            state = replace(state, labels=tuple((before or "").split()))
        elif "status" in names and before is not None:  # None: set at creation, kept
            state = replace(state, status=before)
        elif "issuetype" in names and before is not None:
            state = replace(state, issuetype=before)
        elif "resolution" in names:
            state = replace(state, resolution=before)
        elif ASSIGNEE in names:
            state = replace(state, assignee=opt_text(change.get("from")) or "")
        elif names & PARENT_FIELDS:
            state = replace(state, parent=_former_parent(change, parent_keys))
        elif LINK in names and (found := link_change(change)) is not None:
            kind, key = found
            held = state.blockers - {key} if kind == "blocked" else state.blockers | {key}
            state = replace(state, blockers=held)
    return state


def _former_parent(
    change: Mapping[str, Any], parent_keys: Mapping[str, str]
) -> tuple[str | None, str | None] | None:
    issue_id, named = opt_text(change.get("from")), opt_text(change.get("fromString"))
    if is_key(named):
        return issue_id, named
    if issue_id is None:
        return None
    return issue_id, parent_keys.get(issue_id)


def _now(fields: Mapping[str, Any]) -> IssueState:
    labels = fields.get("labels")
    return IssueState(
        status=opt_text(dig(fields, "status", "name")),
        labels=tuple(x for x in labels if isinstance(x, str)) if isinstance(labels, list) else (),
        issuetype=opt_text(dig(fields, "issuetype", "name")),
        resolution=opt_text(dig(fields, "resolution", "name")),
        assignee=assignee_of(fields) or "",
        parent=(opt_text(dig(fields, "parent", "id")), opt_text(dig(fields, "parent", "key")))
        if isinstance(fields.get("parent"), dict)
        else None,
        blockers=blockers(fields),
    )


def _snapshot(
    issue: Mapping[str, Any], state: IssueState, categories: Mapping[str, str], updated: Any
) -> dict[str, Any]:
    """The issue as a webhook of that moment carried it (the fields `normalize` reads)."""
    fields = need_obj(issue.get("fields"), "issue.fields")
    status = None
    if state.status is not None:
        status = {"name": state.status, "statusCategory": {"key": categories.get(state.status)}}
    return {
        "id": issue.get("id"),
        "key": issue.get("key"),
        "fields": {
            "created": fields.get("created"),
            "updated": updated,
            "project": {"key": dig(fields, "project", "key")},
            "status": status,
            "labels": list(state.labels),
            "issuetype": {"name": state.issuetype} if state.issuetype else None,
            "resolution": {"name": state.resolution} if state.resolution else None,
            "assignee": {"accountId": state.assignee} if state.assignee else None,
            "parent": {"id": state.parent[0], "key": state.parent[1]} if state.parent else None,
            "issuelinks": [
                {"type": _BLOCKS, "inwardIssue": {"key": k}} for k in sorted(state.blockers)
            ],
        },
    }


def _read(history: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The changes of a history that `normalize` reads (others give no event). A status with no
    `from` is the creation's own record (the `jira:issue_created` webhook carries it as the
    issue's status, and no `jira:issue_updated` ever does): left out."""
    items = history.get("items")
    return [
        c
        for c in (items if isinstance(items, list) else [])
        if isinstance(c, dict)
        if _field(c) & READ_FIELDS
        if not ("status" in _field(c) and opt_text(c.get("fromString")) is None)
    ]


def _order(history: Mapping[str, Any]) -> tuple[int, int]:
    """Changelog order: time, then id (Jira's ids grow with time)."""
    history_id = need_text(history.get("id"), "history.id")
    if not history_id.isdigit():
        raise PayloadError(f"history.id is not a Jira id: {history_id!r}")
    return millis(history.get("created"), "history.created"), int(history_id)


def issue_deliveries(
    issue: Mapping[str, Any],
    histories: list[Any],
    categories: Mapping[str, str],
    parent_keys: Mapping[str, str] | None = None,
) -> list[Delivery]:
    """`jira:issue_created`, then one `jira:issue_updated` per history that changes what
    flowgauge reads, each with the issue as it was right after (Jira's webhook bodies)."""
    fields = need_obj(issue.get("fields"), f"issue {issue.get('key')}: fields")
    need_text(issue.get("id"), "issue.id")
    created = fields.get("created")
    current = dict(categories)
    status_now, category_now = (
        dig(fields, "status", "name"),
        dig(fields, "status", "statusCategory", "key"),
    )
    if isinstance(status_now, str) and isinstance(category_now, str):
        current[status_now] = category_now
    ordered = sorted(
        (need_obj(h, "changelog history") for h in histories),
        key=_order,
    )
    undo = partial(_undo, parent_keys=parent_keys or {})
    state, after = rewind(_now(fields), ordered, undo)
    out: list[Delivery] = [
        (
            {},
            {
                "webhookEvent": "jira:issue_created",
                "timestamp": millis(created, "issue.fields.created"),
                "issue": _snapshot(issue, state, current, created),
            },
        )
    ]
    for history, state_after in zip(ordered, after, strict=True):
        changes = _read(history)
        if not changes:
            continue
        body = {
            "webhookEvent": "jira:issue_updated",
            "timestamp": millis(history.get("created"), "history.created"),
            "issue": _snapshot(issue, state_after, current, history.get("created")),
            "changelog": {"id": need_text(history.get("id"), "history.id"), "items": changes},
        }
        out.append(({}, body))
    return out
