"""Where an event's state lives: the same partition from the ingester's key and the worker's."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from flowgauge.keys import partition_for, partition_key, raw_record_key, state_key
from flowgauge.model import FlowEvent


def event(type_: str, item: str, **extra: object) -> FlowEvent:
    return FlowEvent.model_validate(
        {"id": f"{type_}-{item}", "type": type_, "item": item, "at": "2026-11-01T00:00:00Z"} | extra
    )


@given(key=st.binary(min_size=1, max_size=64), partitions=st.integers(1, 64))
def test_partition_for_is_where_the_ingesters_producer_puts_a_keyed_record(
    key: bytes, partitions: int
) -> None:
    every = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, every, every)


def test_an_items_events_share_a_partition_key_whatever_stream_routing_gives_them() -> None:
    created = event("created", "generic:A")
    moved = event("state", "generic:A", state="Doing", stream="web")
    assert partition_key(created) == partition_key(moved) == b"i|generic:A"
    assert state_key(moved) == "i|web|generic:A"  # the table key the config gives it


def test_every_dora_key_of_a_service_lives_on_one_partition() -> None:
    deploy = event("deployment", "D1", service="api", environment="production", status="success")
    incident = event("incident_opened", "I1", service="api")
    other = event("deployment", "D2", service="web", environment="production", status="success")
    assert state_key(deploy) != state_key(incident)
    assert partition_key(deploy) == partition_key(incident) == b"d|api"
    assert partition_key(other) == b"d|web"


def test_a_raw_record_is_keyed_by_its_first_event_or_else_its_delivery() -> None:
    events = [event("created", "generic:B"), event("created", "generic:C")]
    assert raw_record_key(events, "delivery-1") == b"i|generic:B"
    assert raw_record_key([], "delivery-1") == b"delivery-1"


def test_the_ingester_never_imports_the_engine() -> None:
    """The stateless ingester keys records with `flowgauge.keys` alone (issue 15).

    `flowgauge.engine.snapshot` (plain data types) still comes in through `exposition.py`, which
    declares the worker's collector beside the ingester's counters, and `flowgauge.engine.quantile`
    (a pure function of a sorted sequence: the one home of METRICS.md's quantile) through the
    ingester's event delays (ingest/freshness.py).
    """
    import subprocess
    import sys

    code = (
        "import sys, flowgauge.ingest.app, flowgauge.ingest.server; "
        "print(sorted(m for m in sys.modules if m.startswith(('flowgauge.engine', 'faust'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    allowed = ["flowgauge.engine", "flowgauge.engine.quantile", "flowgauge.engine.snapshot"]
    assert out.stdout.strip() in ("[]", repr(allowed)), out.stdout
