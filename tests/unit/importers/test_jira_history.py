"""The Jira API's view of an issue, rendered back into webhooks, normalizes to exactly the events
the live webhooks gave: the same ids, times, states, labels and incident candidates."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from import_cases import JIRA_CONFIG
from jira_world import CATEGORY, EPICS, api_histories, api_issue, webhooks, world

from flowgauge.importers.jira import bounded_jql
from flowgauge.importers.jira_history import issue_deliveries
from flowgauge.model import FlowEvent
from flowgauge.sources import REGISTRY, PayloadError

normalize = REGISTRY["jira"].normalize


def events_of(deliveries: list[tuple[dict[str, str], dict[str, Any]]]) -> list[FlowEvent]:
    return [event for headers, body in deliveries for event in normalize(headers, body)]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_an_issue_rebuilt_from_the_api_gives_the_webhooks_events(seed: int) -> None:
    issues = world(seed, issues=6)
    live = events_of(webhooks(issues))
    imported = events_of(
        [
            d
            for i in issues
            for d in issue_deliveries(api_issue(i), api_histories(i), CATEGORY, EPICS)
        ]
    )
    assert sorted(imported, key=lambda e: e.id) == sorted(live, key=lambda e: e.id)


def test_data_center_changelog_in_the_issue_gives_the_same_as_cloud_changelog_pages() -> None:
    for issue in world(7, issues=10):
        dc = api_issue(issue, with_changelog=True)
        histories = dc["changelog"]["histories"]
        assert issue_deliveries(dc, histories, CATEGORY) == issue_deliveries(
            api_issue(issue), api_histories(issue), CATEGORY
        )


def test_histories_that_change_nothing_flowgauge_reads_are_not_sent() -> None:
    issue = next(
        i
        for i in world(3, issues=40)
        if any(h.items[0].get("fieldId") == "description" for h in i.histories)
    )
    sent = issue_deliveries(api_issue(issue), api_histories(issue), CATEGORY)
    assert all(
        item.get("fieldId") != "description"
        for _, b in sent[1:]
        for item in b["changelog"]["items"]
    )


def test_the_jql_is_bounded_by_since_and_ordered_for_stable_pages() -> None:
    from datetime import UTC, datetime

    since = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    assert bounded_jql("project = ABC", since) == (
        '(project = ABC) AND updated >= "2026-06-01 08:30" ORDER BY created ASC, key ASC'
    )
    assert bounded_jql("project = ABC order by rank", since).endswith("ORDER BY rank")
    assert bounded_jql("", since).startswith('updated >= "2026-06-01 08:30"')


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda i, h: i.pop("fields"), "fields must be a JSON object"),
        (lambda i, h: i.update(id=None), "issue.id is missing"),
        (lambda i, h: h[0].update(created="yesterday"), "history.created is not an RFC 3339 time"),
        (lambda i, h: h[0].update(id="x1"), "history.id is not a Jira id"),
        (lambda i, h: h.__setitem__(0, "x"), "changelog history must be a JSON object"),
    ],
)
def test_an_answer_that_is_not_jiras_is_a_payload_error_never_a_crash(
    mangle: Any, reason: str
) -> None:
    issue = next(i for i in world(3, issues=20) if i.histories)
    api, histories = api_issue(issue), api_histories(issue)
    mangle(api, histories)
    with pytest.raises(PayloadError, match=reason):
        issue_deliveries(api, histories, CATEGORY)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_webhooks_and_an_import_mixed_in_any_order_any_number_of_times_give_the_same_metrics(
    seed: int, data: st.DataObject
) -> None:
    """Part of the history live, all of it imported (some items twice), shuffled: the metrics of
    the webhooks alone, exactly (METRICS.md: the same events, any order, any number of times)."""
    from flowgauge.engine.processor import Processor
    from flowgauge.exposition import render
    from flowgauge.model.loader import parse_config

    config = parse_config(JIRA_CONFIG, "test")
    issues = world(seed, issues=8)
    live = events_of(webhooks(issues))
    imported = [
        events_of(issue_deliveries(api_issue(i), api_histories(i), CATEGORY, EPICS)) for i in issues
    ]
    seen_live = data.draw(st.lists(st.sampled_from(live), max_size=len(live))) if live else []
    again = data.draw(st.lists(st.sampled_from(imported), max_size=4))
    mixed = seen_live + [e for item in imported + again for e in item]
    mixed = data.draw(st.permutations(mixed))

    def metrics(events: list[FlowEvent]) -> bytes:
        return render(Processor.from_events(config, events).snapshot(0))

    assert metrics(mixed) == metrics(live)


def test_a_creation_record_in_the_changelog_adds_nothing() -> None:
    """Some Jira histories start with the creation itself (status from nothing): the webhooks
    carried it as `jira:issue_created`, so the import must not make a second event of it."""
    from jira_world import jira_time

    for issue in world(17, issues=10):
        histories = api_histories(issue)
        creation = {
            "id": "9999",
            "created": jira_time(issue.created),
            "items": [
                {"field": "status", "fieldId": "status", "fromString": None,
                 "toString": issue.initial.status},
                {"field": "issuetype", "fieldId": "issuetype", "fromString": None,
                 "toString": issue.initial.issuetype},
            ],
        }  # fmt: skip
        with_creation = issue_deliveries(api_issue(issue), [creation, *histories], CATEGORY)
        plain = issue_deliveries(api_issue(issue), histories, CATEGORY)
        assert events_of(with_creation) == events_of(plain)
