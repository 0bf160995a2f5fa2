"""The flow and DORA gauges, declared once, and the collector that reads them from the engine.

Flow and DORA gauges are not kept in prometheus_client objects: a custom collector asks the
engine for a `Snapshot` at scrape time, so a scrape always shows the state as it is, and a
partition given up in a rebalance disappears from `/metrics` with the state that held it.
The registry is always injected: nothing here touches the global default registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Family:
    name: str
    help: str
    labels: tuple[str, ...]


def _f(name: str, help: str, *labels: str) -> Family:
    return Family(f"flowgauge_{name}", help, labels)


WIP = _f("wip_items", "Items whose current stage is this (non-done) stage.", "stream", "stage")
BLOCKED = _f("blocked_items", "In-progress items blocked now, by stage.", "stream", "stage")
SLE_BREACH = _f(
    "sle_breach_items", "Started, in-progress items older than the stream's SLE.", "stream", "stage"
)
AGE = _f(
    "work_item_age_seconds",
    "Age of in-progress items (now - started_at, or - created_at if not started).",
    "stream",
    "stage",
    "quantile",
)
LEAD = _f(
    "lead_time_seconds",
    "completed_at - created_at, items completed in window.",
    "stream",
    "quantile",
)
CYCLE = _f(
    "cycle_time_seconds",
    "completed_at - started_at, started items completed in window.",
    "stream",
    "quantile",
)
STAGE_TIME = _f(
    "stage_time_seconds",
    "Time in stage of items completed in window that visited it.",
    "stream",
    "stage",
    "quantile",
)
STAGE_SECONDS = _f(
    "stage_seconds",
    "Seconds items completed in window spent in the stage, by kind (active, wait, blocked).",
    "stream",
    "stage",
    "kind",
)
THROUGHPUT = _f("throughput_items", "Items completed in window.", "stream")
EFFICIENCY = _f(
    "flow_efficiency_ratio",
    "Sum active / sum (active+wait+blocked), completed in window, from started_at.",
    "stream",
)
REWORK = _f("rework_ratio", "Share of items completed in window that moved backwards.", "stream")
DEFECT = _f("defect_ratio", "Share of items completed in window of a defect type.", "stream")
UNMAPPED = _f(
    "unmapped_state_events",
    "State events of the stream's items whose state maps to no stage (they move nothing).",
    "stream",
)
STREAM_INFO = _f(
    "stream_info",
    "1 for every configured value stream, labelled with its type "
    "(operational, development, supporting; docs/value-streams.md).",
    "stream",
    "type",
)
UNMAPPED_BY_STATE = _f(
    "unmapped_state_events_by_state",
    "Unmapped state events of the stream's items by the tool's state name (map it to a stage); "
    'the 20 most frequent names per stream, the rest under state="(other)".',
    "stream",
    "state",
)
#: The state names `flowgauge_unmapped_state_events_by_state` shows per stream (cardinality
#: bound: a tool with a thousand statuses adds at most this many series, plus `(other)`).
UNMAPPED_STATE_NAMES = 20
NO_STATE = "(none)"  # a state event that names no state
OTHER_STATES = "(other)"
DEPLOY_FREQ = _f(
    "dora_deployment_frequency_per_day",
    "Successful production deployments in the DORA window per day.",
    "service",
)
LEAD_CHANGES = _f(
    "dora_lead_time_for_changes_seconds",
    "Commit to first successful production deployment.",
    "service",
    "quantile",
)
CFR = _f(
    "dora_change_failure_ratio",
    "Share of production deployments in window linked to an incident.",
    "service",
)
TTR = _f(
    "dora_time_to_restore_seconds",
    "Incident opened to resolved, resolved in window.",
    "service",
    "quantile",
)
REWORK_DEPLOYS = _f(
    "dora_deployment_rework_ratio",
    "Share of production deployments in window made while an incident of the service was open "
    "(unplanned, because of an incident; docs/dora.md).",
    "service",
)
UNLINKED = _f("dora_unlinked_incidents", "Incidents linked to no deployment.", "service")
NO_CHANGE_TIMES = _f(
    "dora_deployments_without_change_times",
    "Production deployments in window carrying no change with a commit time.",
    "service",
)

STAGE_SIGNAL = _f(
    "stage_signal",
    "1 while the bottleneck signal holds for the stage (wip_limit, aging, accumulating, "
    "out_of_limits), else 0. See docs/bottlenecks.md.",
    "stream",
    "stage",
    "signal",
)
SIGNAL_VALUE = _f(
    "stage_signal_value",
    "The numbers behind each bottleneck signal (counts, seconds, limits), for alert texts.",
    "stream",
    "stage",
    "signal",
    "measure",
)
BOTTLENECK_SCORE = _f(
    "bottleneck_score",
    "Pile-up signals firing for the stage plus its share of the stream's WIP (0 if none).",
    "stream",
    "stage",
)
BOTTLENECK = _f(
    "bottleneck", "1 for the stream's highest-scoring stage (score > 0), else 0.", "stream", "stage"
)
SIGNAL_FAMILIES = (STAGE_SIGNAL, SIGNAL_VALUE, BOTTLENECK_SCORE, BOTTLENECK)

# Forecasts and SLE attainment (METRICS.md "Forecasts"; docs/forecasts.md).
FORECAST_ITEMS = _f(
    "forecast_items",
    "Items the stream completes in the next `days` days with probability >= confidence "
    "(exact convolution of the daily throughput of the last forecast.history days).",
    "stream",
    "days",
    "confidence",
)
FORECAST_COMPLETION = _f(
    "forecast_completion_seconds",
    "Whole days (in seconds) until the target's remaining items are done with probability "
    ">= confidence (target wip: the started WIP).",
    "stream",
    "target",
    "confidence",
)
FORECAST_DUE = _f(
    "forecast_due_ratio",
    "Probability of finishing the target's remaining items by the end of its due date (UTC).",
    "stream",
    "target",
)
FORECAST_REMAINING = _f(
    "forecast_remaining_items",
    "Items the forecast target still has to finish (wip: started, not complete).",
    "stream",
    "target",
)
FORECAST_DUE_TIMESTAMP = _f(
    "forecast_due_timestamp_seconds",
    "End (24:00 UTC) of the target's due date, epoch seconds.",
    "stream",
    "target",
)
SLE_ATTAINMENT = _f(
    "sle_attainment_ratio",
    "Share of the cycle times of items completed in window that are <= the stream's SLE.",
    "stream",
)
FORECAST_FAMILIES = (
    FORECAST_ITEMS,
    FORECAST_COMPLETION,
    FORECAST_DUE,
    FORECAST_REMAINING,
    FORECAST_DUE_TIMESTAMP,
    SLE_ATTAINMENT,
)


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


FLOW_FAMILIES = (
    WIP,
    BLOCKED,
    SLE_BREACH,
    AGE,
    LEAD,
    CYCLE,
    STAGE_TIME,
    STAGE_SECONDS,
    THROUGHPUT,
    EFFICIENCY,
    REWORK,
    DEFECT,
    *SIGNAL_FAMILIES,
    UNMAPPED,
    *FORECAST_FAMILIES,
    STREAM_INFO,
    UNMAPPED_BY_STATE,
)
DORA_FAMILIES = (DEPLOY_FREQ, LEAD_CHANGES, CFR, TTR, REWORK_DEPLOYS, UNLINKED, NO_CHANGE_TIMES)


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
