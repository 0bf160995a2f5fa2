"""Topic names and their creation, shared by the ingester and the worker.

Both create what they need at start (idempotently), so either can start first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from flowgauge.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topics:
    """`raw`: deliveries as received; `events`: canonical events keyed by state key;
    `deadletter`: deliveries that could not be normalized, with the reason; `alerts`: every
    change of a stage's bottleneck signal, as a sentence (stream/alerts.py)."""

    raw: str
    events: str
    deadletter: str
    alerts: str

    @classmethod
    def of(cls, settings: Settings) -> Topics:
        p = settings.topic_prefix
        return cls(
            raw=f"{p}-raw", events=f"{p}-events", deadletter=f"{p}-deadletter", alerts=f"{p}-alerts"
        )


async def ensure_topics(settings: Settings, timeout_ms: int = 10_000) -> None:
    """Create the project's topics with `settings.partitions` partitions if they are missing."""
    topics = Topics.of(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=timeout_ms)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        replicas = settings.replication_factor
        wanted = [
            NewTopic(name, num_partitions=settings.partitions, replication_factor=replicas)
            for name in (topics.raw, topics.events, topics.deadletter, topics.alerts)
            if name not in existing
        ]
        if wanted:
            response = await admin.create_topics(wanted, timeout_ms=timeout_ms)
            for error in getattr(response, "topic_errors", ()):
                name, code = error[0], error[1]
                if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (a racing process made it)
                    raise RuntimeError(f"cannot create topic {name}: error code {code}")
    finally:
        await admin.close()
