"""The pure half of `import linear`: an issue and its history give exactly the events its
webhooks gave (every field and id), whatever order the API lists the history in."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from linear_world import api_history, api_issue, webhooks, world

from flowgauge.importers.linear_history import check, issue_deliveries
from flowgauge.model import FlowEvent
from flowgauge.sources import REGISTRY, PayloadError

normalize = REGISTRY["linear"].normalize


def events(deliveries: list[tuple[dict[str, str], dict[str, object]]]) -> list[FlowEvent]:
    return sorted((e for h, b in deliveries for e in normalize(h, b)), key=lambda e: e.id)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), shuffle=st.integers(0, 1_000))
def test_the_history_gives_the_webhooks_events(seed: int, shuffle: int) -> None:
    issues = world(seed, issues=6, changes=12)
    imported = []
    for issue in issues:
        history = api_history(issue)
        random.Random(shuffle).shuffle(history)
        imported.extend(issue_deliveries(api_issue(issue), history))
    assert events(imported) == events(webhooks(issues))


def test_entries_of_one_instant_are_one_update() -> None:
    (issue,) = [i for i in world(3, issues=12, changes=12) if len(i.changes) >= 3][:1]
    history = api_history(issue)
    at = history[0]["createdAt"]
    for entry in history:
        entry["createdAt"] = at  # the same millisecond: one webhook, no id used twice
    found = events(issue_deliveries(api_issue(issue), history))
    assert len({e.id for e in found}) == len(found)


def test_relation_changes_other_than_blocked_by_give_nothing() -> None:
    issue = world(5, issues=1, changes=1)[0]
    entry: dict[str, object] = {"id": "h1", "createdAt": "2026-06-02T09:00:00.000Z"}
    entry["relationChanges"] = [
        {"identifier": "OPS-9", "type": "ax"},
        {"identifier": "x", "type": "ad"},
    ]
    node = api_issue(issue)
    bodies = [b for _, b in issue_deliveries(node, [*api_history(issue), entry])]
    assert all(b["type"] == "Issue" for b in bodies)


@pytest.mark.parametrize("missing", ["id", "identifier", "createdAt", "team"])
def test_an_issue_without_what_the_api_always_gives_is_refused(missing: str) -> None:
    node = api_issue(world(1, issues=1)[0])
    del node[missing]
    with pytest.raises(PayloadError, match=missing):
        check(node)
