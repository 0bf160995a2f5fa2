"""GitLab: the holder (assignees), the parent (milestone) and ids that name the change."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sources_helpers import payload

from flowgauge.model import FlowEvent
from flowgauge.sources import PayloadError, gitlab

GL = "acme-shop/warehouse"
ISSUE = f"gitlab:{GL}#31"


def user(name: str) -> dict[str, Any]:
    return {"id": hash(name) % 1000, "name": name.title(), "username": name}


def hook(
    name: str = "issue.open.json",
    changes: dict[str, Any] | None = None,
    assignees: list[str] | None = None,
    **attrs: Any,
) -> dict[str, Any]:
    body = payload("gitlab", name)
    body["object_attributes"].update(attrs)
    body["changes"] = changes if changes is not None else {}
    if assignees is not None:
        if assignees:
            body["assignees"] = [user(a) for a in assignees]
        body["object_attributes"]["assignee_ids"] = [user(a)["id"] for a in assignees]
    return body


def facts(events: list[FlowEvent]) -> list[tuple[str, str, str | None, str | None]]:
    return [(e.id.split("/", 2)[-1], e.type, e.assignee, e.parent) for e in events]


UPDATE: dict[str, Any] = {"action": "update", "updated_at": "2026-02-10 11:00:00 UTC"}


@pytest.mark.parametrize(
    ("assignees", "holder"),
    [
        (["mlee"], "mlee"),
        (["zoe", "adam", "mlee"], "adam"),  # several: the lowest username
        ([], ""),  # none: unassigned
        (None, None),  # the payload does not say
    ],
)
def test_the_holder_is_the_lowest_username(assignees: list[str] | None, holder: str | None) -> None:
    events = gitlab.normalize({}, hook(assignees=assignees))
    assert [e.assignee for e in events if e.type != "incident_opened"] == [holder]


@given(st.lists(st.from_regex(r"[a-z][a-z0-9_.]{0,8}", fullmatch=True), min_size=1, unique=True))
def test_the_holder_does_not_depend_on_the_order_of_assignees(names: list[str]) -> None:
    forwards = gitlab.normalize({}, hook(assignees=names))
    backwards = gitlab.normalize({}, hook(assignees=list(reversed(names))))
    assert forwards[0].assignee == backwards[0].assignee == min(names)


def test_an_assignee_change_is_a_label_less_event_naming_it() -> None:
    changes = {"assignees": {"previous": [user("mlee")], "current": [user("zoe")]}}
    events = gitlab.normalize({}, hook(changes=changes, assignees=["zoe"], **UPDATE))
    assert facts(events) == [("assignee:zoe", "labeled", "zoe", None)]
    assert events[0].id == f"{ISSUE}@1770721200/assignee:zoe"
    assert events[0].state is None and events[0].label is None  # it moves no stage
    unassigned = {"assignees": {"previous": [user("zoe")], "current": []}}
    events = gitlab.normalize({}, hook(changes=unassigned, assignees=[], **UPDATE))
    assert facts(events) == [("assignee:", "labeled", "", None)]


def test_the_milestone_is_the_parent_and_its_change_an_event() -> None:
    changes = {"milestone_id": {"previous": None, "current": 57}}
    events = gitlab.normalize({}, hook(changes=changes, milestone_id=57, **UPDATE))
    parent = "gitlab:milestones/57"
    assert facts(events) == [(f"parent:{parent}", "labeled", None, parent)]
    removed = {"milestone_id": {"previous": 57, "current": None}}
    events = gitlab.normalize({}, hook(changes=removed, milestone_id=None, **UPDATE))
    assert facts(events) == [("parent:", "labeled", None, "")]


def test_every_event_of_the_object_carries_holder_and_parent() -> None:
    changes = {
        "state_id": {"previous": 1, "current": 2},
        "labels": {"previous": [], "current": [{"title": "blocked"}]},
        "assignees": {"previous": [], "current": [user("bo")]},
    }
    body = hook(
        changes=changes,
        assignees=["bo", "al"],
        milestone_id=3,
        action="close",
        state="closed",
        updated_at="2026-02-10 11:00:00 UTC",
    )
    body["labels"] = [{"title": "blocked"}]
    parent = "gitlab:milestones/3"
    assert facts(gitlab.normalize({}, body)) == [
        ("state:closed", "state", "al", parent),
        ("label+:blocked", "labeled", "al", parent),
        ("assignee:al", "labeled", "al", parent),
        ("incident_resolved", "incident_resolved", None, None),
    ]


def test_ids_name_the_change_not_the_delivery() -> None:
    body = hook(action="close", state="closed", updated_at="2026-02-10 11:00:00.812 UTC")
    one = gitlab.normalize({"x-gitlab-event-uuid": "a"}, body)
    two = gitlab.normalize({"idempotency-key": "b"}, body)
    assert [e.id for e in one] == [e.id for e in two]
    assert one[0].id == f"{ISSUE}@1770721200/state:closed"  # whole seconds, as hooks give
    reopened = gitlab.normalize({}, hook(action="reopen", updated_at="2026-02-10 11:00:01 UTC"))
    assert reopened[0].id == f"{ISSUE}@1770721201/state:opened"


def test_merge_commit_events_are_named_by_their_commit() -> None:
    body = hook(
        "merge_request.open.json",
        action="merge",
        state="merged",
        merge_commit_sha="ab" * 20,
        updated_at="2026-02-11 09:00:00 UTC",
    )
    events = gitlab.normalize({}, body)
    assert [e.id for e in events] == [
        f"gitlab:{GL}!32@1770800400/state:merged",
        f"gitlab:{GL}/commits/{'ab' * 20}@1770800400/commit:{'ab' * 20}",
    ]


def test_a_huge_label_is_digested_in_the_id() -> None:
    label = "x" * 400
    body = hook(changes={"labels": {"previous": [], "current": [{"title": label}]}}, **UPDATE)
    (event,) = [e for e in gitlab.normalize({}, body) if e.type == "labeled"]
    assert len(event.id) < 120 and "/d-" in event.id


def test_deployments_keep_the_ids_of_their_delivery() -> None:
    body = payload("gitlab", "deployment.success.json")
    (event,) = gitlab.normalize({"idempotency-key": "k-1"}, body)
    assert event.id == "gitlab:k-1:0" and event.item == f"gitlab:{GL}/jobs/7301"


def links(*blockers: dict[str, Any]) -> dict[str, Any]:
    return {
        "object_kind": "issue_links",
        "project": {"path_with_namespace": GL},
        "object_attributes": {"iid": 31},
        "blocked_by": list(blockers),
    }


def blocker(linked: str, closed: str | None = None) -> dict[str, Any]:
    state = "closed" if closed else "opened"
    return {"link_created_at": linked, "state": state, "closed_at": closed}


@pytest.mark.parametrize(
    ("blockers", "expected"),
    [
        ([blocker("2026-03-01T10:00:00Z")], [("blocked", "2026-03-01T10:00:00")]),
        (
            [blocker("2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z")],
            [("blocked", "2026-03-01T10:00:00"), ("unblocked", "2026-03-02T10:00:00")],
        ),
        (  # two blockers: blocked from the first link until the last one closes
            [
                blocker("2026-03-01T10:00:00Z", "2026-03-03T10:00:00Z"),
                blocker("2026-03-02T10:00:00Z", "2026-03-04T10:00:00Z"),
            ],
            [("blocked", "2026-03-01T10:00:00"), ("unblocked", "2026-03-04T10:00:00")],
        ),
        (  # one closes as the next is linked: still blocked
            [
                blocker("2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z"),
                blocker("2026-03-02T10:00:00Z"),
            ],
            [("blocked", "2026-03-01T10:00:00")],
        ),
        ([blocker("2026-03-02T10:00:00Z", "2026-03-01T10:00:00Z")], []),  # closed before
        ([], []),
    ],
)
def test_blocking_issues_block_for_reason_dependency(
    blockers: list[dict[str, Any]], expected: list[tuple[str, str]]
) -> None:
    events = gitlab.normalize({}, links(*blockers))
    assert [(e.type, e.at.strftime("%Y-%m-%dT%H:%M:%S")) for e in events] == expected
    assert all(e.reason == "dependency" and e.item == ISSUE for e in events)
    assert [e.id for e in events] == [
        f"{ISSUE}@{int(e.at.timestamp())}/{e.type}:dependency" for e in events
    ]
    assert [e.id for e in gitlab.normalize({}, links(*reversed(blockers)))] == [
        e.id for e in events
    ]


def test_blocked_labels_stay_labels() -> None:
    changes = {"labels": {"previous": [], "current": [{"title": "blocked"}]}}
    events = gitlab.normalize({}, hook(changes=changes, **UPDATE))
    assert [(e.type, e.label, e.reason) for e in events if e.type != "incident_opened"] == [
        ("labeled", "blocked", None)  # the engine blocks on configured labels, reason `label`
    ]


ANY = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=12)
    | st.sampled_from(
        ["2026-03-01T10:00:00Z", "2026-03-02 10:00:00 UTC", "closed", "opened", "None"]
    )
)


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["link_created_at", "state", "closed_at", "updated_at"]), ANY
        )
        | ANY,
        max_size=4,
    ),
    ANY,
)
def test_issue_links_of_any_shape_give_events_or_a_payload_error(
    blockers: list[Any], iid: Any
) -> None:
    body = links()
    body["blocked_by"] = blockers
    body["object_attributes"]["iid"] = iid
    try:
        events = gitlab.normalize({}, body)
    except PayloadError:
        return
    assert all(e.type in ("blocked", "unblocked") for e in events)
