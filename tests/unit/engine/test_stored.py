"""Facts cached in the stored values (engine/stored.py) never change a number.

A rebuild from the stored values must give the processor that re-deriving every timeline gives,
under the config the values were written with and under any other config.
"""

from __future__ import annotations

import orjson
import pytest
from engine_helpers import config, ev, st, us
from hypothesis import given, settings
from hypothesis import strategies as hs
from test_properties import CONFIGS, event_sets

from flowgauge.engine import stored
from flowgauge.engine.item import StreamPlan
from flowgauge.engine.processor import Processor, route
from flowgauge.engine.timeline import Timeline
from flowgauge.keys import state_key
from flowgauge.model import FlowConfig, FlowEvent


def stored_values(cfg: FlowConfig, events: list[FlowEvent]) -> dict[str, bytes]:
    """What a worker running `cfg` leaves in its table after `events`, one write per event."""
    table: dict[str, bytes] = {}
    live = Processor(cfg)
    for event in events:
        routed = route(cfg, event)
        if routed is None:
            continue
        key = state_key(routed)
        current = table.get(key)
        updated = (Timeline.from_bytes(current) if current else Timeline.from_events(())).add(
            routed
        )
        if updated is not None:
            table[key] = updated.to_bytes(live.apply(key, updated))
    return table


def restored(cfg: FlowConfig, table: dict[str, bytes]) -> Processor:
    processor = Processor(cfg)
    with processor.loading():
        for key, value in table.items():
            processor.restore(key, value)
    return processor


@settings(max_examples=200, deadline=None)
@given(event_sets(), hs.sampled_from(CONFIGS), hs.sampled_from(CONFIGS), hs.integers(-5, 130))
def test_a_rebuild_from_stored_values_equals_rederiving(
    events: list[FlowEvent], written_with: FlowConfig, read_with: FlowConfig, now: int
) -> None:
    """Same config: the cached facts are used; another config: they are ignored."""
    table = stored_values(written_with, events)
    expected = Processor.from_events(read_with, events)
    assert restored(read_with, table).snapshot(us(now)) == expected.snapshot(us(now))


def test_the_cached_facts_are_what_a_matching_rebuild_reads() -> None:
    """White box: with a matching fingerprint the rebuild takes the facts as stored (so the
    property above tests the fast path), and a value without facts is still read."""
    cfg = config()
    events = [ev("c", "created", 0, state="Backlog"), st("d", 10, "In Progress")]
    table = stored_values(cfg, events)
    [(key, value)] = table.items()
    data = orjson.loads(value)
    assert data["x"][0] == Processor(cfg).flow.fingerprint("s")
    data["x"][2][3] = 0  # claim the item is still in stage 0 (backlog)
    wip = restored(cfg, {key: orjson.dumps(data)}).snapshot(us(20)).streams[0].wip
    assert (wip["backlog"], wip["dev"]) == (1, 0)
    del data["x"]
    wip = restored(cfg, {key: orjson.dumps(data)}).snapshot(us(20)).streams[0].wip
    assert (wip["backlog"], wip["dev"]) == (0, 1)


def test_a_deleted_item_is_cached_as_gone() -> None:
    cfg = config()
    events = [ev("c", "created", 0, state="Backlog"), ev("x", "deleted", 5)]
    table = stored_values(cfg, events)
    [value] = table.values()
    assert orjson.loads(value)["x"][2] is None
    assert restored(cfg, table).snapshot(us(20)) == Processor.from_events(cfg, events).snapshot(
        us(20)
    )


@pytest.mark.parametrize(
    "change",
    [
        {"commitment": "review"},
        {"defect_types": ["bug"]},
        {"blocked_labels": ["b1"]},
        {"name": "other"},
    ],
)
def test_the_fingerprint_covers_what_derive_reads(change: dict[str, object]) -> None:
    def print_of(cfg: FlowConfig) -> str:
        stream = cfg.streams[0]
        return stored.fingerprint(stream.name, StreamPlan.of(stream))

    assert print_of(config()) == print_of(config())
    assert print_of(config(**change)) != print_of(config())


def test_a_new_facts_version_invalidates_every_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = config().streams[0]
    before = stored.fingerprint(stream.name, StreamPlan.of(stream))
    monkeypatch.setattr(stored, "FACTS_VERSION", stored.FACTS_VERSION + 1)
    assert stored.fingerprint(stream.name, StreamPlan.of(stream)) != before


def test_only_keys_of_the_configs_streams_and_dora_are_accepted() -> None:
    """A rebuild skips (and counts) stored items of a stream the config no longer has, instead
    of failing on them: keys carry the stream's name (tests/integration/test_poison.py)."""
    processor = Processor(config())
    assert processor.accepts("i|s|item-1")
    assert processor.accepts("d|service|deploy-1")
    assert not processor.accepts("i|renamed|item-1")
    assert not processor.accepts("g|raw|0")
    with pytest.raises(ValueError, match="no stream named"):
        processor.restore("i|renamed|item-1", Timeline.from_events(()).to_bytes())


def test_the_fingerprint_covers_the_people_to_team_mapping() -> None:
    stream = config().streams[0]
    plain = stored.fingerprint(stream.name, StreamPlan.of(stream))
    mapped = stored.fingerprint(stream.name, StreamPlan.of(stream, {"ana": "pay"}))
    assert plain != mapped
    assert mapped == stored.fingerprint(stream.name, StreamPlan.of(stream, {"ana": "pay"}))


def test_a_value_cached_by_an_older_flowgauge_is_re_derived() -> None:
    """A version-1 value (its facts without blocked reasons, holders; another fingerprint)
    still restores: the cache is skipped and the timeline derived again."""
    cfg = config()
    events = [
        ev("c", "created", 0, assignee="ana"),
        st("d", 10, "In Progress"),
        ev("e", "blocked", 11, reason="dependency"),
        ev("f", "state", 12, assignee="bo", parent="E-1"),
        st("g", 20, "Done"),
    ]
    [(key, value)] = stored_values(cfg, events).items()
    data = orjson.loads(value)
    data["x"] = ["0123456789abcdef", data["x"][1], data["x"][2][:16]]  # v1: 16 fields
    snapshot = restored(cfg, {key: orjson.dumps(data)}).snapshot(us(30))
    assert snapshot == Processor.from_events(cfg, events).snapshot(us(30))
    assert snapshot.streams[0].blocked_reason_seconds == {"dependency": 9.0}
    assert snapshot.streams[0].handoffs["assignee"]["0.5"] == 1.0
