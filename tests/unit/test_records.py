"""Recorded deliveries for `report` and `replay`: read as received, normalized once, here."""

from __future__ import annotations

from pathlib import Path

import orjson

from flowgauge.keys import partition_key
from flowgauge.model.deadletter import DeadLetter
from flowgauge.model.delivery import Delivery
from flowgauge.model.loader import load_config
from flowgauge.records import Record, read_events, read_records
from flowgauge.replay import _intake
from flowgauge.sources import REGISTRY

BODY = orjson.dumps(
    [
        {"id": "1", "type": "created", "item": "A", "at": "2026-11-01T00:00:00Z"},
        {"id": "2", "type": "state", "item": "B", "state": "Todo", "at": "2026-11-01T01:00:00Z"},
    ]
)


def test_a_dumped_record_of_either_format_is_normalized_afresh(tmp_path: Path) -> None:
    events = tuple(REGISTRY["generic"].normalize({}, orjson.loads(BODY)))
    old = Delivery("generic", {}, BODY.decode(), "", "d1")
    new = old.with_events(events)
    dump = tmp_path / "raw.jsonl"
    dump.write_bytes(old.to_bytes() + b"\n" + new.to_bytes() + b"\n")
    records = list(read_records([dump]))
    assert [r.delivery for r in records] == [old, old]  # the stored events are left out
    config = load_config(None)
    read = list(read_events([dump], config))
    assert [e.id for e in read] == ["1", "2", "1", "2"]


def test_replay_to_the_topic_writes_what_the_ingester_writes() -> None:
    key, value = _intake(Record("f:1", generic=orjson.loads(BODY))).raw_record()
    delivery = Delivery.from_bytes(value)
    assert delivery.events is not None and [e.id for e in delivery.events] == ["1", "2"]
    assert key == partition_key(delivery.events[0])
    bad = Delivery("generic", {}, "{nope", "", "d2")
    intake = _intake(Record("f:2", delivery=bad))
    assert intake.error is not None and "not JSON" in intake.error
    key, value = intake.dead_letter()
    assert (
        key == b"d2" and Delivery.from_bytes(DeadLetter.from_bytes(value).delivery.encode()) == bad
    )
