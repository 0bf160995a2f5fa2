"""The ingester's data-trust gauges, declared once, read from its `Freshness` at scrape time.

`flowgauge_source_last_event_timestamp_seconds{source}` and
`flowgauge_event_delay_seconds{source, quantile}` are the names of CONTRACT.md;
`flowgauge_event_delay_events{source}` says how many arrivals the quantiles cover, and is 0 from
the start for every source (a source never heard from has no latest event time: a 0 would read
as "silent since 1970" and page for every tool not in use). Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from flowgauge.engine.snapshot import Quantiles

LAST_EVENT = (
    "flowgauge_source_last_event_timestamp_seconds",
    "Latest event time (the tool's `at`, epoch seconds) of the events this ingester accepted "
    "from the source.",
)
DELAY = (
    "flowgauge_event_delay_seconds",
    "Arrival at this ingester - event time, over the events it accepted in the last hour.",
)
DELAY_EVENTS = (
    "flowgauge_event_delay_events",
    "Events whose delay flowgauge_event_delay_seconds covers (accepted in the last hour).",
)
TRUST_FAMILIES = (LAST_EVENT[0], DELAY[0], DELAY_EVENTS[0])


class FreshnessView(Protocol):
    """What the collector reads (ingest/freshness.py's `Freshness`)."""

    def latest_seconds(self) -> dict[str, float]: ...

    def delays(self, now_micros: int) -> dict[str, tuple[int, Quantiles]]: ...


class TrustCollector(Collector):
    """Reads the freshness state at scrape time, with the ingester's clock."""

    def __init__(self, freshness: FreshnessView, now_micros: Callable[[], int]) -> None:
        self._freshness = freshness
        self._now = now_micros

    def collect(self) -> Iterator[Metric]:
        latest = GaugeMetricFamily(*LAST_EVENT, labels=["source"])
        for source, seconds in self._freshness.latest_seconds().items():
            latest.add_metric([source], seconds)
        delay = GaugeMetricFamily(*DELAY, labels=["source", "quantile"])
        count = GaugeMetricFamily(*DELAY_EVENTS, labels=["source"])
        for source, (samples, quantiles) in self._freshness.delays(self._now()).items():
            count.add_metric([source], samples)
            for label, seconds in quantiles.items():
                delay.add_metric([source, label], seconds)
        yield from (latest, delay, count)

    def describe(self) -> Iterator[Metric]:
        return iter(())  # read at scrape time; skip the registration-time collect()
