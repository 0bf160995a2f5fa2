"""Timelines: an ordered set of events by (at, id), and their stored form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from engine_helpers import ev, st
from hypothesis import given
from hypothesis import strategies as hs

from flowgauge.engine.timeline import Timeline
from flowgauge.model import Change, FlowEvent


def test_add_orders_by_time_then_id_and_skips_duplicates() -> None:
    timeline = Timeline(stream="s")
    for event in [st("c", 10, "QA"), st("b", 10, "QA"), ev("a", "created", 20)]:
        added = timeline.add(event)
        assert added is not None
        timeline = added
    assert [e.id for e in timeline.events] == ["b", "c", "a"]
    assert timeline.add(ev("b", "created", 99)) is None  # same id: a redelivery
    assert timeline.stream == "s"


def test_from_events_equals_incremental_adds() -> None:
    events = [st("c", 10, "QA"), ev("a", "created", 0), st("b", 10, "QA"), ev("a", "created", 0)]
    timeline = Timeline()
    for event in events:
        timeline = timeline.add(event) or timeline
    assert timeline == Timeline.from_events(events)


def test_stream_is_taken_from_the_events_when_not_given() -> None:
    assert Timeline.from_events([ev("a", "created", 0, stream="x")]).stream == "x"
    added = Timeline().add(ev("a", "created", 0, stream="y"))
    assert added is not None and added.stream == "y"


_text = hs.text(alphabet="abcé#/: 0", min_size=1, max_size=6)
_opt = hs.none() | _text
_at = hs.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=hs.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]),
)
_event = hs.builds(
    FlowEvent,
    id=_text,
    type=hs.sampled_from(["created", "state", "labeled", "deployment", "incident_opened"]),
    item=hs.sampled_from(["github:a#1", "github:a#2"]),
    at=_at,
    source=hs.sampled_from(["generic", "github"]),
    stream=hs.none() | hs.sampled_from(["s", "t"]),
    project=_opt,
    kind=_opt,
    state=_opt,
    item_type=_opt,
    label=_opt,
    labels=hs.none() | hs.lists(_text, max_size=2).map(tuple),
    links=hs.lists(_text, max_size=2).map(tuple),
    service=_opt,
    environment=_opt,
    status=hs.none() | hs.sampled_from(["success", "failure"]),
    changes=hs.lists(hs.builds(Change, id=_text, committed_at=hs.none() | _at), max_size=2).map(
        tuple
    ),
    deployment=_opt,
)


@given(hs.lists(_event, max_size=8), hs.lists(_event, max_size=8), hs.none() | _text)
def test_merge_equals_adding_one_by_one(
    before: list[FlowEvent], batch: list[FlowEvent], stream: str | None
) -> None:
    """A record of many events merged at once gives the timeline and the count of new events
    that adding them one by one gives (the agents' batches rely on it)."""
    timeline = Timeline()
    for event in before:
        timeline = timeline.add(event) or timeline
    timeline = Timeline(timeline.events, stream) if stream is not None else timeline
    one_by_one, added = timeline, 0
    for event in batch:
        updated = one_by_one.add(event)
        if updated is not None:
            one_by_one, added = updated, added + 1
    assert timeline.merge(batch) == (one_by_one, added)


@given(hs.lists(_event, max_size=6), hs.none() | hs.sampled_from(["s", "t"]))
def test_serialization_round_trips(events: list[FlowEvent], stream: str | None) -> None:
    timeline = Timeline.from_events(events, stream)
    restored = Timeline.from_bytes(timeline.to_bytes())
    assert restored == timeline
    assert [e.model_dump() for e in restored.events] == [e.model_dump() for e in timeline.events]
    assert [e.at.utcoffset() for e in restored.events] == [
        e.at.utcoffset() for e in timeline.events
    ]


def _encoded_one_by_one(timeline: Timeline) -> list[dict[str, Any]]:
    """The stored events as the first encoder wrote them, a `model_dump` per event: values
    already in tables were written this way, so the one-call encoder must write the same."""
    names = ("item", "stream", "source", "project", "kind")
    hoisted = {n: getattr(timeline.events[0], n) for n in names} if timeline.events else {}
    encoded = []
    for event in timeline.events:
        data = event.model_dump(mode="json", exclude_defaults=True)
        for name, value in hoisted.items():
            own = getattr(event, name)
            if own == value:
                data.pop(name, None)
            else:
                data[name] = own
        encoded.append(data)
    return encoded


@given(hs.lists(_event, max_size=6), hs.none() | hs.sampled_from(["s", "t"]))
def test_stored_events_are_those_a_dump_per_event_gives(
    events: list[FlowEvent], stream: str | None
) -> None:
    timeline = Timeline.from_events(events, stream)
    stored = orjson.loads(timeline.to_bytes())
    assert list(stored) == ["v", "s", "h", "e"]
    assert orjson.dumps(stored["e"]) == orjson.dumps(_encoded_one_by_one(timeline))


def test_serialization_is_compact() -> None:
    events = [
        ev("gh-1", "created", 0, item="github:acme/api#12", source="github", stream="delivery"),
        ev(
            "gh-2",
            "state",
            5,
            item="github:acme/api#12",
            source="github",
            stream="delivery",
            state="QA",
        ),
    ]
    raw = Timeline.from_events(events).to_bytes()
    assert raw.count(b"github:acme/api#12") == 1
    assert raw.count(b"delivery") == 2  # the timeline's stream and the hoisted one
    assert len(raw) < 240
