"""The collector that reads the flow and DORA gauges (`families.py`) from the engine.

Flow and DORA gauges are not kept in prometheus_client objects: a custom collector asks the
engine for a `Snapshot` at scrape time, so a scrape always shows the state as it is, and a
partition given up in a rebalance disappears from `/metrics` with the state that held it.
The registry is always injected: nothing here touches the global default registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from flowgauge.engine.snapshot import (
    Quantiles,
    ServiceMetrics,
    Snapshot,
    StreamMetrics,
    StreamSignals,
)
from flowgauge.exposition.families import (
    AGE,
    BLOCKED,
    BLOCKED_REASON_ITEMS,
    BLOCKED_REASON_SECONDS,
    BOTTLENECK,
    BOTTLENECK_SCORE,
    CFR,
    CYCLE,
    DEFECT,
    DEPLOY_FREQ,
    DISTRIBUTION_THROUGHPUT,
    DISTRIBUTION_WIP,
    DORA_FAMILIES,
    EFFICIENCY,
    FLOW_FAMILIES,
    FORECAST_COMPLETION,
    FORECAST_DUE,
    FORECAST_DUE_TIMESTAMP,
    FORECAST_ITEMS,
    FORECAST_REMAINING,
    HANDOFFS,
    LEAD,
    LEAD_CHANGES,
    NO_CHANGE_TIMES,
    NO_STATE,
    OTHER_STATES,
    REWORK,
    REWORK_DEPLOYS,
    SIGNAL_VALUE,
    SLE_ATTAINMENT,
    SLE_BREACH,
    STAGE_SECONDS,
    STAGE_SIGNAL,
    STAGE_TIME,
    STREAM_INFO,
    THROUGHPUT,
    TTR,
    UNLINKED,
    UNMAPPED,
    UNMAPPED_BY_STATE,
    UNMAPPED_STATE_NAMES,
    WIP,
    Family,
)


def _family(family: Family) -> GaugeMetricFamily:
    return GaugeMetricFamily(family.name, family.help, labels=list(family.labels))


def _stream_samples(m: StreamMetrics, out: dict[str, GaugeMetricFamily]) -> None:
    s = m.stream
    for stage, n in m.wip.items():
        out[WIP.name].add_metric([s, stage], n)
    for stage, n in m.blocked.items():
        out[BLOCKED.name].add_metric([s, stage], n)
    for stage, n in m.sle_breaches.items():
        out[SLE_BREACH.name].add_metric([s, stage], n)
    for stage, qs in m.age.items():
        _quantiles(out[AGE.name], [s, stage], qs)
    _quantiles(out[LEAD.name], [s], m.lead_time)
    _quantiles(out[CYCLE.name], [s], m.cycle_time)
    for stage, qs in m.stage_time.items():
        _quantiles(out[STAGE_TIME.name], [s, stage], qs)
    for stage, kinds in m.stage_seconds.items():
        for kind, seconds in kinds.items():
            out[STAGE_SECONDS.name].add_metric([s, stage, kind], seconds)
    out[THROUGHPUT.name].add_metric([s], m.throughput)
    for family, value in (
        (EFFICIENCY, m.flow_efficiency),
        (REWORK, m.rework_ratio),
        (DEFECT, m.defect_ratio),
    ):
        if value is not None:
            out[family.name].add_metric([s], value)
    _forecast_samples(m, out)
    _breakdown_samples(m, out)


def _breakdown_samples(m: StreamMetrics, out: dict[str, GaugeMetricFamily]) -> None:
    """Handoffs, blocked reasons, distribution (engine/breakdown.py caps the label values)."""
    s = m.stream
    for kind, qs in m.handoffs.items():
        _quantiles(out[HANDOFFS.name], [s, kind], qs)
    for reason, seconds in m.blocked_reason_seconds.items():
        out[BLOCKED_REASON_SECONDS.name].add_metric([s, reason], seconds)
    for reason, n in m.blocked_reason_items.items():
        out[BLOCKED_REASON_ITEMS.name].add_metric([s, reason], n)
    for family, counts in (
        (DISTRIBUTION_WIP, m.distribution_wip),
        (DISTRIBUTION_THROUGHPUT, m.distribution_throughput),
    ):
        for dimension, values in counts.items():
            for value, n in values.items():
                out[family.name].add_metric([s, dimension, value], n)


def _forecast_samples(m: StreamMetrics, out: dict[str, GaugeMetricFamily]) -> None:
    s = m.stream
    for (days, confidence), items in m.forecast.items.items():
        out[FORECAST_ITEMS.name].add_metric([s, str(days), confidence], items)
    for t in m.forecast.targets:
        for confidence, seconds in t.completion.items():
            out[FORECAST_COMPLETION.name].add_metric([s, t.target, confidence], seconds)
        if t.due is not None:
            out[FORECAST_DUE.name].add_metric([s, t.target], t.due)
        if t.due_seconds is not None:
            out[FORECAST_DUE_TIMESTAMP.name].add_metric([s, t.target], t.due_seconds)
        out[FORECAST_REMAINING.name].add_metric([s, t.target], t.remaining)
    if m.sle_attainment is not None:
        out[SLE_ATTAINMENT.name].add_metric([s], m.sle_attainment)


def _signal_samples(m: StreamSignals, out: dict[str, GaugeMetricFamily]) -> None:
    s = m.stream
    for stage in m.stages:
        for signal, on in stage.firing.items():
            out[STAGE_SIGNAL.name].add_metric([s, stage.stage, signal], int(on))
        for signal, measures in stage.values.items():
            for measure, value in measures.items():
                out[SIGNAL_VALUE.name].add_metric([s, stage.stage, signal, measure], value)
        out[BOTTLENECK_SCORE.name].add_metric([s, stage.stage], stage.score)
        out[BOTTLENECK.name].add_metric([s, stage.stage], int(stage.bottleneck))


def _service_samples(m: ServiceMetrics, out: dict[str, GaugeMetricFamily]) -> None:
    s = m.service
    out[DEPLOY_FREQ.name].add_metric([s], m.deployment_frequency_per_day)
    _quantiles(out[LEAD_CHANGES.name], [s], m.lead_time_for_changes)
    if m.change_failure_ratio is not None:
        out[CFR.name].add_metric([s], m.change_failure_ratio)
    _quantiles(out[TTR.name], [s], m.time_to_restore)
    if m.deployment_rework_ratio is not None:
        out[REWORK_DEPLOYS.name].add_metric([s], m.deployment_rework_ratio)
    out[UNLINKED.name].add_metric([s], m.unlinked_incidents)
    out[NO_CHANGE_TIMES.name].add_metric([s], m.deployments_without_change_times)


def _top_states(counts: dict[str, int]) -> list[tuple[str, int]]:
    """The most frequent unmapped state names (ties by name), the rest summed as `(other)`."""
    ranked = sorted(
        ((n, state) for state, n in counts.items() if n > 0), key=lambda x: (-x[0], x[1])
    )
    shown = [(state or NO_STATE, n) for n, state in ranked[:UNMAPPED_STATE_NAMES]]
    rest = sum(n for n, _ in ranked[UNMAPPED_STATE_NAMES:])
    return [*shown, (OTHER_STATES, rest)] if rest else shown


def _quantiles(family: GaugeMetricFamily, labels: list[str], qs: Quantiles) -> None:
    for q, value in qs.items():
        family.add_metric([*labels, q], value)


def snapshot_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    """The flow and DORA families of one snapshot, in a fixed order."""
    out = {f.name: _family(f) for f in (*FLOW_FAMILIES, *DORA_FAMILIES)}
    for stream in snapshot.streams:
        _stream_samples(stream, out)
        out[UNMAPPED.name].add_metric(
            [stream.stream], snapshot.unmapped_states.get(stream.stream, 0)
        )
        stream_type = snapshot.stream_types.get(stream.stream, "development")
        out[STREAM_INFO.name].add_metric([stream.stream, stream_type], 1)
        for state, n in _top_states(snapshot.unmapped_by_state.get(stream.stream, {})):
            out[UNMAPPED_BY_STATE.name].add_metric([stream.stream, state], n)
    for signals in snapshot.signals:
        _signal_samples(signals, out)
    for service in snapshot.services:
        _service_samples(service, out)
    yield from out.values()


class SnapshotCollector(Collector):
    """Reads the engine at scrape time (prometheus_client's custom-collector pattern)."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        yield from snapshot_metrics(self._snapshot())

    def describe(self) -> Iterator[Metric]:
        return iter(())  # families depend on state; skip the registration-time collect()


def render(snapshot: Snapshot) -> bytes:
    """The Prometheus text of a snapshot alone: what `report --format prom` prints."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(SnapshotCollector(lambda: snapshot))
    return generate_latest(registry)
