"""Item-grouped records (bundles) and the checkpoint file."""

from __future__ import annotations

import contextlib
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jira_world import webhooks, world

from flowgauge.importers import checkpoint as cp
from flowgauge.sources import REGISTRY, PayloadError
from flowgauge.sources.bundle import BUNDLE_HEADER, bundle_part, bundle_text


def test_a_bundle_gives_the_events_of_its_deliveries_in_order() -> None:
    normalize = REGISTRY["jira"].normalize
    deliveries = webhooks(world(5, issues=3))
    one_by_one = [e for h, b in deliveries for e in normalize(h, b)]
    body = orjson.loads(bundle_text([bundle_part(h, b) for h, b in deliveries]))
    assert normalize({BUNDLE_HEADER: "1"}, body) == one_by_one


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


def test_a_long_history_is_split_into_records_under_the_size_limit() -> None:
    from flowgauge.importers.base import ItemHistory
    from flowgauge.importers.sink import item_records

    issue = next(i for i in world(5, issues=10) if len(i.histories) >= 3)
    deliveries = webhooks([issue])  # one issue: created + its changes
    whole = item_records("jira", ItemHistory("ABC-1", deliveries))
    split = item_records("jira", ItemHistory("ABC-1", deliveries), max_bytes=1)
    assert len(whole) == 1 and len(split) == len(deliveries)
    assert [e for r in split for e in r.events] == whole[0].events
    assert len({r.delivery.delivery_id for r in split}) == len(split)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
PART = st.fixed_dictionaries(
    {"headers": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2), "body": JSON}
)


@settings(max_examples=300, deadline=None)
@given(source=st.sampled_from(sorted(REGISTRY)), body=st.lists(PART | JSON, max_size=4))
def test_any_bundle_is_events_or_a_payload_error_never_a_crash(source: str, body: object) -> None:
    with contextlib.suppress(PayloadError):
        REGISTRY[source].normalize({BUNDLE_HEADER: "1"}, body)
