"""Every metric flowgauge exposes, each declared once, and how a scrape reads it.

`families`: the flow and DORA gauge families, declared once. `gauges`: the collector that reads
them from the engine at scrape time. `counters`: the worker's and the ingester's own counters and
gauges, exposed at 0 for every label value known in advance. The registry is always injected:
nothing here touches prometheus_client's global default registry.
"""

from __future__ import annotations

from flowgauge.exposition.counters import (
    DEAD_LETTER_SOURCES,
    DELIVERY_OUTCOMES,
    EVENT_OUTCOMES,
    FACT_OUTCOMES,
    TOPIC_ROLES,
    WEBHOOK_OUTCOMES,
    IngestMetrics,
    WorkerMetrics,
)
from flowgauge.exposition.families import DORA_FAMILIES, FLOW_FAMILIES, SIGNAL_FAMILIES, Family
from flowgauge.exposition.gauges import SnapshotCollector, render, snapshot_metrics

__all__ = [
    "DEAD_LETTER_SOURCES",
    "DELIVERY_OUTCOMES",
    "DORA_FAMILIES",
    "EVENT_OUTCOMES",
    "FACT_OUTCOMES",
    "FLOW_FAMILIES",
    "SIGNAL_FAMILIES",
    "TOPIC_ROLES",
    "WEBHOOK_OUTCOMES",
    "Family",
    "IngestMetrics",
    "SnapshotCollector",
    "WorkerMetrics",
    "render",
    "snapshot_metrics",
]
