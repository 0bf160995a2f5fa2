"""The pure half of `import plane`: a work item and its activities give exactly the events its
webhooks gave (every field and id), whatever order the API lists the activities in."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plane_world import PROJECT, api_activities, api_item, webhooks, world

from flowgauge.importers.plane_history import check, work_item_deliveries
from flowgauge.model import FlowEvent
from flowgauge.sources import REGISTRY, PayloadError

normalize = REGISTRY["plane"].normalize


def events(deliveries: list[tuple[dict[str, str], dict[str, object]]]) -> list[FlowEvent]:
    return sorted((e for h, b in deliveries for e in normalize(h, b)), key=lambda e: e.id)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), shuffle=st.integers(0, 1_000))
def test_the_activities_give_the_webhooks_events(seed: int, shuffle: int) -> None:
    items = world(seed, items=6, changes=12)
    imported = []
    for item in items:
        activities = api_activities(item)
        random.Random(shuffle).shuffle(activities)
        imported.extend(work_item_deliveries(api_item(item), PROJECT, activities))
    assert events(imported) == events(webhooks(items))


def test_the_world_blocks_and_unblocks_and_hands_over() -> None:
    found = events(webhooks(world(7, items=23, changes=12)))
    assert {"blocked", "unblocked"} <= {e.type for e in found}
    assert {e.reason for e in found if e.type in ("blocked", "unblocked")} == {"dependency"}
    assert len({e.assignee for e in found}) >= 3 and "" in {e.assignee for e in found}
    assert any((e.parent or "").startswith(f"plane:{PROJECT}/") for e in found)


@pytest.mark.parametrize("missing", ["id", "created_at"])
def test_a_work_item_without_what_the_api_always_gives_is_refused(missing: str) -> None:
    node = api_item(world(1, items=1)[0])
    del node[missing]
    with pytest.raises(PayloadError, match=missing):
        check(node)
