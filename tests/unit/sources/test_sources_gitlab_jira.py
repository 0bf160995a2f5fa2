"""GitLab and Jira behaviours beyond the golden payloads, built by editing them."""

from __future__ import annotations

from typing import Any

import pytest
from sources_helpers import kept, payload

from flowgauge.model import FlowEvent
from flowgauge.sources import PayloadError, gitlab, jira

GL = "acme-shop/warehouse"


def gl(name: str, changes: dict[str, Any] | None = None, **attrs: Any) -> list[FlowEvent]:
    body = payload("gitlab", name)
    body["object_attributes"].update(attrs)
    body["changes"] = changes or {}
    return gitlab.normalize({"idempotency-key": "k"}, body)


def summary(events: list[FlowEvent]) -> list[tuple[str, str | None]]:
    return [(e.type, e.state or e.label) for e in events]


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"action": "close", "state": "closed"}, [("state", "closed")]),
        ({"action": "reopen", "state": "opened"}, [("state", "opened")]),
        ({"action": "update"}, []),  # an edit that moves nothing
        ({"action": "update", "state": "closed"}, []),
    ],
)
def test_issue_actions(attrs: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert summary(kept(gl("issue.open.json", **attrs))) == expected


def test_workflow_scoped_label_is_the_state_while_open() -> None:
    body = payload("gitlab", "issue.open.json")
    doing = {"title": "workflow::in dev"}
    body["labels"] = [doing]
    body["object_attributes"]["action"] = "update"
    body["changes"] = {"labels": {"previous": [], "current": [doing]}}
    events = kept(gitlab.normalize({}, body))
    assert summary(events) == [("state", "workflow::in dev"), ("labeled", "workflow::in dev")]
    assert events[0].labels == ("workflow::in dev",)


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"action": "merge", "state": "merged"}, [("state", "merged")]),
        ({"action": "approved"}, [("state", "approved")]),
        ({"action": "approval"}, []),
        ({"action": "open", "draft": True}, [("created", "draft")]),
    ],
)
def test_merge_request_actions(attrs: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert summary(gl("merge_request.open.json", **attrs)) == expected


def test_merge_request_becoming_ready_is_a_state_change() -> None:
    events = gl(
        "merge_request.open.json", {"draft": {"previous": True, "current": False}}, action="update"
    )
    assert summary(events) == [("state", "opened")]


def test_merge_request_links_to_issues_and_jira() -> None:
    (created,) = gl(
        "merge_request.open.json",
        source_branch="12-fix-viewport",
        description="Closes #7 and group/other#8; PROJ-5",
    )
    assert created.links == (
        f"gitlab:{GL}#7",
        "gitlab:group/other#8",
        "jira:PROJ-5",
        f"gitlab:{GL}#12",
    )


def test_incident_issues() -> None:
    body = payload("gitlab", "issue.open.json", changes={})
    body["object_attributes"]["type"] = "Incident"
    assert [e.type for e in gitlab.normalize({}, body)] == ["created", "incident_opened"]
    body["object_attributes"].update(action="close", state="closed")
    events = gitlab.normalize({}, body)
    assert [e.type for e in events] == ["state", "incident_resolved"]
    assert events[1].service == GL and events[1].item == f"gitlab:{GL}#31"


@pytest.mark.parametrize(("status", "outcome"), [("failed", "failure"), ("running", None)])
def test_deployment_statuses(status: str, outcome: str | None) -> None:
    events = gitlab.normalize({}, payload("gitlab", "deployment.success.json", status=status))
    assert [e.status for e in events] == ([outcome] if outcome else [])


def test_gitlab_body_without_object_kind_is_refused() -> None:
    with pytest.raises(PayloadError):
        gitlab.normalize({}, {"object_attributes": {}})


def jira_change(*items: dict[str, Any]) -> list[FlowEvent]:
    body = payload("jira", "jira_issue_updated.description-edited.json")
    body["changelog"]["items"] = list(items)
    return jira.normalize({"x-atlassian-webhook-identifier": "w"}, body)


def test_jira_flagged_is_blocked_and_clearing_it_unblocks() -> None:
    flag = {
        "field": "Flagged",
        "fieldId": "customfield_10021",
        "fromString": None,
        "toString": "Impediment",
    }
    unflag = {**flag, "fromString": "Impediment", "toString": None}
    assert [e.type for e in jira_change(flag)] == ["blocked"]
    assert [e.type for e in jira_change(unflag)] == ["unblocked"]


def test_jira_several_changes_in_one_delivery_keep_their_order() -> None:
    events = jira_change(
        {"field": "status", "toString": "In Review"},
        {"field": "labels", "fromString": "", "toString": "blocked"},
    )
    assert summary(kept(events)) == [("state", "In Review"), ("labeled", "blocked")]
    # then the incident candidate of the added label, dropped by the default config
    # ids name the change (its changelog id), not the delivery: an import gives the same ones
    assert [e.id for e in events] == ["jira:h20003:0", "jira:h20003:1", "jira:h20003:2"]


def test_jira_ids_name_the_change_so_another_delivery_of_it_counts_once() -> None:
    body = payload("jira", "jira_issue_updated.labels.json")
    one = jira.normalize({"x-atlassian-webhook-identifier": "a"}, body)
    two = jira.normalize({"x-atlassian-webhook-identifier": "b"}, body)
    assert [e.id for e in one] == [e.id for e in two]
    assert [e.id for e in one] == [f"jira:h20004:{n}" for n in range(len(one))]
    created = payload("jira", "jira_issue_created.json")
    assert jira.normalize({}, created)[0].id == "jira:i10021-created:0"
    body["changelog"].pop("id")  # no changelog id: the delivery names the events
    assert jira.normalize({"x-atlassian-webhook-identifier": "a"}, body)[0].id == "jira:a:0"
    assert jira.normalize({}, body)[0].id.startswith("jira:c-")


def test_jira_without_webhook_event_is_refused() -> None:
    with pytest.raises(PayloadError):
        jira.normalize({}, {"issue": {"key": "A-1"}})
