"""Event ids: a redelivery gives the same ids (counted once), another delivery gives new ones.

Jira's ids name the change itself (test_sources_gitlab_jira.py), and so do GitHub's (below), so
that an import matches them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sources_helpers import payload

from flowgauge.sources import REGISTRY

# provider -> (sample, delivery header, extra headers)
SAMPLES: dict[str, tuple[str, str, dict[str, str]]] = {
    "gitlab": ("issue.open.json", "idempotency-key", {}),
    "linear": ("Issue.create.json", "linear-delivery", {}),
}


def linear_issue(**extra: Any) -> dict[str, Any]:
    body = payload("linear", "Issue.create.json")
    body["data"].update(identifier="ENG-1", state={"name": "Todo"}, **extra)
    return body


def body_of(provider: str) -> Any:
    return linear_issue() if provider == "linear" else payload(provider, SAMPLES[provider][0])


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


def test_plane_v2_ids_use_the_stable_event_id_not_the_per_attempt_delivery() -> None:
    body = payload("plane", "workitem.updated.json")
    one = REGISTRY["plane"].normalize({"x-plane-delivery": "a1"}, body)
    body["delivery_id"] = "retry"
    two = REGISTRY["plane"].normalize({"x-plane-delivery": "a2"}, body)
    assert [e.id for e in one] == [e.id for e in two] == [f"plane:{body['event_id']}:0"]
    assert REGISTRY["plane"].delivery_id({}, body) == body["event_id"]
    body["event_id"] = "another-event"
    assert REGISTRY["plane"].normalize({}, body)[0].id == "plane:another-event:0"


def test_linear_content_ids_ignore_the_send_time_but_not_the_change() -> None:
    normalize = REGISTRY["linear"].normalize
    sent, resent_body = linear_issue(), linear_issue()
    sent["webhookTimestamp"], resent_body["webhookTimestamp"] = 1_700_000_000_000, 1_700_000_600_000
    first = normalize({}, sent)
    resent = normalize({}, resent_body)
    changed = normalize({}, linear_issue(updatedAt="2026-02-18T09:45:00.000Z"))
    assert [e.id for e in first] == [e.id for e in resent] != [e.id for e in changed]


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
