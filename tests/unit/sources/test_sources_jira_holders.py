"""Jira's holder, parent and blocked reasons (CONTRACT.md generic fields; METRICS.md "Handoffs,
blocked reasons, distribution"): each changelog item and issue field, table-driven, and the one
`dependency` reason that holds while at least one "is blocked by" link does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sources_helpers import payload

from flowgauge.model import FlowEvent
from flowgauge.sources import jira

AT = "2026-02-12T12:10:00+00:00"


def link(key: str, added: bool = True, text: str = "is blocked by") -> dict[str, Any]:
    words = f"This issue {text} {key}"
    if added:
        return {"field": "Link", "fieldtype": "jira", "to": key, "toString": words}
    return {"field": "Link", "fieldtype": "jira", "from": key, "fromString": words}


def blocker(key: str) -> dict[str, Any]:
    kind = {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"}
    return {"id": "1", "type": kind, "inwardIssue": {"key": key}}


def change(*items: dict[str, Any], **fields: Any) -> list[FlowEvent]:
    """A `jira:issue_updated` of SHOP-21 (In Progress) with these items; `fields` replace the
    issue's fields (the issue as it is right after the change)."""
    body = payload("jira", "jira_issue_updated.description-edited.json")
    body["changelog"]["items"] = list(items)
    body["issue"]["fields"].update(fields)
    return [e for e in jira.normalize({}, body) if e.type not in ("incident_opened",)]


def seen(events: list[FlowEvent]) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(e.type, e.reason or e.state or e.label, e.assignee, e.parent) for e in events]


FLAG = {"field": "Flagged", "fieldId": "customfield_10021"}
TO_ANA = {"field": "assignee", "fieldId": "assignee", "to": "712020:ana", "toString": "Ana"}
UNASSIGN = {"field": "assignee", "fieldId": "assignee", "from": "712020:ana", "to": None}
PARENT = {"id": "10001", "key": "SHOP-1"}
DEP, UNDEP = ("blocked", "dependency", None, None), ("unblocked", "dependency", None, None)
LABEL = {"field": "labels", "fromString": "checkout", "toString": "checkout blocked"}
EPIC = {"field": "Epic Link", "fieldId": "customfield_10014", "to": "10001", "toString": "SHOP-1"}


@pytest.mark.parametrize(
    ("items", "fields", "expected"),
    [
        # the Flagged field: reason flag
        ([{**FLAG, "toString": "Impediment"}], {}, [("blocked", "flag", None, None)]),
        ([{**FLAG, "fromString": "Impediment"}], {}, [("unblocked", "flag", None, None)]),
        # "is blocked by": reason dependency; other link types say nothing
        ([link("SHOP-30")], {"issuelinks": [blocker("SHOP-30")]}, [DEP]),
        ([link("SHOP-30", added=False)], {"issuelinks": []}, [UNDEP]),
        # one of two blockers goes: still blocked, so no unblock
        ([link("SHOP-30", added=False)], {"issuelinks": [blocker("SHOP-31")]}, []),
        # a late body still listing the link just removed: that one does not count
        ([link("SHOP-30", added=False)], {"issuelinks": [blocker("SHOP-30")]}, [UNDEP]),
        ([link("SHOP-9", text="blocks")], {}, []),
        ([link("SHOP-9", text="relates to")], {}, []),
        # a new holder alone: a label-less `labeled` (it moves nothing); unassigned is ""
        ([TO_ANA], {}, [("labeled", None, "712020:ana", None)]),
        ([UNASSIGN], {}, [("labeled", None, "", None)]),
        # with a status change in the same history: it rides on that event, no extra one
        ([TO_ANA, {"field": "status", "fieldId": "status", "toString": "In Review"}], {},
         [("state", "In Review", "712020:ana", None)]),
        ([LABEL, TO_ANA], {}, [("labeled", "blocked", "712020:ana", None)]),
        # parents: by key in toString (Epic Link, Parent Link), by id (the issue's parent names
        # its key), removed; an id the issue does not name stays the id
        ([EPIC], {}, [("labeled", None, None, "SHOP-1")]),
        ([{"field": "Parent Link", "fieldId": "customfield_10018", "toString": "SHOP-2"}], {},
         [("labeled", None, None, "SHOP-2")]),
        ([{"field": "IssueParentAssociation", "to": "10001"}], {"parent": PARENT},
         [("labeled", None, None, "SHOP-1")]),
        ([{"field": "IssueParentAssociation", "from": "10001", "to": None}], {},
         [("labeled", None, None, "")]),
        ([{"field": "IssueParentAssociation", "to": "10077"}], {"parent": PARENT},
         [("labeled", None, None, "10077")]),
        # changes flowgauge does not read give nothing, even beside the issue's assignee
        ([{"field": "description", "toString": "x"}], {"assignee": {"accountId": "a"}}, []),
    ],
)  # fmt: skip
def test_jira_changelog_items(
    items: list[dict[str, Any]], fields: dict[str, Any], expected: list[Any]
) -> None:
    assert seen(change(*items, **fields)) == expected


def test_created_names_holder_parent_and_blockers() -> None:
    body = payload("jira", "jira_issue_created.json")
    body["issue"]["fields"].update(
        assignee={"accountId": "712020:ana", "key": "ana", "name": "ana"},
        parent=PARENT,
        issuelinks=[blocker("SHOP-30"), blocker("SHOP-31")],
    )
    events = [e for e in jira.normalize({}, body) if e.type in ("created", "blocked")]
    assert seen(events) == [
        ("created", "To Do", "712020:ana", "SHOP-1"),
        ("blocked", "dependency", None, None),
    ]
    # Data Center users have no accountId: the key, which its changelog's `to` carries too
    body["issue"]["fields"]["assignee"] = {"key": "JIRAUSER10100", "name": "ana"}
    assert jira.normalize({}, body)[0].assignee == "JIRAUSER10100"


def test_issuelink_webhooks_name_issues_by_id_only_and_give_nothing() -> None:
    assert jira.normalize({}, payload("jira", "issuelink_created.json")) == []
    deleted = {**payload("jira", "issuelink_created.json"), "webhookEvent": "issuelink_deleted"}
    assert jira.normalize({}, deleted) == []


@given(st.lists(st.tuples(st.sampled_from(["SHOP-30", "SHOP-31", "SHOP-32"]), st.booleans())))
def test_one_dependency_reason_holds_while_any_blocker_does(ops: list[tuple[str, bool]]) -> None:
    """Links added and removed in any sequence (each body lists the blockers right after): the
    item is blocked for `dependency` exactly while at least one "is blocked by" link holds, read
    as METRICS.md reads one reason (a repeated block changes nothing)."""
    held: set[str] = set()
    blocked = False
    for key, add in ops:
        if add == (key in held):
            continue  # Jira adds no link twice and removes no link it does not have
        held = held | {key} if add else held - {key}
        body_links = [blocker(k) for k in sorted(held)]
        for event in change(link(key, added=add), issuelinks=body_links):
            assert event.reason == "dependency"
            blocked = event.type == "blocked"
        assert blocked == bool(held)
