"""The Faust app: its client settings, the topics, the two tables, three thin agents, the timers.

Two stages (docs/architecture.md): the timelines stage (the normalize and timelines agents, the
`timelines` table, partitioned by item) derives each item's facts and sends them to the facts
topic, partitioned by stream; the stream stage (the facts agent, the `streamfacts` table) holds a
stream's facts and aggregates and alone shows its series. Wiring only: what an agent does with a
record is `handlers.py` and `stage.py`, what happens after a recovery is `recovery.py` and
`stage.py`, the offset bookkeeping is `gaps.py`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import faust
from aiokafka.errors import KafkaError
from faust.streams import Stream
from faust.types import TP, EventT

from flowgauge.keys import partition_for
from flowgauge.settings import Settings
from flowgauge.stream import faust_patches
from flowgauge.stream.alerts import install_alerts
from flowgauge.stream.batches import drained
from flowgauge.stream.changelog import Writes
from flowgauge.stream.facts import watermark_fact
from flowgauge.stream.gaps import GapKeeper
from flowgauge.stream.handlers import Handlers, Sender
from flowgauge.stream.recovery import rebuild
from flowgauge.stream.stage import StreamStage, hide, rebuild_streams
from flowgauge.stream.state import WorkerState
from flowgauge.stream.topics import FACTS_TABLE, TIMELINES_TABLE, Topics

log = logging.getLogger(__name__)


def faust_settings(settings: Settings) -> dict[str, Any]:
    """Client settings fit for quick restarts (see docs/operations.md and the Tansu notes)."""
    session, heartbeat = settings.group_session
    return {
        "broker": f"kafka://{settings.bootstrap}",
        "store": f"{settings.store}://",
        "topic_partitions": settings.partitions,
        "table_standby_replicas": 0,  # the store holds active partitions only: it is the state
        "topic_replication_factor": settings.replication_factor,
        "broker_session_timeout": session,
        "broker_heartbeat_interval": heartbeat,
        "broker_rebalance_timeout": max(session, 2.0),
        "broker_request_timeout": max(20.0, session * 3),
        "broker_commit_every": 1000,
        "broker_commit_interval": 1.0,
        "processing_guarantee": settings.processing_guarantee,
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": False,
        "autodiscover": False,
        "datadir": str(settings.data_dir / "worker" / settings.worker_id),
        "stream_wait_empty": False,
        "producer_acks": -1,
        # 10 ms of linger batches the facts, events and changelog records of a fetched batch
        # per partition on the wire (Faust's default 0 sends each alone: the notes in
        # ../shared/notes/faust-per-message.md measured 3.7k -> 5.5-6.9k table writes/s)
        "producer_linger": 0.01,
        "timezone": None,
        "table_cleanup_interval": timedelta(minutes=1).total_seconds(),
        "consumer_group_instance_id": settings.group_instance_id,
    }


def create_app(settings: Settings, state: WorkerState) -> faust.App:
    """The worker app; `state` is injected so tests can read it and the registry stays local."""
    topics = Topics.of(settings)
    if os.environ.get("FLOWGAUGE_FAUST_PATCHES") != "0":  # "0": Faust as shipped, for bench/
        faust_patches.apply()
    app = faust.App(settings.topic_prefix, **faust_settings(settings))
    raw_kw: dict[str, Any] = {
        "key_serializer": "raw",
        "value_serializer": "raw",
        "partitions": settings.partitions,
    }
    raw_topic = app.topic(topics.raw, **raw_kw)
    events_topic = app.topic(topics.events, **raw_kw)
    facts_topic = app.topic(topics.facts, **raw_kw)
    dead_topic = app.topic(topics.deadletter, **raw_kw)
    state.partitions = settings.partitions
    install_alerts(app, state, topics.alerts, settings.worker_id, settings.partitions)

    gaps = GapKeeper(
        bootstrap=settings.bootstrap,
        group=settings.topic_prefix,  # the Faust app id is the consumer group
        topics={"raw": topics.raw, "events": topics.events, "facts": topics.facts},
        on_reread=lambda role, n: state.metrics.reread.labels(role).inc(n),
    )
    state.gaps = gaps

    def held(topic: str) -> set[int]:
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}

    async def send_fact(key: bytes, value: bytes) -> None:
        partition = partition_for(key, settings.partitions)
        await facts_topic.send(key=key, value=value, partition=partition)

    async def on_recover_timelines() -> None:
        await rebuild(state, table, gaps, held(topics.events), send_fact)
        await app.producer.flush()  # before any agent marks the partitions sent
        state.recovered.add("timelines")

    async def on_recover_streams() -> None:
        rebuild_streams(state, facts_table, held(topics.facts), gaps)
        state.recovered.add("streams")

    table_kw: dict[str, Any] = {
        "default": None,
        "partitions": settings.partitions,
        "key_type": bytes,  # bytes -> the "raw" codec, in the agent and in changelog recovery
        "value_type": bytes,
    }
    table = app.Table(TIMELINES_TABLE, on_recover=on_recover_timelines, **table_kw)
    facts_table = app.Table(FACTS_TABLE, on_recover=on_recover_streams, **table_kw)
    # each batch's table writes go to the store and the changelog in one go (stream/changelog.py);
    # under exactly-once through the tables, inside the partition's transaction
    producer = app.producer if settings.processing_guarantee != "exactly_once" else None
    writes, facts_writes = Writes(table, producer), Writes(facts_table, producer)
    handlers = Handlers(state, writes, events_topic, dead_topic, facts_topic, settings.partitions)
    stage = StreamStage(state, facts_writes)

    agents = Agents(handlers, stage, gaps, table, facts_table, writes, facts_writes)
    agents.install(app, raw_topic, events_topic, facts_topic)
    install_on_revoked(app, state, topics.facts)
    install_watermarks(app, state, facts_topic, settings.partitions)

    install_gap_check(app, state, gaps, topics, settings.repair_interval)
    return app


@dataclass(frozen=True)
class Agents:
    """The worker's three agents, each taking its stream in batches (acked after each batch):
    per batch and partition, each key's timeline is decoded, derived, written and its fact sent
    once (timelines stage); per key only the newest fact is written and applied (stream stage)."""

    handlers: Handlers
    stage: StreamStage
    gaps: GapKeeper
    table: Any  # the timelines table (faust.Table, untyped)
    facts_table: Any  # the stream stage's facts table
    writes: Writes  # the handlers' writes to `table`, committed after each batch's group
    facts_writes: Writes  # the stream stage's writes to `facts_table`

    def install(self, app: faust.App, raw_topic: Any, events_topic: Any, facts_topic: Any) -> None:
        handlers, stage, gaps, table, facts_table = (
            self.handlers,
            self.stage,
            self.gaps,
            self.table,
            self.facts_table,
        )
        writes, facts_writes = self.writes, self.facts_writes

        @app.agent(raw_topic, name="normalize")
        async def normalize(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
            async for partition, records in gaps.tracked_batches(batched(stream), "raw", table):
                handlers.mark(partition)
                await handlers.normalize_batch(partition, [value for _, value in records])
                await writes.commit()
                yield None

        @app.agent(events_topic, name="timelines")
        async def timelines(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
            async for partition, records in gaps.tracked_batches(batched(stream), "events", table):
                handlers.mark(partition)
                await handlers.apply_records(records)
                await writes.commit()
                yield None

        @app.agent(facts_topic, name="streams")
        async def streams(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
            batches = gaps.tracked_batches(batched(stream), "facts", facts_table)
            async for partition, records in batches:
                bad = stage.apply_batch(partition, [value for _, value in records])
                await facts_writes.commit()
                for value, reason in bad:
                    await handlers.dead(value, reason, "facts")
                yield None


def install_on_revoked(app: faust.App, state: WorkerState, facts_topic: str) -> None:
    """At every rebalance: a stream whose facts partition left this worker is hidden at once
    (the new holder shows it after its recovery): never two workers at a time. And the worker
    is not ready until both stages are rebuilt for the new assignment: `/readyz` answers 503
    meanwhile, and the offset gap check (which reads the records of the held partitions, loaded
    by the rebuild) waits, instead of taking a partition just taken over for one with a hole."""

    @app.on_partitions_revoked.connect
    async def on_revoked(_: Any, /, *args: Any, signal: Any, **__: Any) -> None:
        revoked: set[TP] = args[0]
        state.recovered.clear()
        lost = {tp.partition for tp in revoked if tp.topic == facts_topic}
        if lost:
            hide(state, lost)


WATERMARK_INTERVAL_SECONDS = 0.5
#: The agents' batches: at most this many records of what the consumer already fetched.
BATCH = 1000


def batched(stream: faust.StreamT[bytes]) -> AsyncIterator[Sequence[EventT[Any]]]:
    """The stream's events in batches, each acked once the agent's body handled it
    (`batches.drained`: what had arrived, up to 1,000 records). FLOWGAUGE_BATCHES=0 takes one
    record at a time (the smallest case of the same code), for measuring what batches buy."""
    if os.environ.get("FLOWGAUGE_BATCHES") == "0":
        return drained(cast(Stream[bytes], stream), 1)
    return drained(cast(Stream[bytes], stream), BATCH)


def install_watermarks(app: faust.App, state: WorkerState, topic: Sender, partitions: int) -> None:
    """The timer that sends the timelines' latest event time to every facts partition when it
    moved: with `clock: event` the stream stage's `now` is the maximum over all workers'."""

    @app.timer(WATERMARK_INTERVAL_SECONDS)  # type: ignore[untyped-decorator]
    async def send_watermark() -> None:
        mark = state.watermark
        if mark is None or mark == state.watermark_sent:
            return
        try:
            for partition in range(partitions):
                await topic.send(value=watermark_fact(mark), partition=partition)
        except (OSError, TimeoutError, KafkaError) as exc:
            log.warning("watermark not sent, retrying later: %s", exc)
            return
        state.watermark_sent = mark


def install_gap_check(
    app: faust.App, state: WorkerState, gaps: GapKeeper, topics: Topics, interval: float
) -> None:
    """The timer that re-reads any offsets of the held partitions no agent absorbed (issue 7)."""
    roles = {topics.raw: "raw", topics.events: "events", topics.facts: "facts"}

    @app.timer(interval)  # type: ignore[untyped-decorator]
    async def check_gaps() -> None:
        if not state.ready:
            return
        held = [
            (roles[tp.topic], tp.partition)
            for tp in app.assignor.assigned_actives()
            if tp.topic in roles
        ]
        try:
            await gaps.check(held)
        except (OSError, TimeoutError, KafkaError) as exc:
            log.warning("offset gap check failed, retrying later: %s", exc)
