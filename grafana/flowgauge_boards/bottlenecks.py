"""Bottlenecks board: each stage's signals, its score, the bottleneck, the firing alerts
(docs/bottlenecks.md, docs/dashboards.md)."""

from __future__ import annotations

from flowgauge_boards.panels import (
    Board,
    PanelBuilder,
    bars,
    datasource_variable,
    listing,
    series,
    states,
    stream_variable,
)
from flowgauge_boards.promql import F, q

PER_WORKER = (
    " Signals and scores of a stream come from the one worker that holds the stream's facts "
    "(docs/architecture.md), so `sum by` over the workers is the stream's exact value (as in "
    "the recording rules in deploy/prometheus/rules)."
)


def board() -> Board:
    b = Board(
        "flowgauge-bottlenecks",
        "flowgauge / Bottlenecks",
        "Where work accumulates and waits: each stage's signals, its score, the stream's "
        "bottleneck and the firing alerts (docs/bottlenecks.md, docs/dashboards.md).",
        [datasource_variable(), stream_variable()],
    )
    b.add(*_signals())
    return b


def _signals() -> list[PanelBuilder]:
    """The bottleneck, the signals behind it and the alerts they raise."""
    return [
        states(
            "Bottleneck stage over time",
            "`flowgauge_bottleneck`: 1 for the stream's highest-scoring stage (score > 0)."
            + PER_WORKER,
            q(f"sum by (stream, stage) (flowgauge_bottleneck{{{F}}})", "{{stream}}/{{stage}}"),
            on_text="bottleneck",
            width=24,
        ),
        series(
            "Bottleneck score by stage",
            "`flowgauge_bottleneck_score`: pile-up signals firing for the stage plus its share "
            "of the stream's WIP (0 if none)." + PER_WORKER,
            [
                q(
                    f"sum by (stream, stage) (flowgauge_bottleneck_score{{{F}}})",
                    "{{stream}}/{{stage}}",
                )
            ],
        ),
        bars(
            "Signals firing per stage (now)",
            "How many of the four signals (wip_limit, aging, accumulating, out_of_limits) hold "
            "for each stage." + PER_WORKER,
            q(
                f"sum by (stream, stage) (flowgauge_stage_signal{{{F}}})",
                "{{stream}}/{{stage}}",
                instant=True,
            ),
        ),
        states(
            "Stage signals",
            "`flowgauge_stage_signal`: each stage's signals over time: WIP above its limit "
            "(wip_limit), items older than the SLE (aging), arrivals outrunning departures "
            "(accumulating), a value outside its natural process limits (out_of_limits)."
            + PER_WORKER,
            q(
                f"sum by (stream, stage, signal) (flowgauge_stage_signal{{{F}}})",
                "{{stage}} {{signal}}",
            ),
            on_text="firing",
            width=24,
            height=12,
        ),
        listing(
            "Alerts (firing and pending)",
            "Prometheus' `ALERTS` series of flowgauge's alerting rules "
            "(deploy/prometheus/rules/flowgauge-alerts.yml); the descriptions with the numbers "
            "behind each signal are in Alertmanager.",
            q(
                f'ALERTS{{alertname=~"Flowgauge.*", alertstate=~"firing|pending", {F}}}',
                "{{alertname}}",
                instant=True,
            ),
        ),
    ]
