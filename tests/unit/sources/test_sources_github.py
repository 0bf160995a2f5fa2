"""GitHub behaviours beyond the golden payloads, built by editing them (closed, merged...)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sources_helpers import ev, kept, payload, same_events

from flowgauge.model import FlowEvent
from flowgauge.sources import PayloadError, github

GH = "acme-shop/storefront"


def run(event: str, body: Any) -> list[FlowEvent]:
    return github.normalize({"x-github-event": event, "x-github-delivery": "d"}, body)


def issue(name: str, **changes: Any) -> dict[str, Any]:
    body = payload("github", name)
    body["issue"].update(changes)
    return body


def pull(name: str, **changes: Any) -> dict[str, Any]:
    body = payload("github", name)
    body["pull_request"].update(changes)
    return body


def test_issue_closed_is_state_closed_at_closed_at() -> None:
    body = issue("issues.opened.json", state="closed", closed_at="2019-05-16T10:00:00Z")
    body["action"] = "closed"
    (event,) = kept(run("issues", body))  # labelled `bug`: no incident
    assert (event.type, event.state, event.at.isoformat()) == (
        "state",
        "closed",
        "2019-05-16T10:00:00+00:00",
    )


def test_incident_label_opens_and_closing_resolves_an_incident() -> None:
    labels = [{"name": "incident"}]
    opened = run("issues", issue("issues.opened.json", labels=labels))
    assert [e.type for e in opened] == ["created", "incident_opened"]
    assert opened[1].service == GH and opened[1].item == f"github:{GH}#14"
    closed = issue("issues.opened.json", labels=labels, closed_at="2026-02-04T10:00:00Z")
    closed["action"] = "closed"
    assert [e.type for e in run("issues", closed)] == ["state", "incident_resolved"]
    labeled = issue("issues.labeled.json", labels=labels)
    labeled["label"] = {"name": "Incident"}
    assert [e.type for e in run("issues", labeled)] == ["labeled", "incident_opened"]


def test_issue_type_wins_over_labels_for_item_type() -> None:
    (event,) = kept(run("issues", issue("issues.opened.json", type={"name": "Feature"})))
    assert event.item_type == "feature"


def test_merged_pull_request_is_state_merged_at_merged_at() -> None:
    body = pull("pull_request.closed.json", merged=True, merged_at="2019-05-15T15:22:00Z")
    event, commit = run("pull_request", body)  # and the merge commit (test_sources_dora.py)
    assert (event.state, event.at.isoformat()) == ("merged", "2019-05-15T15:22:00+00:00")
    assert commit.type == "commit"


def test_draft_pull_request_opens_as_draft() -> None:
    (event,) = run("pull_request", pull("pull_request.opened.json", draft=True))
    assert (event.type, event.state) == ("created", "draft")


@pytest.mark.parametrize(
    ("review_state", "expected"),
    [
        ("approved", "approved"),
        ("changes_requested", "changes_requested"),
        ("APPROVED", "approved"),
    ],
)
def test_reviews_that_decide_move_the_pull_request(review_state: str, expected: str) -> None:
    body = payload("github", "pull_request_review.submitted.json")
    body["review"]["state"] = review_state
    (event,) = run("pull_request_review", body)
    assert (event.item, event.kind, event.state) == (f"github:{GH}#15", "pull_request", expected)
    assert event.at.isoformat() == "2026-02-03T11:00:00+00:00"


def test_pull_request_links_from_title_body_and_branch() -> None:
    body = pull(
        "pull_request.opened.json",
        title="ABC-12: tidy the README",
        body="Fixes #12, closes octo-org/other#3. Also resolved: #4; see #5. UTF-8 and SHA-256.",
    )
    body["pull_request"]["head"]["ref"] = "feature/OPS-7-readme"
    (event,) = run("pull_request", body)
    assert event.links == (
        "jira:ABC-12",
        f"github:{GH}#12",
        "github:octo-org/other#3",
        f"github:{GH}#4",
        "jira:OPS-7",
    )


def test_project_status_edit_is_a_state_of_the_content_node() -> None:
    body = payload("github", "projects_v2_item.edited.json")
    body["changes"]["field_value"].update(
        {"field_name": "Status", "from": {"name": "Todo"}, "to": {"id": "x", "name": "In Progress"}}
    )
    expected = ev(
        "github",
        "state",
        "github:node/I_kwDOFlowG14",
        "2026-02-03T09:00:00Z",
        state="In Progress",
        project="PVT_kwDOFlowGzgAA",
        kind="issue",
    )
    same_events(run("projects_v2_item", body), [expected])
    body["changes"]["field_value"]["field_name"] = "Priority"
    assert run("projects_v2_item", body) == []


@pytest.mark.parametrize(("state", "status"), [("failure", "failure"), ("error", "failure")])
def test_failed_deployments(state: str, status: str) -> None:
    body = payload("github", "deployment_status.created.json")
    body["deployment_status"]["state"] = state
    (event,) = run("deployment_status", body)
    assert (event.type, event.status, event.environment) == ("deployment", status, "production")


def test_a_deployment_made_by_a_workflow_run_has_the_runs_id() -> None:
    """One deployment, one id (METRICS.md): the status names the run that created it (GitHub
    Actions' deployments carry `workflow_run`), as the run's own `workflow_run` event does."""
    body = payload("github", "deployment_status.created.json")
    (event,) = run("deployment_status", body)
    assert event.item == f"github:{GH}/deployments/5501"
    body["workflow_run"] = {"id": 8123001, "head_sha": body["deployment"]["sha"]}
    (event,) = run("deployment_status", body)
    (workflow,) = run("workflow_run", payload("github", "workflow_run.completed.json"))
    assert event.item == workflow.item == f"github:{GH}/actions/runs/8123001"


def test_event_inferred_from_the_body_when_the_header_is_missing() -> None:
    events = kept(github.normalize({}, payload("github", "issues.opened.json")))
    assert [e.type for e in events] == ["created"]
    headed = run("issues", payload("github", "issues.opened.json"))
    assert events[0].id == headed[0].id  # the id names the change, with or without headers
    with pytest.raises(PayloadError):
        github.normalize({}, {"hello": "world"})


def test_missing_repository_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"repository\.full_name"):
        run("issues", payload("github", "issues.opened.json", repository=None))


def logins(*names: str) -> list[dict[str, Any]]:
    return [{"login": name, "id": n, "type": "User"} for n, name in enumerate(names)]


@given(st.permutations(["riley-dev", "Alex-qa", "sam-ops", "bo"]))
def test_the_holder_is_the_lowest_assignee_whatever_the_order(order: list[str]) -> None:
    """Several assignees, one holder: the lowest login, case-insensitively, in any order."""
    events = run("issues", issue("issues.assigned.json", assignees=logins(*order)))
    assert [e.assignee for e in events] == ["Alex-qa"]
    opened = run("issues", issue("issues.opened.json", assignees=logins(*order)))
    assert {e.assignee for e in opened if e.type == "created"} == {"Alex-qa"}


def test_no_assignees_is_unassigned_and_no_list_says_nothing() -> None:
    (event,) = run("issues", issue("issues.unassigned.json", assignees=[]))
    assert (event.type, event.label, event.assignee) == ("labeled", None, "")
    (pr,) = run("pull_request", pull("pull_request.opened.json"))  # no `assignees` key
    assert pr.assignee is None


def test_parent_issue_url_is_the_parent_and_null_is_none() -> None:
    url = "https://api.github.com/repos/acme-shop/platform/issues/7"
    (created, _) = run("issues", issue("issues.opened.json", parent_issue_url=url))
    assert created.parent == "github:acme-shop/platform#7"
    (created, _) = run("issues", issue("issues.opened.json", parent_issue_url=None))
    assert created.parent == ""


def test_removing_one_of_two_blockers_leaves_the_issue_blocked() -> None:
    body = payload("github", "issue_dependencies.blocked_by_removed.json")
    body["blocked_issue"]["issue_dependencies_summary"]["blocked_by"] = 1
    assert run("issue_dependencies", body) == []
    body["blocked_issue"]["issue_dependencies_summary"]["blocked_by"] = 0
    (event,) = run("issue_dependencies", body)
    assert (event.type, event.reason, event.item) == ("unblocked", "dependency", f"github:{GH}#14")


def test_dependency_across_repositories_names_the_blocked_issue_in_its_own_repository() -> None:
    body = payload("github", "issue_dependencies.blocking_added.json")
    body["repository"] = {"full_name": "acme-shop/payments"}  # the blocker's repository
    body["blocked_issue_repo"] = {"full_name": "acme-shop/storefront"}
    (event,) = run("issue_dependencies", body)
    assert (event.type, event.item) == ("blocked", f"github:{GH}#14")
    mirror = payload("github", "issue_dependencies.blocked_by_added.json")
    mirror["blocking_issue_repo"] = {"full_name": "acme-shop/payments"}
    assert [event.id] == [e.id for e in run("issue_dependencies", mirror)]


def test_sub_issue_events_are_recognised_without_the_header() -> None:
    body = payload("github", "sub_issues.sub_issue_added.json")
    (event,) = github.normalize({}, body)
    assert event.parent == f"github:{GH}#10"
