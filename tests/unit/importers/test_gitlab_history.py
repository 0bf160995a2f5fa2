"""The GitLab importer's pure parts: paging headers, rate-limit headers, an object's history."""

from __future__ import annotations

from typing import Any

import pytest

from flowgauge.importers.gitlab import next_page
from flowgauge.importers.gitlab_history import item_deliveries, subject_of
from flowgauge.importers.http import server_wait
from flowgauge.sources import gitlab

PROJECT = {"path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}


@pytest.mark.parametrize(
    ("headers", "tail"),
    [
        ({"x-next-page": "3", "link": '<https://g/x?page=3>; rel="next"'}, "3"),
        ({"x-next-page": ""}, None),  # the last page
        (
            {
                "link": '<https://g/x?id_after=42&per_page=100>; rel="next", '
                '<https://g/x>; rel="first"'
            },
            "?id_after=42&per_page=100",
        ),  # keyset pagination: only Link says
        ({"link": '<https://g/x?page=1>; rel="first"'}, None),
    ],
)
def test_next_page(headers: dict[str, str], tail: str | None) -> None:
    assert next_page(headers) == tail


def test_gitlab_rate_limit_headers_say_how_long_to_wait() -> None:
    headers = {"ratelimit-remaining": "0", "ratelimit-reset": "1000060"}
    assert server_wait(headers, now=1_000_000.0) == 60.0
    assert server_wait({"ratelimit-remaining": "5", "ratelimit-reset": "1000060"}, now=0) is None


def event(at: str, **fields: Any) -> dict[str, Any]:
    return {"id": 1, "created_at": at, **fields}


def test_an_issue_history_as_hooks() -> None:
    issue = {
        "id": 5,
        "iid": 9,
        "state": "closed",
        "created_at": "2026-03-01T10:00:00.250Z",
        "labels": ["bug"],
        "assignees": [{"username": "zoe"}, {"username": "al"}],
        "issue_type": "issue",
    }
    states = [event("2026-03-03T08:00:00.999Z", state="closed")]
    labels = [
        event("2026-03-01T10:00:00.250Z", action="add", label={"name": "blocked"}),
        event("2026-03-02T09:00:00.100Z", action="remove", label={"name": "blocked"}),
        event("2026-03-02T09:00:00.100Z", action="add", label={"name": "bug"}),
    ]
    milestones = [event("2026-03-02T12:00:00Z", action="add", milestone={"id": 57})]
    notes = [
        {"body": "assigned to @al", "system": True, "created_at": "2026-03-01T10:00:00.300Z"},
        {"body": "assigned to @zoe", "system": True, "created_at": "2026-03-02T15:00:00Z"},
        {"body": "assigned to @zoe", "system": False, "created_at": "2026-03-02T16:00:00Z"},
    ]
    hooks = item_deliveries(
        subject_of("issue", PROJECT, issue), issue, (states, labels, milestones, notes)
    )
    events = [e for h, b in hooks for e in gitlab.normalize(h, b)]
    got = [
        (e.id.split("#9@")[1], e.assignee, e.parent)
        for e in events
        if not e.type.startswith("incident")
    ]
    assert got == [
        ("1772359200/created:opened", "al", ""),  # labels and assignee set at creation
        ("1772359200/label+:blocked", "al", ""),
        ("1772442000/label+:bug", "al", ""),
        ("1772442000/label-:blocked", "al", ""),
        ("1772452800/parent:gitlab:milestones/57", "al", "gitlab:milestones/57"),
        ("1772463600/assignee:al", "al", "gitlab:milestones/57"),  # zoe joins: al stays holder
        ("1772524800/state:closed", "al", "gitlab:milestones/57"),
    ]


@pytest.mark.parametrize(
    ("body", "given", "taken"),
    [
        ("assigned to @al", ["al"], []),
        ("assigned to @al and @bo", ["al", "bo"], []),
        ("unassigned @zoe", [], ["zoe"]),
        ("assigned to @al and unassigned @zoe", ["al"], ["zoe"]),
        ("assigned to @xunassigned and @y.z", ["xunassigned", "y.z"], []),
    ],
)
def test_system_notes_name_who_was_assigned_and_unassigned(
    body: str, given: list[str], taken: list[str]
) -> None:
    from flowgauge.importers.gitlab_history import _changes

    note = {"body": body, "system": True, "created_at": "2026-03-01T10:00:00Z"}
    (change,) = _changes([], [], [], [note])
    assert (change.assigned, change.unassigned) == (given, taken)
