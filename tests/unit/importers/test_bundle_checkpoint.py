"""Item-grouped records (bundles) and the checkpoint file."""

from __future__ import annotations

from pathlib import Path

import pytest
from jira_world import webhooks, world

from flowgauge.importers import checkpoint as cp
from flowgauge.sources import REGISTRY, PayloadError
from flowgauge.sources.bundle import BUNDLE_HEADER, bundle_body


def test_a_bundle_gives_the_events_of_its_deliveries_in_order() -> None:
    normalize = REGISTRY["jira"].normalize
    deliveries = webhooks(world(5, issues=3))
    one_by_one = [e for h, b in deliveries for e in normalize(h, b)]
    assert normalize({BUNDLE_HEADER: "1"}, bundle_body(deliveries)) == one_by_one


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"webhookEvent": "jira:issue_created"}, "must be a JSON array"),
        (["x"], "bundle part 0: must be"),
        ([{"headers": {}, "body": {"issue": {}}}], "bundle part 0: webhookEvent is missing"),
    ],
)
def test_a_bad_bundle_is_refused_with_the_part_named(body: object, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        REGISTRY["jira"].normalize({BUNDLE_HEADER: "1"}, body)


def test_checkpoint_round_trip_and_what_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "c" / "jira.checkpoint"
    state = cp.Checkpoint("run-a", since="2026-01-01T00:00:00+00:00", cursor="tok-10", items=10)
    cp.save(path, state)
    assert cp.load(path, "run-a") == state
    assert cp.load(path, "run-b") is None  # another run's checkpoint
    state.finished = True
    cp.save(path, state)
    assert cp.load(path, "run-a") is None  # a finished run starts afresh
    path.write_text("{not json")
    assert cp.load(path, "run-a") is None
    assert not list(path.parent.glob("*.tmp"))
