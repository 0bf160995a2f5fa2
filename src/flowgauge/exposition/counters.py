"""The worker's and the ingester's own counters and gauges, declared once, registry injected.

Counters whose label values are known in advance (sources, outcomes, topic roles) are created at
0 with every label set when declared (Prometheus' instrumentation advice): a fresh `/metrics`
shows each series, boards show 0 rather than "No data", and `rate()` works from the first scrape.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from flowgauge.sources import REGISTRY

SOURCES = tuple(REGISTRY)  # label values of `source`: the registry is the one list

#: `flowgauge_webhooks_total{outcome}`: what the ingester answered (ingest/app.py).
WEBHOOK_OUTCOMES = ("accepted", "ignored", "unauthorized", "invalid", "too_large", "unavailable")
#: `flowgauge_events_total{outcome}`: what became of each canonical event (stream/app.py).
EVENT_OUTCOMES = ("applied", "duplicate", "unrouted", "dropped")
#: `flowgauge_deliveries_total{outcome}`: what the worker made of each raw delivery.
DELIVERY_OUTCOMES = ("normalized", "ignored", "unrouted", "dead_letter")
#: Topic roles the worker consumes (`flowgauge_reread_messages_total{role}`).
TOPIC_ROLES = ("raw", "events", "facts")
#: `flowgauge_facts_total{outcome}`: what the stream stage made of each facts record
#: (applied; same: not newer than the stored fact; stale: derived under another config).
FACT_OUTCOMES = ("applied", "same", "stale")
#: `flowgauge_dead_letters_total{source}`: a source, or the topic role of a record that is no
#: delivery (`raw`), no event (`events`) or no fact (`facts`) at all.
DEAD_LETTER_SOURCES = (*SOURCES, *TOPIC_ROLES)


def _at_zero(counter: Counter, *values: Sequence[str]) -> Counter:
    """Create the child of every combination of the label values (each starts at 0)."""
    for labels in itertools.product(*values):
        counter.labels(*labels)
    return counter


@dataclass(frozen=True)
class WorkerMetrics:
    """The worker's own pipeline counters (beside the flow gauges on its `/metrics`)."""

    events: Counter
    deliveries: Counter
    dead_letters: Counter
    ready: Gauge
    reread: Counter
    facts: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> WorkerMetrics:
        return cls(
            events=_at_zero(
                Counter(
                    "flowgauge_events",
                    "Canonical events by outcome (applied, duplicate; unrouted: matched no stream; "
                    "dropped: incident candidates the config's dora.incident_labels do not make "
                    "incidents).",
                    ["outcome"],
                    registry=registry,
                ),
                EVENT_OUTCOMES,
            ),
            deliveries=_at_zero(
                Counter(
                    "flowgauge_deliveries",
                    "Raw deliveries normalized, by source and outcome.",
                    ["source", "outcome"],
                    registry=registry,
                ),
                SOURCES,
                DELIVERY_OUTCOMES,
            ),
            dead_letters=_at_zero(
                Counter(
                    "flowgauge_dead_letters",
                    "Deliveries sent to the dead-letter topic, by source.",
                    ["source"],
                    registry=registry,
                ),
                DEAD_LETTER_SOURCES,
            ),
            ready=Gauge(
                "flowgauge_worker_ready", "1 once recovered and consuming.", registry=registry
            ),
            reread=_at_zero(
                Counter(
                    "flowgauge_reread_messages",
                    "Messages re-read because no agent had absorbed their offsets, by topic role.",
                    ["role"],
                    registry=registry,
                ),
                TOPIC_ROLES,
            ),
            facts=_at_zero(
                Counter(
                    "flowgauge_facts",
                    "Facts records of the stream stage by outcome (applied; same: not newer than "
                    "the stored fact; stale: derived under another config).",
                    ["outcome"],
                    registry=registry,
                ),
                FACT_OUTCOMES,
            ),
        )


@dataclass(frozen=True)
class IngestMetrics:
    """The ingester's own metrics (CONTRACT.md: `flowgauge_webhooks_total` by source and outcome,
    spool depth and age). The spool gauges are read at scrape time from functions the ingester
    binds with `watch_spool` (so the age uses the spool's injected clock)."""

    webhooks: Counter
    spool_depth: Gauge
    spool_bytes: Gauge
    spool_oldest_age: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            webhooks=_at_zero(
                Counter(
                    "flowgauge_webhooks",
                    "Webhook requests by source and outcome "
                    "(accepted, ignored, unauthorized, invalid, too_large, unavailable).",
                    ["source", "outcome"],
                    registry=registry,
                ),
                SOURCES,
                WEBHOOK_OUTCOMES,
            ),
            spool_depth=Gauge(
                "flowgauge_spool_depth_records",
                "Accepted deliveries in the ingester's local spool, not yet on the broker.",
                registry=registry,
            ),
            spool_bytes=Gauge(
                "flowgauge_spool_bytes",
                "Bytes of the spool's files on disk (bounded by FLOWGAUGE_SPOOL_MAX_BYTES).",
                registry=registry,
            ),
            spool_oldest_age=Gauge(
                "flowgauge_spool_oldest_age_seconds",
                "Seconds since the oldest spooled delivery was accepted (0 when empty).",
                registry=registry,
            ),
        )

    def watch_spool(
        self,
        depth: Callable[[], float],
        size: Callable[[], float],
        oldest_age: Callable[[], float],
    ) -> None:
        """Read the spool gauges from these functions at every scrape."""
        self.spool_depth.set_function(depth)
        self.spool_bytes.set_function(size)
        self.spool_oldest_age.set_function(oldest_age)
