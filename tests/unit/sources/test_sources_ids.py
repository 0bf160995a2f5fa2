"""Event ids: a redelivery gives the same ids (counted once), another delivery gives new ones.

Jira's and GitLab's issue / merge request ids name the change itself (test_sources_gitlab_jira.py,
test_sources_gitlab_holders.py), so that an import matches them; GitLab's deployments keep the
delivery's.
"""

from __future__ import annotations

from typing import Any

import pytest
from sources_helpers import payload

from flowgauge.sources import REGISTRY

# provider -> (sample, delivery header, extra headers)
SAMPLES: dict[str, tuple[str, str, dict[str, str]]] = {
    "github": ("issues.opened.json", "x-github-delivery", {"x-github-event": "issues"}),
    "gitlab": ("deployment.success.json", "idempotency-key", {}),
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
