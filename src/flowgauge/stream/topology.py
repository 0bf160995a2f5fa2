"""The Faust app: its client settings, the topics, the table, two thin agents and the timers.

Wiring only: what an agent does with a record is `handlers.py`, what happens after a recovery is
`recovery.py`, the offset bookkeeping is `gaps.py`. State design: docs/architecture.md.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import faust
from aiokafka.errors import KafkaError

from flowgauge.settings import Settings
from flowgauge.stream.alerts import install_alerts
from flowgauge.stream.gaps import GapKeeper
from flowgauge.stream.handlers import Handlers
from flowgauge.stream.recovery import rebuild
from flowgauge.stream.state import WorkerState
from flowgauge.stream.topics import Topics

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

    async def on_recover() -> None:
        await rebuild(state, table, gaps)

    table = app.Table(
        "timelines",
        default=None,
        partitions=settings.partitions,
        key_type=bytes,  # bytes -> the "raw" codec, in the agent and in changelog recovery
        value_type=bytes,
        on_recover=on_recover,
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

    install_gap_check(app, state, gaps, topics, settings.repair_interval)
    return app


def install_gap_check(
    app: faust.App, state: WorkerState, gaps: GapKeeper, topics: Topics, interval: float
) -> None:
    """The timer that re-reads any offsets of the held partitions no agent absorbed (issue 7)."""
    roles = {topics.raw: "raw", topics.events: "events"}

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
