"""One pass through the ingester: a delivery is parsed and normalized once, end to end.

The real ingester app (aiohttp, its forwarder) takes a signed delivery and hands its records to
a recording producer; the real worker handlers take those records with a dict as the table.
The generic adapter's `normalize` is wrapped to count its calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from flowgauge.ingest.app import SERVER_OPTIONS, Ingester
from flowgauge.ingest.forwarder import Producer
from flowgauge.model import FlowEvent
from flowgauge.model.deadletter import DeadLetter
from flowgauge.model.delivery import Delivery
from flowgauge.model.loader import parse_config
from flowgauge.settings import Settings
from flowgauge.signing import sha256_signature
from flowgauge.sources import REGISTRY, Headers
from flowgauge.stream.handlers import Handlers
from flowgauge.stream.stage import StreamStage
from flowgauge.stream.state import STAGES, WorkerState

SECRET = "s3cret-one-pass"
PARTITIONS = 4
CONFIG = parse_config(
    """
clock: event
streams:
  - name: web
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: done, kind: done, states: [Done]}
""",
    "one-pass.yaml",
)
BODY = orjson.dumps(
    [
        {"id": f"e{i}", "type": "state", "item": f"I{i}", "state": "Todo", "at": at}
        for i, at in enumerate(["2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z"] * 3)
    ]
)


class Recorded:
    """A producer that keeps what it is sent: (topic, key, value)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def stop(self) -> None:
        return None


class Topic:
    """What the handlers send to a topic, in order: (key, value, partition)."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes, int | None]] = []

    async def send(
        self, *, key: bytes | None = None, value: bytes, partition: int | None = None
    ) -> None:
        self.sent.append((key, value, partition))


@pytest.fixture
def normalizations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Count the generic adapter's normalize calls wherever they happen."""
    calls: list[int] = []
    source = REGISTRY["generic"]

    def counted(headers: Headers, body: Any) -> list[FlowEvent]:
        calls.append(1)
        return source.normalize(headers, body)

    monkeypatch.setitem(REGISTRY, "generic", dataclasses.replace(source, normalize=counted))
    yield calls


def ingest(tmp_path: Path, bodies: list[bytes]) -> tuple[list[int], Recorded]:
    """POST each body through the real ingester; its statuses and what it produced."""
    producer = Recorded()

    async def start() -> Producer:
        return producer

    async def ensure() -> None:
        return None

    settings = Settings(data_dir=tmp_path, kafka="127.0.0.1:9", generic_secret=SECRET)
    ingester = Ingester(settings, CollectorRegistry(), start_producer=start, ensure=ensure)

    async def go() -> list[int]:
        server = TestServer(ingester.app())
        await server.start_server(**SERVER_OPTIONS)
        async with TestClient(server) as client:
            statuses = []
            for body in bodies:
                headers = {"X-Flowgauge-Signature": sha256_signature(SECRET, body)}
                async with client.post("/webhooks/generic", data=body, headers=headers) as r:
                    statuses.append(r.status)
            for _ in range(200):  # spooled while the forwarder starts: wait until forwarded
                if ingester.forwarder and ingester.forwarder.spool.depth == 0:
                    break
                await asyncio.sleep(0.02)
            return statuses

    return asyncio.run(go()), producer


def work(records: list[tuple[str, bytes, bytes]]) -> tuple[dict[bytes, bytes], WorkerState]:
    """The worker's handlers over the raw records, then over what they sent to the events
    topic: every event lands in the table, whichever partition its record came in on."""
    state = WorkerState(CONFIG, CollectorRegistry())
    state.recovered.update(STAGES)
    state.processor.expose(None, dora=True)  # one worker holding every facts partition
    table: dict[bytes, bytes] = {}
    events, dead, facts = Topic(), Topic(), Topic()
    handlers = Handlers(state, table, events, dead, facts, PARTITIONS)

    async def go() -> None:
        for topic, key, value in records:
            assert topic == "flowgauge-raw"
            await handlers.normalize(_partition(key), value)
        for event_key, event_value, _ in events.sent:
            assert event_key is not None and event_value is not None
            await handlers.apply_record(event_key, event_value)
        assert dead.sent == []
        stage = StreamStage(state, {})
        for _, fact, partition in facts.sent:  # the stream stage, after the timelines stage
            assert partition is not None
            stage.apply(partition, fact)

    asyncio.run(go())
    return table, state


def _partition(key: bytes) -> int:
    from flowgauge.keys import partition_for

    return partition_for(key, PARTITIONS)


def test_a_delivery_is_normalized_once_from_request_to_table(
    tmp_path: Path, normalizations: list[int]
) -> None:
    statuses, producer = ingest(tmp_path, [BODY])
    assert statuses == [202]
    assert len(normalizations) == 1  # by the ingester
    table, _ = work(producer.sent)
    assert len(normalizations) == 1  # and never again by the worker
    assert sorted(table) == [f"i|web|generic:I{i}".encode() for i in range(6)]


def test_the_same_delivery_twice_counts_once_with_the_same_event_ids(
    tmp_path: Path, normalizations: list[int]
) -> None:
    _, producer = ingest(tmp_path, [BODY, BODY])
    first, second = (Delivery.from_bytes(v) for _, _, v in producer.sent)
    assert first.events == second.events and first.delivery_id == second.delivery_id
    table, state = work(producer.sent)
    once, _ = work(producer.sent[:1])
    assert table == once
    assert state.processor.snapshot(0) == work(producer.sent[:1])[1].processor.snapshot(0)


def test_a_record_of_the_old_format_is_normalized_by_the_worker_to_the_same_state(
    tmp_path: Path, normalizations: list[int]
) -> None:
    _, producer = ingest(tmp_path, [BODY])
    topic, key, value = producer.sent[0]
    old = Delivery.from_bytes(value).as_received().to_bytes()  # format 1: no events
    assert b'"events"' not in old
    new_table, _ = work(producer.sent)
    old_table, _ = work([(topic, key, old)])
    assert len(normalizations) == 2  # the ingester's, and the worker's for the old record
    assert old_table == new_table


def test_an_adapter_bug_is_a_400_and_a_dead_letter_not_a_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(headers: Headers, body: Any) -> list[FlowEvent]:
        raise KeyError("oops")

    monkeypatch.setitem(
        REGISTRY, "generic", dataclasses.replace(REGISTRY["generic"], normalize=broken)
    )
    statuses, producer = ingest(tmp_path, [BODY])
    assert statuses == [400]
    [(topic, _, value)] = producer.sent
    assert topic == "flowgauge-deadletter"
    dead = DeadLetter.from_bytes(value)
    assert dead.reason == "normalize failed: KeyError: 'oops'"
    assert Delivery.from_bytes(dead.delivery.encode()).body == BODY.decode()


@pytest.mark.parametrize("bug", [KeyError("oops"), ValueError("bad hex"), UnicodeError("no")])
def test_a_verify_bug_is_a_400_and_a_dead_letter_not_a_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bug: Exception
) -> None:
    """Only the adapter's SignatureError means "not signed by the platform" (401); anything else
    its verify raises is an adapter bug: that delivery is dead-lettered with the reason."""

    def broken(secret: bytes, raw: bytes, headers: Headers, now: Any = None) -> None:
        raise bug

    monkeypatch.setitem(
        REGISTRY, "generic", dataclasses.replace(REGISTRY["generic"], verify=broken)
    )
    statuses, producer = ingest(tmp_path, [BODY])
    assert statuses == [400]
    [(topic, _, value)] = producer.sent
    assert topic == "flowgauge-deadletter"
    dead = DeadLetter.from_bytes(value)
    assert dead.reason == f"verify failed: {type(bug).__name__}: {bug}"
    assert Delivery.from_bytes(dead.delivery.encode()).body == BODY.decode()


def test_a_wrong_signature_is_still_a_401_with_nothing_stored(tmp_path: Path) -> None:
    producer = Recorded()

    async def start() -> Producer:
        return producer

    async def ensure() -> None:
        return None

    settings = Settings(data_dir=tmp_path, kafka="127.0.0.1:9", generic_secret=SECRET)
    ingester = Ingester(settings, CollectorRegistry(), start_producer=start, ensure=ensure)

    async def go() -> int:
        server = TestServer(ingester.app())
        await server.start_server(**SERVER_OPTIONS)
        async with TestClient(server) as client:
            headers = {"X-Flowgauge-Signature": sha256_signature("not-the-secret", BODY)}
            async with client.post("/webhooks/generic", data=BODY, headers=headers) as r:
                return r.status

    assert asyncio.run(go()) == 401
    assert producer.sent == []
