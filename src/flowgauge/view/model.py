"""The view model: a processor's state as one JSON-able dict, the same numbers as `/metrics`.

`view(processor, wall_micros)` takes one `Snapshot` (the very object `/metrics` and
`report --format prom` render) and reads every figure of the map from it; only the charts read
the items' facts beyond it (view/charts.py). It comes in two steps for the live worker:
`capture` reads the processor's mutable state (the snapshot, and a shallow copy of each stream's
items, whose `ItemFacts` are immutable) and must run on the event loop, where the agents mutate
that state; `build` is pure over what was captured and may run on any thread, so the walk over
every item the charts need does not stall the loop.

Durations are seconds, ratios are fractions, undefined values (a quantile of nothing) are None.
The shape is documented in docs/page.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowgauge.engine.breakdown import DIMENSIONS
from flowgauge.engine.item import ItemFacts
from flowgauge.engine.processor import Processor
from flowgauge.engine.snapshot import (
    KINDS,
    ServiceMetrics,
    Snapshot,
    StageSignals,
    StreamMetrics,
    StreamSignals,
)
from flowgauge.model.config import FlowConfig, StreamConfig
from flowgauge.model.micros import duration_micros
from flowgauge.view import charts
from flowgauge.view.forecasts import forecast_charts
from flowgauge.view.words import bottleneck_sentence, signal_sentences

Json = dict[str, Any]


@dataclass(frozen=True)
class Captured:
    """What `build` needs, read from the processor at one instant (see the module docstring)."""

    config: FlowConfig
    snapshot: Snapshot
    now_micros: int
    items: dict[str, dict[str, ItemFacts]]  # stream -> item -> facts (a copy)


def capture(processor: Processor, wall_micros: int) -> Captured:
    """The snapshot and the items' facts, on the thread that owns the processor."""
    return Captured(
        config=processor.config,
        snapshot=processor.snapshot(wall_micros),
        now_micros=processor.now_micros(wall_micros),
        items={s.name: dict(processor.flow.items(s.name)) for s in processor.config.streams},
    )


def view(processor: Processor, wall_micros: int) -> Json:
    """Every stream's map, figures and charts, and DORA per service, at one `now`."""
    return build(capture(processor, wall_micros))


def build(captured: Captured) -> Json:
    """The view model of what was captured (pure)."""
    snapshot, now = captured.snapshot, captured.now_micros
    signals = {s.stream: s for s in snapshot.signals}
    streams = [
        _stream(config, metrics, signals.get(config.name), captured.items[config.name], now)
        for config, metrics in zip(captured.config.streams, snapshot.streams, strict=True)
    ]
    return {
        "now": charts.iso(now),
        "now_seconds": snapshot.now_seconds,
        "clock": captured.config.clock,
        "streams": streams,
        "services": [_service(s) for s in snapshot.services],
    }


def _stream(
    config: StreamConfig,
    m: StreamMetrics,
    signals: StreamSignals | None,
    items: Mapping[str, ItemFacts],
    now: int,
) -> Json:
    window = duration_micros(config.window)
    done = charts.completed_in_window(items, now, window)
    by_stage = {s.stage: s for s in signals.stages} if signals is not None else {}
    stages = [
        _stage(config, index, m, by_stage.get(stage.name))
        for index, stage in enumerate(config.stages)
    ]
    bottleneck = next((s for s in stages if s["bottleneck"]), None)
    return {
        "name": config.name,
        "has_data": bool(items),
        "window_seconds": config.window.total_seconds(),
        "sle_seconds": None if config.sle is None else config.sle.total_seconds(),
        "figures": _figures(m),
        "stages": stages,
        "bottleneck": None
        if bottleneck is None
        else {"stage": bottleneck["name"], "sentence": bottleneck["sentence"]},
        "charts": {
            "cumulative_flow": charts.cumulative_flow(config, items, now, window),
            "cycle_time_scatter": charts.scatter(done, m.cycle_time),
            "aging": charts.aging(config, items, done, now),
            "throughput": charts.throughput_run(done, now, window),
        },
        "forecast": forecast_charts(config, m.forecast, items, now),
        "breakdown": _breakdown(m),
    }


def _breakdown(m: StreamMetrics) -> Json:
    """Handoffs, blocked reasons and distribution: the snapshot's samples, one row per label
    value (None where that value has no sample in the family, as on /metrics)."""
    reasons = sorted(m.blocked_reason_items.keys() | m.blocked_reason_seconds.keys())
    distribution = []
    for dimension in DIMENSIONS:
        wip = m.distribution_wip.get(dimension, {})
        done = m.distribution_throughput.get(dimension, {})
        distribution += [
            {"dimension": dimension, "value": v, "wip": wip.get(v), "throughput": done.get(v)}
            for v in sorted(wip.keys() | done.keys())
        ]
    return {
        "handoffs": {kind: dict(qs) for kind, qs in m.handoffs.items()},
        "blocked_reasons": [
            {
                "reason": r,
                "items": m.blocked_reason_items.get(r),
                "seconds": m.blocked_reason_seconds.get(r),
            }
            for r in reasons
        ],
        "distribution": distribution,
    }


def _figures(m: StreamMetrics) -> Json:
    return {
        "lead_time": dict(m.lead_time),
        "cycle_time": dict(m.cycle_time),
        "throughput": m.throughput,
        "flow_efficiency": m.flow_efficiency,
        "rework_ratio": m.rework_ratio,
        "defect_ratio": m.defect_ratio,
        "wip": sum(m.wip.values()),
        "blocked": sum(m.blocked.values()),
        "sle_breaches": sum(m.sle_breaches.values()) if m.sle_breaches else None,
    }


def _stage(config: StreamConfig, index: int, m: StreamMetrics, sig: StageSignals | None) -> Json:
    stage = config.stages[index]
    name = stage.name
    seconds = m.stage_seconds.get(name, {})
    total = sum(seconds.get(kind, 0.0) for kind in KINDS)
    age = m.age.get(name, {})
    return {
        "name": name,
        "kind": stage.kind,
        "done": stage.kind == "done",
        "wip": m.wip.get(name),
        "wip_limit": stage.wip_limit,
        "blocked": m.blocked.get(name),
        "sle_breaches": m.sle_breaches.get(name),
        "age_p85": age.get("0.85"),
        "age_oldest": age.get("1"),
        "time_in_stage": dict(m.stage_time.get(name, {})),
        "seconds": {kind: seconds.get(kind, 0.0) for kind in KINDS},
        "share": {kind: seconds.get(kind, 0.0) / total if total else None for kind in KINDS},
        "signals": {} if sig is None else dict(sig.firing),
        "signal_sentences": [] if sig is None else signal_sentences(config.name, sig, stage.kind),
        "score": 0.0 if sig is None else sig.score,
        "bottleneck": sig is not None and sig.bottleneck,
        "sentence": bottleneck_sentence(config.name, sig)
        if sig is not None and sig.bottleneck
        else None,
    }


def _service(s: ServiceMetrics) -> Json:
    return {
        "service": s.service,
        "deployment_frequency_per_day": s.deployment_frequency_per_day,
        "lead_time_for_changes": dict(s.lead_time_for_changes),
        "change_failure_ratio": s.change_failure_ratio,
        "time_to_restore": dict(s.time_to_restore),
    }
