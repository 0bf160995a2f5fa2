"""Event ids: a redelivery gives the same ids (counted once), another delivery gives new ones.

Jira's, GitHub's, Linear's and GitLab's issue / merge request ids name the change itself
(test_sources_gitlab_jira.py, test_sources_gitlab_holders.py, below), so that an import of the
same history matches them; GitLab's deployments keep the delivery's.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sources_helpers import payload

from flowgauge.sources import REGISTRY, PayloadError

# provider -> (sample, delivery header, extra headers)
SAMPLES: dict[str, tuple[str, str, dict[str, str]]] = {
    "gitlab": ("deployment.success.json", "idempotency-key", {}),
}


def linear_issue(**extra: Any) -> dict[str, Any]:
    body = payload("linear", "Issue.create.json")
    body["data"].update(identifier="ENG-1", state={"name": "Todo"}, **extra)
    return body


def body_of(provider: str) -> Any:
    return payload(provider, SAMPLES[provider][0])


@pytest.mark.parametrize("provider", sorted(SAMPLES))
def test_redelivery_same_ids_other_delivery_other_ids(provider: str) -> None:
    _, header, extra = SAMPLES[provider]
    normalize = REGISTRY[provider].normalize
    first = normalize({header: "guid-1", **extra}, body_of(provider))
    again = normalize({header: "guid-1", **extra}, body_of(provider))
    other = normalize({header: "guid-2", **extra}, body_of(provider))
    assert first and [e.id for e in first] == [e.id for e in again]
    assert not {e.id for e in first} & {e.id for e in other}
    assert REGISTRY[provider].delivery_id({header: "guid-1"}, body_of(provider)) == "guid-1"


@pytest.mark.parametrize("provider", sorted(SAMPLES))
def test_without_a_delivery_id_ids_come_from_the_content(provider: str) -> None:
    extra = SAMPLES[provider][2]
    normalize = REGISTRY[provider].normalize
    first = [e.id for e in normalize(extra, body_of(provider))]
    assert first == [e.id for e in normalize(extra, body_of(provider))]
    assert all(i.startswith(f"{provider}:c-") for i in first)


WORK_ITEM = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


def test_plane_ids_name_the_change_not_the_event_id_nor_the_delivery() -> None:
    normalize = REGISTRY["plane"].normalize
    body = payload("plane", "workitem.updated.json")
    one = normalize({"x-plane-delivery": "a1"}, body)
    body["delivery_id"], body["event_id"] = "retry", "another-event"
    two = normalize({"x-plane-delivery": "a2"}, body)
    assert [e.id for e in one] == [e.id for e in two] == [f"plane:w{WORK_ITEM}-u1771251600000:0"]
    body["data"]["updated_at"] = "2026-02-16T15:00:00+00:00"
    assert normalize({}, body)[0].id == f"plane:w{WORK_ITEM}-u1771254000000:0"
    created = normalize({}, payload("plane", "workitem.created.json"))
    assert [e.id for e in created] == [f"plane:w{WORK_ITEM}-created:{n}" for n in (0, 1)]
    deleted = normalize({}, payload("plane", "workitem.deleted.json"))
    assert [e.id for e in deleted] == [f"plane:w{WORK_ITEM}-deleted:0"]


def test_plane_v1_ids_name_the_field_and_its_values_too() -> None:
    """v1 sends one delivery per changed field, all with the same `updated_at`."""
    normalize = REGISTRY["plane"].normalize
    state = normalize({}, payload("plane", "v1.issue.update.json"))
    blocked = payload("plane", "v1.issue.update.blocked_by.json")
    first = normalize({}, blocked)
    blocked["activity"]["new_value"] = "SHOP-4"
    other = normalize({}, blocked)
    ids = [state[0].id, first[0].id, other[0].id]
    assert len(set(ids)) == 3 and all(i.startswith(f"plane:w{WORK_ITEM}-u") for i in ids)


def test_plane_update_without_updated_at_is_timed_and_named_by_the_last_activity() -> None:
    body = payload("plane", "workitem.updated.json")
    body["data"]["updated_at"] = None
    body["data"]["last_activity_at"] = "2026-02-16T15:00:00+00:00"
    assert REGISTRY["plane"].normalize({}, body)[0].id == f"plane:w{WORK_ITEM}-u1771254000000:0"
    body["data"]["last_activity_at"] = None
    with pytest.raises(PayloadError):
        REGISTRY["plane"].normalize({}, body)


ISSUE = "6a7b8c9d-0e1f-4a2b-9c3d-5e6f7a8b9c0d"


def linear_update(**data: Any) -> dict[str, Any]:
    body = payload("linear", "Issue.update.json")
    body["data"].update(data)
    return body


def test_linear_ids_name_the_change_not_the_delivery_nor_the_send_time() -> None:
    normalize = REGISTRY["linear"].normalize
    sent, resent = linear_update(), linear_update()
    resent["webhookTimestamp"] += 600_000
    first = normalize({"linear-delivery": "guid-1"}, sent)
    again = normalize({"linear-delivery": "guid-2"}, resent)
    moved_later = linear_update(updatedAt="2026-02-18T12:00:00Z")
    later = normalize({"linear-delivery": "guid-1"}, moved_later)
    assert [e.id for e in first] == [e.id for e in again] == [f"linear:i{ISSUE}-u1771414200000:0"]
    assert [e.id for e in later] == [f"linear:i{ISSUE}-u1771416000000:0"]
    created = normalize({"linear-delivery": "guid-3"}, linear_issue())
    assert [e.id for e in created] == [f"linear:i{ISSUE}-created:{n}" for n in (0, 1)]
    removed = normalize({}, payload("linear", "Issue.remove.json"))
    assert [e.id for e in removed] == [f"linear:i{ISSUE}-removed:0"]


def test_linear_relation_ids_name_the_blocked_issue_the_blocker_and_the_time() -> None:
    normalize = REGISTRY["linear"].normalize
    added = normalize({"linear-delivery": "a"}, payload("linear", "IssueRelation.create.json"))
    removed = normalize({"linear-delivery": "a"}, payload("linear", "IssueRelation.remove.json"))
    assert [e.id for e in added] == [f"linear:i{ISSUE}-dOPS-41-a1771416000000:0"]
    assert [e.id for e in removed] == [f"linear:i{ISSUE}-dOPS-41-r1771426800000:0"]


def test_linear_without_the_issue_id_falls_back_to_the_delivery_then_the_content() -> None:
    normalize = REGISTRY["linear"].normalize
    body = linear_update()
    body["data"]["updatedAt"] = None
    assert normalize({"linear-delivery": "guid-1"}, body)[0].id == "linear:guid-1:0"
    assert normalize({}, body)[0].id.startswith("linear:c-")


def test_an_overlong_delivery_header_is_digested_not_copied() -> None:
    body = payload("github", "issues.opened.json")
    events = REGISTRY["github"].normalize(
        {"x-github-event": "issues", "x-github-delivery": "x" * 1000}, body
    )
    assert events and all(len(event.id) < 100 for event in events)


def github_ids(name: str, delivery: str = "guid-1", **issue: Any) -> list[str]:
    body = payload("github", name)
    body[next(k for k in ("issue", "pull_request", "blocked_issue") if k in body)].update(issue)
    headers = {"x-github-event": name.split(".")[0], "x-github-delivery": delivery}
    return [e.id for e in REGISTRY["github"].normalize(headers, body)]


@pytest.mark.parametrize(
    "name",
    [
        "issues.opened.json",
        "issues.labeled.json",
        "issues.assigned.json",
        "pull_request.closed.json",
        "issue_dependencies.blocked_by_added.json",
    ],
)
def test_github_ids_name_the_change_not_the_delivery(name: str) -> None:
    """GitHub's delivery GUID is not in the REST API's history: the id is the change's, so a
    redelivery, another delivery of the same change, and the import agree on it."""
    first = github_ids(name)
    assert first and first == github_ids(name) == github_ids(name, delivery="guid-2")
    assert all(re.fullmatch(r"github:ch-[0-9a-f]{32}:\d+", i) for i in first)


def test_github_ids_differ_for_a_change_at_another_time_or_of_another_label() -> None:
    first = github_ids("issues.labeled.json")
    later = github_ids("issues.labeled.json", updated_at="2026-02-02T09:16:11Z")
    assert not set(first) & set(later)
    body = payload("github", "issues.labeled.json")
    body["label"] = {"name": "needs-triage"}
    other = [e.id for e in REGISTRY["github"].normalize({"x-github-event": "issues"}, body)]
    assert not set(first) & set(other)
    unlabeled = payload("github", "issues.labeled.json", action="unlabeled")
    undone = [e.id for e in REGISTRY["github"].normalize({"x-github-event": "issues"}, unlabeled)]
    assert not set(first) & set(undone)


def test_github_both_sides_of_a_dependency_give_one_id() -> None:
    """`blocked_by_added` (the blocked issue's repository) and `blocking_added` (the blocker's)
    report one change: counted once."""
    assert github_ids("issue_dependencies.blocked_by_added.json") == github_ids(
        "issue_dependencies.blocking_added.json"
    )
    assert github_ids("issue_dependencies.blocked_by_added.json") != github_ids(
        "issue_dependencies.blocked_by_removed.json"
    )


def test_github_a_push_is_its_ref_and_head_however_it_is_dated() -> None:
    """The import dates a pull request's push by its last commit, GitHub by `pushed_at`."""
    live = payload("github", "push.json")
    imported = payload("github", "push.json")
    imported["repository"].pop("pushed_at")
    normalize = REGISTRY["github"].normalize
    (one,) = normalize({"x-github-event": "push"}, live)
    (two,) = normalize({"x-github-event": "push"}, imported)
    assert one.at != two.at and one.id == two.id
    imported["ref"] = "refs/heads/other"
    assert normalize({"x-github-event": "push"}, imported)[0].id != one.id
