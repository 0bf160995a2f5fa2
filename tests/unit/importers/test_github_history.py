"""The pure half of `import github`: the REST API's view of an item, rendered as webhooks, gives
the events the webhooks gave, whatever order the timeline is read in, with pages read twice, and
written in any order any number of times."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from github_api import api_commits, api_issue, api_pull, api_timeline
from github_world import (
    REPO,
    Item,
    api_deployment,
    api_status,
    delivery_lines,
    deployment_webhooks,
    item_webhooks,
    webhooks,
    world,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_cases import GITHUB_CONFIG as CONFIG

from flowgauge import report
from flowgauge.importers.base import ItemHistory
from flowgauge.importers.github_history import deployment_deliveries, item_deliveries
from flowgauge.importers.sink import item_records
from flowgauge.model import FlowEvent
from flowgauge.model.loader import parse_config
from flowgauge.sources import REGISTRY

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
normalize = REGISTRY["github"].normalize


def events(deliveries: list[tuple[str, dict[str, Any]]]) -> dict[str, FlowEvent]:
    """The events of (event name, body) pairs, by id (a repeated id is one event)."""
    out: dict[str, FlowEvent] = {}
    for event, body in deliveries:
        headers = {"x-github-event": event}
        for found in normalize(headers, {**body, "repository": {"full_name": REPO}}):
            assert out.setdefault(found.id, found) == found
    return out


def imported(item: Item, timeline: list[dict[str, Any]]) -> dict[str, FlowEvent]:
    pull = api_pull(item) if item.pull else None
    rendered = item_deliveries(REPO, api_issue(item), timeline, pull, api_commits(item))
    return events([(h["x-github-event"], b) for h, b in rendered])


@PROPERTY
@given(st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_an_item_imported_gives_the_webhooks_events_in_any_timeline_order(
    seed: int, rng: random.Random
) -> None:
    for item in world(seed, items=6, deployments=0).items:
        timeline = api_timeline(item)
        rng.shuffle(timeline)  # pages fetched concurrently, or a timeline out of order
        assert imported(item, timeline) == events(item_webhooks(item))


@PROPERTY
@given(st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_a_timeline_page_read_twice_changes_nothing(seed: int, rng: random.Random) -> None:
    for item in world(seed, items=6, deployments=0).items:
        timeline = api_timeline(item)
        start = rng.randrange(len(timeline))
        twice = timeline + timeline[start : start + 4]  # a page served again after a shift
        assert imported(item, twice) == events(item_webhooks(item))


@PROPERTY
@given(st.integers(0, 10_000))
def test_a_deployment_imported_gives_the_webhooks_events(seed: int) -> None:
    for deployment in world(seed, items=8, deployments=4).deployments:
        statuses = [api_status(deployment, *s) for s in reversed(deployment.statuses)]
        rendered = deployment_deliveries(REPO, api_deployment(deployment), statuses)
        got = events([(h["x-github-event"], b) for h, b in rendered])
        assert got == events(deployment_webhooks(deployment))


def _import_lines(seed: int) -> list[bytes]:
    """The records an import writes for the world (one per item and deployment)."""
    history = world(seed, items=12, deployments=4)
    lines: list[bytes] = []
    for item in history.items:
        pull = api_pull(item) if item.pull else None
        rendered = item_deliveries(
            REPO, api_issue(item), api_timeline(item), pull, api_commits(item)
        )
        lines += [r.delivery.to_bytes() for r in item_records("github", ItemHistory("k", rendered))]
    for d in history.deployments:
        statuses = [api_status(d, *s) for s in d.statuses]
        rendered = deployment_deliveries(REPO, api_deployment(d), statuses)
        lines += [r.delivery.to_bytes() for r in item_records("github", ItemHistory("d", rendered))]
    return lines


def _prom(lines: list[bytes]) -> str:
    config = parse_config(CONFIG, "flowgauge.yaml")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        return report.prom_text(report.build([path], config), wall_micros=0)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 1000), st.randoms(use_true_random=False), st.integers(0, 6))
def test_import_records_in_any_order_any_number_of_times_give_the_webhooks_report(
    seed: int, rng: random.Random, repeats: int
) -> None:
    lines = _import_lines(seed)
    shuffled = lines + [rng.choice(lines) for _ in range(repeats)]  # pages written again
    rng.shuffle(shuffled)
    live = delivery_lines(webhooks(world(seed, items=12, deployments=4))).splitlines()
    assert _prom(shuffled) == _prom(live)


def test_next_link_follows_rel_next_as_a_path_under_the_base_url() -> None:
    from flowgauge.importers.github import next_link

    base = "https://api.github.com"
    link = (
        f'<{base}/repositories/1/issues?page=2&per_page=100>; rel="next", '
        f'<{base}/repositories/1/issues?page=9&per_page=100>; rel="last"'
    )
    assert next_link(link, base) == "/repositories/1/issues?page=2&per_page=100"
    last = f'<{base}/x?page=1>; rel="prev", <{base}/x?page=1>; rel="first"'
    assert next_link(last, base) is None and next_link(None, base) is None
    ghes = '<https://ghe.acme.test/api/v3/repos/a/b/issues?page=3>; rel="next"'
    assert next_link(ghes, "https://ghe.acme.test/api/v3") == "/repos/a/b/issues?page=3"


def test_a_merged_pull_request_without_commits_gives_no_push() -> None:
    item = next(i for i in world(3, items=30, deployments=0).items if i.merged)
    item.commits = []
    pull = api_pull(item)
    rendered = item_deliveries(REPO, api_issue(item), api_timeline(item), pull, [])
    assert "push" not in {h["x-github-event"] for h, _ in rendered}
    assert [b["pull_request"]["merged"] for h, b in rendered if b.get("action") == "closed"][-1]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.just("2026-06-01T09:00:00Z"),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
ENTRY = st.fixed_dictionaries(
    {"event": st.sampled_from(["labeled", "assigned", "closed", "merged", "reviewed", "x"])},
    optional={
        "created_at": JSON,
        "submitted_at": JSON,
        "label": JSON,
        "assignee": JSON,
        "state": JSON,
        "id": JSON,
    },
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(ENTRY | JSON, max_size=5),
    JSON,
    st.booleans(),
    st.dictionaries(st.sampled_from(["draft", "head", "merge_commit_sha"]), JSON),
    st.lists(JSON, max_size=3),
    st.lists(JSON, max_size=3),
)
def test_whatever_the_api_answers_rendering_gives_webhooks_or_a_payload_error(
    timeline: list[Any],
    labels: Any,
    as_pull: bool,
    odd: dict[str, Any],
    commits: list[Any],
    statuses: list[Any],
) -> None:
    """An answer that is not the API's never crashes the import: a PayloadError (which the
    importer turns into an ImportFailed naming the item) or webhooks the normalizer reads or
    refuses with a PayloadError."""
    from flowgauge.sources import PayloadError

    item = api_issue(world(1, items=3, deployments=0).items[0])
    item["labels"] = labels
    pull = {"merged_at": "2026-06-02T09:00:00Z", "head": {"ref": "f", "sha": "a" * 40}, **odd}
    try:
        rendered = item_deliveries(REPO, item, timeline, pull if as_pull else None, commits)
        for headers, body in rendered:
            normalize(headers, body)
    except PayloadError:
        pass
    deployment = {"id": 1, "sha": "a" * 40, "environment": "production"}
    try:
        for headers, body in deployment_deliveries(REPO, deployment, statuses):
            normalize(headers, body)
    except PayloadError:
        pass


def test_labels_and_assignees_given_at_creation_are_in_the_opened_webhook() -> None:
    """GitHub records what an issue is created with as timeline entries at its creation instant,
    and its `opened` webhook carries them (their `labeled` / `assigned` webhooks follow)."""
    item = Item(number=9, created=world(1).items[0].created, pull=False, labels=[], assignees=[])
    issue = api_issue(item)
    issue["labels"], issue["assignees"] = [{"name": "bug"}], [{"login": "ana"}]
    created = issue["created_at"]
    timeline = [
        {"id": 1, "event": "labeled", "created_at": created, "label": {"name": "bug"}},
        {"id": 2, "event": "assigned", "created_at": created, "assignee": {"login": "ana"}},
    ]
    rendered = item_deliveries(REPO, issue, timeline)
    opened = rendered[0][1]
    assert opened["action"] == "opened" and opened["issue"]["labels"] == [{"name": "bug"}]
    assert opened["issue"]["assignees"] == [{"login": "ana"}]
    got = events([(h["x-github-event"], b) for h, b in rendered])
    kinds = sorted(
        (e.type, e.label or "", e.assignee or "")
        for e in got.values()
        if e.type in ("created", "labeled")  # and incident candidates of a labelled issue
    )
    assert kinds == [("created", "", "ana"), ("labeled", "", "ana"), ("labeled", "bug", "ana")]
