"""Readers of the Jira fields that say who holds an issue, its parent and what blocks it. Pure.

One home for what both the webhook adapter (sources/jira.py) and the importer's rebuilt
snapshots (importers/jira_history.py) read, so that the two cannot read them differently:

- the holder: a user object's `accountId` (Cloud), else its `key`, else its `name` (Data
  Center), which is what the changelog's `assignee` item carries in `to`;
- the parent: `fields.parent.key`; a changelog item `Parent` / `IssueParentAssociation` /
  `Epic Link` / `Parent Link` names the new parent by key in `toString`, or by issue id in `to`
  only (then the issue's own `fields.parent` says which key that id has);
- a dependency: an issue link whose type reads "is blocked by" from this issue's side
  (`fields.issuelinks[]` entries with an `inwardIssue`, changelog `Link` items
  "This issue is blocked by ABC-2").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowgauge.sources._native import dig, opt_text

#: Lower-cased changelog field names (`field` or `fieldId`) that change the parent.
PARENT_FIELDS = frozenset({"parent", "issueparentassociation", "epic link", "parent link"})
ASSIGNEE = "assignee"
LINK = "link"
#: The inward description of Jira's system link type "Blocks".
BLOCKED_BY = "is blocked by"
_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[1-9]\d*")


def is_key(value: str | None) -> bool:
    return value is not None and _KEY.fullmatch(value) is not None


def user_id(user: Any) -> str | None:
    """The stable id of a Jira user object (accountId, else key, else name); None if none."""
    return (
        opt_text(dig(user, "accountId"))
        or opt_text(dig(user, "key"))
        or opt_text(dig(user, "name"))
    )


def assignee_of(fields: Mapping[str, Any]) -> str | None:
    """The holder an issue body names: its id, "" when unassigned, None when it does not say."""
    if "assignee" not in fields:
        return None
    return user_id(fields.get("assignee")) or ""


def parent_of(fields: Mapping[str, Any]) -> str | None:
    """The parent's key an issue body names, or None."""
    return opt_text(dig(fields, "parent", "key"))


def changed_parent(change: Mapping[str, Any], fields: Mapping[str, Any]) -> str:
    """The parent a changelog item sets: its key, "" when removed, else the issue id it names
    (a parent known by id only, neither in `toString` nor as the issue's `fields.parent`)."""
    named = opt_text(change.get("toString"))
    if is_key(named):
        return named or ""
    to = opt_text(change.get("to"))
    if to is None:
        return ""
    same = opt_text(dig(fields, "parent", "id")) == to
    return (parent_of(fields) if same else None) or to


def link_change(change: Mapping[str, Any]) -> tuple[str, str] | None:
    """("blocked", KEY) when a changelog `Link` item adds "is blocked by KEY", ("unblocked", KEY)
    when it removes one, else None (other link types, or this issue blocking another)."""
    added, removed = opt_text(change.get("toString")), opt_text(change.get("fromString"))
    if added is not None and BLOCKED_BY in added.lower():
        return "blocked", opt_text(change.get("to")) or added.rsplit(" ", 1)[-1]
    if added is None and removed is not None and BLOCKED_BY in removed.lower():
        return "unblocked", opt_text(change.get("from")) or removed.rsplit(" ", 1)[-1]
    return None


def blockers(fields: Mapping[str, Any]) -> frozenset[str]:
    """Keys of the issues an issue body says block it (`fields.issuelinks`)."""
    links = fields.get("issuelinks")
    found: set[str] = set()
    for link in links if isinstance(links, list) else ():
        inward = (opt_text(dig(link, "type", "inward")) or "").lower()
        key = opt_text(dig(link, "inwardIssue", "key"))
        if key is not None and inward == BLOCKED_BY:
            found.add(key)
    return frozenset(found)
