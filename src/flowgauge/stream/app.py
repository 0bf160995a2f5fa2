"""The Faust app: topics, the item table, and two thin agents.

State design (see docs/architecture.md): the table holds one absolute value per key, the whole
deduplicated timeline, written whole. A replayed or duplicated event is a no-op, a lost write
heals with the next event of that key, and no aggregate is ever persisted: the in-memory
`Processor` is rebuilt from the table after every recovery and then updated per event.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import faust
from aiokafka.errors import KafkaError
from faust.stores.base import SerializedStore
from prometheus_client import CollectorRegistry

from flowgauge.engine.processor import Processor
from flowgauge.engine.timeline import Timeline
from flowgauge.exposition import SnapshotCollector, WorkerMetrics
from flowgauge.keys import partition_for, partition_key
from flowgauge.model import FlowConfig, FlowEvent
from flowgauge.model.deadletter import DeadLetter
from flowgauge.model.delivery import Delivery
from flowgauge.settings import Settings
from flowgauge.stream.alerts import install_alerts
from flowgauge.stream.gaps import GapKeeper
from flowgauge.stream.pipeline import encode_event, normalize_delivery
from flowgauge.stream.topics import Topics

log = logging.getLogger(__name__)


def wall_micros() -> int:
    return time.time_ns() // 1000


@dataclass
class WorkerState:
    """What the agents share with `/metrics`: the processor (replaced on rebuild), readiness."""

    config: FlowConfig
    registry: CollectorRegistry
    clock: Callable[[], int] = wall_micros
    processor: Processor = field(init=False)
    ready: bool = False
    gaps: GapKeeper | None = None

    def __post_init__(self) -> None:
        self.processor = Processor(self.config)
        self.metrics = WorkerMetrics.create(self.registry)
        self.registry.register(SnapshotCollector(lambda: self.processor.snapshot(self.clock())))


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Build long-lived state without the cyclic collector, then exempt it from later scans.

    A rebuild allocates several tracked objects per item and nothing it builds is garbage, yet
    each full collection walks the whole growing heap: at 300,000 items that made the rebuild
    2.8x slower (bench/engine.py `rebuild`). `gc.freeze()` then keeps the rebuilt state out of
    every later collection; reference counting still frees it when a rebalance replaces it.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.freeze()


def stored_items(table: Any) -> Iterable[tuple[bytes, bytes]]:
    """The (key, value) bytes the table holds for the active partitions.

    Keys and values use the raw codec, so a serialized store's (RocksDB's) own iterator gives
    the same pairs without Faust passing each through its serializer registry; the memory store
    holds them as they are.
    """
    store = table.data
    if isinstance(store, SerializedStore):
        return cast(Iterable[tuple[bytes, bytes]], store._iteritems())
    return cast(Iterable[tuple[bytes, bytes]], table.items())


def faust_settings(settings: Settings) -> dict[str, Any]:
    """Client settings fit for quick restarts (see docs/operations.md and the Tansu notes)."""
    return {
        "broker": f"kafka://{settings.bootstrap}",
        "store": f"{settings.store}://",
        "topic_partitions": settings.partitions,
        "table_standby_replicas": 0,  # the store holds active partitions only: it is the state
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": settings.heartbeat_interval,
        "broker_rebalance_timeout": max(settings.session_timeout, 2.0),
        "broker_request_timeout": max(20.0, settings.session_timeout * 3),
        "broker_commit_every": 1000,
        "broker_commit_interval": 1.0,
        "processing_guarantee": "at_least_once",  # exactly_once loses events on Tansu
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": False,
        "autodiscover": False,
        "datadir": str(settings.data_dir / "worker" / settings.worker_id),
        "stream_wait_empty": False,
        "producer_acks": -1,
        "timezone": None,
        "table_cleanup_interval": timedelta(minutes=1).total_seconds(),
        "consumer_group_instance_id": settings.group_instance_id,
    }


def create_app(settings: Settings, state: WorkerState) -> faust.App:
    """The worker app; `state` is injected so tests can read it and the registry stays local."""
    topics = Topics.of(settings)
    app = faust.App(settings.topic_prefix, **faust_settings(settings))
    raw_kw: dict[str, Any] = {
        "key_serializer": "raw",
        "value_serializer": "raw",
        "partitions": settings.partitions,
    }
    raw_topic = app.topic(topics.raw, **raw_kw)
    events_topic = app.topic(topics.events, **raw_kw)
    dead_topic = app.topic(topics.deadletter, **raw_kw)
    install_alerts(app, state, topics.alerts, settings.worker_id, settings.partitions)

    gaps = GapKeeper(
        bootstrap=settings.bootstrap,
        group=settings.topic_prefix,  # the Faust app id is the consumer group
        topics={"raw": topics.raw, "events": topics.events},
        on_reread=lambda role, n: state.metrics.reread.labels(role).inc(n),
    )
    state.gaps = gaps

    async def rebuild() -> None:
        """After recovery: the processor is exactly the table's (active partitions') timelines."""
        processor = Processor(state.config)
        records = []
        timelines = 0
        left_out: Counter[str] = Counter()  # state keys of streams the config no longer has
        with without_cyclic_gc(), processor.loading():
            for key, value in stored_items(table):
                if GapKeeper.is_record_key(key):
                    records.append((key, value))
                    continue
                text = _text(key)
                if processor.accepts(text):
                    processor.restore(text, value)
                    timelines += 1
                else:
                    left_out[text.partition("|")[2].partition("|")[0]] += 1  # i|<stream>|…
        gaps.load(records)
        state.processor = processor
        state.ready = True
        state.metrics.ready.set(1)
        # counted in the loop: len(table) walks every key of a RocksDB store once more (~1 s/1M)
        log.info("state rebuilt from the table: %d timelines", timelines)
        if left_out:
            log.warning(
                "%d stored items of streams not in the config left out of every metric: %s "
                "(a stream renamed or removed; they come back if it returns)",
                left_out.total(),
                dict(left_out.most_common(10)),
            )

    table = app.Table(
        "timelines",
        default=None,
        partitions=settings.partitions,
        key_type=bytes,  # bytes -> the "raw" codec, in the agent and in changelog recovery
        value_type=bytes,
        on_recover=rebuild,
    )

    handlers = Handlers(state, table, events_topic, dead_topic, settings.partitions)

    @app.agent(raw_topic, name="normalize")
    async def normalize(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for partition, _, value in gaps.tracked(stream, "raw", table):
            await handlers.normalize(partition, value)
            yield None

    @app.agent(events_topic, name="timelines")
    async def timelines(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for _, key, value in gaps.tracked(stream, "events", table):
            await handlers.apply_record(key, value)
            yield None

    @app.timer(settings.repair_interval)  # type: ignore[untyped-decorator]
    async def check_gaps() -> None:
        """Re-read any offsets of the held partitions that no agent absorbed (issue 7)."""
        if not state.ready:
            return
        roles = {topics.raw: "raw", topics.events: "events"}
        held = [
            (roles[tp.topic], tp.partition)
            for tp in app.assignor.assigned_actives()
            if tp.topic in roles
        ]
        try:
            await gaps.check(held)
        except (OSError, TimeoutError, KafkaError) as exc:
            log.warning("offset gap check failed, retrying later: %s", exc)

    return app


@dataclass
class Handlers:
    """What the agents do with one record: the logic between Faust's stream and the state."""

    state: WorkerState
    table: Any
    events_topic: Any
    dead_topic: Any
    partitions: int

    async def normalize(self, partition: int, value: bytes) -> None:
        """A raw delivery into events: applied here when their state lives on this partition
        (`stream/partitioning.py`), else sent to the events topic on the partition it lives on.
        """
        state = self.state
        try:
            delivery = Delivery.from_bytes(value)
        except (ValueError, KeyError, TypeError) as exc:
            await self._dead(value, f"bad delivery record: {exc}", "raw")
            return
        result = normalize_delivery(delivery, state.config)
        if result.error is not None:
            await self._dead(value, result.error, delivery.source, delivery.delivery_id)
            state.metrics.deliveries.labels(delivery.source, "dead_letter").inc()
            return
        for key, event in result.events:
            home = partition_for(partition_key(event), self.partitions)
            if home == partition:
                self.apply(key.encode(), event)
            else:
                await self.events_topic.send(
                    key=key.encode(), value=encode_event(event), partition=home
                )
        if result.unrouted:
            state.metrics.events.labels("unrouted").inc(result.unrouted)
        if result.dropped:
            state.metrics.events.labels("dropped").inc(result.dropped)
        outcome = "normalized" if result.events else ("unrouted" if result.unrouted else "ignored")
        state.metrics.deliveries.labels(delivery.source, outcome).inc()

    async def apply_record(self, raw_key: bytes, value: bytes) -> None:
        """An events-topic record: decode it, then `apply`."""
        try:
            event = FlowEvent.model_validate_json(value)
        except ValueError as exc:
            await self._dead(value, f"bad event: {exc}", "events")
            return
        self.apply(raw_key, event)

    def apply(self, raw_key: bytes, event: FlowEvent) -> None:
        """Add the event to its key's timeline; a new event replaces the key's contribution."""
        state, table, key = self.state, self.table, _text(raw_key)
        if not state.processor.accepts(key):  # its stream left the config meanwhile
            state.metrics.events.labels("unrouted").inc()
            return
        current = table.get(raw_key)
        timeline = Timeline.from_bytes(current) if current else Timeline.from_events(())
        updated = timeline.add(event)
        if updated is None:
            state.metrics.events.labels("duplicate").inc()
            return
        cached = state.processor.apply(key, updated)
        table[raw_key] = updated.to_bytes(cached)  # the derived facts too: a faster rebuild
        state.metrics.events.labels("applied").inc()

    async def _dead(self, value: bytes, reason: str, source: str, key: str | None = None) -> None:
        await self.dead_topic.send(
            key=key.encode() if key is not None else None,
            value=DeadLetter.of(value, reason, source).to_bytes(),
        )
        self.state.metrics.dead_letters.labels(source).inc()


def _text(key: Any) -> str:
    return key.decode() if isinstance(key, bytes) else str(key)
