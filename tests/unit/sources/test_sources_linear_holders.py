"""Linear: who holds the issue, its team and what it belongs to (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest
from sources_helpers import payload

from flowgauge.sources import PayloadError, linear

PROJECT = {"projectId": "pr-1", "project": {"id": "pr-1", "name": "Printing"}}
PARENT = {"parentId": "is-9", "parent": {"id": "is-9", "identifier": "OPS-9"}}
NO_PROJECT = {"projectId": None, "project": None}


def update(**data: Any) -> dict[str, Any]:
    body = payload("linear", "Issue.update.json")
    for key in ("projectId", "project", "parentId", "parent", "assigneeId", "assignee"):
        body["data"].pop(key, None)
    body["data"].update(data)
    return body


@pytest.mark.parametrize(
    ("data", "parent"),
    [
        ({**PROJECT, **PARENT}, "Printing"),  # the project first: Linear's epic
        ({"projectId": "pr-1"}, "pr-1"),  # not expanded: its id
        ({**NO_PROJECT, **PARENT}, "linear:OPS-9"),  # no project: the parent issue
        ({**NO_PROJECT, "parentId": "is-9"}, "linear:is-9"),
        ({**NO_PROJECT, "parentId": None}, ""),  # says "none"
        ({}, None),  # says nothing
    ],
)
def test_parent_is_the_project_else_the_parent_issue(data: dict[str, Any], parent: str) -> None:
    (event,) = linear.normalize({}, update(**data))
    assert event.parent == parent


@pytest.mark.parametrize(
    ("data", "assignee"),
    [
        ({"assigneeId": "u-1", "assignee": {"id": "u-1", "name": "Mia"}}, "u-1"),
        ({"assignee": {"id": "u-2", "name": "Noor"}}, "u-2"),
        ({"assigneeId": None, "assignee": None}, ""),  # unassigned
        ({}, None),
    ],
)
def test_assignee_is_the_users_id(data: dict[str, Any], assignee: str | None) -> None:
    (event,) = linear.normalize({}, update(**data))
    assert (event.assignee, event.team) == (assignee, "OPS")


@pytest.mark.parametrize("key", ["assigneeId", "projectId", "parentId", "teamId"])
def test_a_holder_or_parent_change_alone_is_a_label_less_labeled(key: str) -> None:
    body = update(**PROJECT)
    body["updatedFrom"] = {"updatedAt": "2026-02-18T09:00:00.000Z", key: "old"}
    (event,) = linear.normalize({}, body)
    assert (event.type, event.state, event.label) == ("labeled", None, None)  # it moves nothing


def test_other_relations_and_relations_without_the_blocked_issue() -> None:
    body = payload("linear", "IssueRelation.create.json")
    body["data"]["type"] = "related"
    assert linear.normalize({}, body) == []
    body["data"]["type"] = "blocks"
    del body["data"]["relatedIssue"]
    with pytest.raises(PayloadError, match="relatedIssue"):
        linear.normalize({}, body)
