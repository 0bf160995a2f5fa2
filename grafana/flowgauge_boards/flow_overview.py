"""Flow overview board: WIP, throughput, lead and cycle time, flow efficiency, rework and
defects per value stream (docs/dashboards.md)."""

from __future__ import annotations

from flowgauge_boards.panels import (
    Board,
    PanelBuilder,
    datasource_variable,
    series,
    single,
    stream_variable,
)
from flowgauge_boards.promql import QUANTILE_NOTE, SUM_NOTE, F, q


def board() -> Board:
    b = Board(
        "flowgauge-flow",
        "flowgauge / Flow overview",
        "Work in progress, throughput, lead and cycle time, flow efficiency, rework and defects "
        "per value stream (docs/dashboards.md).",
        [datasource_variable(), stream_variable()],
    )
    b.add(*_headline(), *_flow(), *_times_and_quality())
    return b


def _headline() -> list[PanelBuilder]:
    """The stream's numbers now."""
    return [
        single(
            "Work in progress",
            "Items whose current stage is a non-done stage, all selected streams." + SUM_NOTE,
            q(f"sum(flowgauge_wip_items{{{F}}})", "WIP"),
        ),
        single(
            "Throughput (in window)",
            "Items completed in each stream's rolling window (config `window`, default 30d)."
            + SUM_NOTE,
            q(f"sum(flowgauge_throughput_items{{{F}}})", "throughput"),
        ),
        single(
            "Lead time p85",
            "85th percentile of completed_at - created_at over items completed in window; the "
            "highest over the selected streams." + QUANTILE_NOTE,
            q(
                f'max(sum by (stream) (flowgauge_lead_time_seconds{{{F}, quantile="0.85"}}))',
                "lead p85",
            ),
            unit="s",
        ),
        single(
            "Cycle time p85",
            "85th percentile of completed_at - started_at over started items completed in window; "
            "the highest over the selected streams." + QUANTILE_NOTE,
            q(
                f'max(sum by (stream) (flowgauge_cycle_time_seconds{{{F}, quantile="0.85"}}))',
                "cycle p85",
            ),
            unit="s",
        ),
        single(
            "Blocked items",
            "In-progress items blocked now." + SUM_NOTE,
            q(f"sum(flowgauge_blocked_items{{{F}}})", "blocked"),
        ),
        single(
            "SLE breaches",
            "Started, in-progress items older than their stream's service level expectation "
            "(`sle`)." + SUM_NOTE,
            q(f"sum(flowgauge_sle_breach_items{{{F}}})", "breaches"),
        ),
    ]


def _flow() -> list[PanelBuilder]:
    """How work flows: WIP by stage, throughput, efficiency."""
    return [
        series(
            "Cumulative flow: WIP by stage, stacked",
            "A live cumulative flow view: the items in each non-done stage, stacked, over time, "
            "with the items completed in the rolling window as the bottom band (flowgauge keeps "
            "completions per window, not since the beginning, so the done band is the window's "
            "throughput). A widening band is a stage where work accumulates. Grafana orders the "
            "bands by series name, not by the config's stage order." + SUM_NOTE,
            [
                q(f"sum(flowgauge_throughput_items{{{F}}})", "done (completed in window)"),
                q(f"sum by (stage) (flowgauge_wip_items{{{F}}})", "{{stage}}"),
            ],
            stacked=True,
            width=24,
            height=10,
        ),
        series(
            "Throughput (completed in window)",
            "Items completed in the stream's rolling window, per stream." + SUM_NOTE,
            [q(f"sum by (stream) (flowgauge_throughput_items{{{F}}})", "{{stream}}")],
        ),
        series(
            "Flow efficiency",
            "Sum of active time / sum of active + wait + blocked time, from started_at to "
            "completed_at, over items completed in window (a ratio of sums)." + SUM_NOTE,
            [q(f"sum by (stream) (flowgauge_flow_efficiency_ratio{{{F}}})", "{{stream}}")],
            unit="percentunit",
        ),
    ]


def _times_and_quality() -> list[PanelBuilder]:
    """How long it takes and how much comes back."""
    return [
        series(
            "Lead time percentiles",
            "completed_at - created_at over items completed in window, per quantile (0.5, 0.85, "
            "0.95)." + QUANTILE_NOTE,
            [
                q(
                    f"sum by (stream, quantile) (flowgauge_lead_time_seconds{{{F}}})",
                    "{{stream}} p{{quantile}}",
                )
            ],
            unit="s",
        ),
        series(
            "Cycle time percentiles",
            "completed_at - started_at over started items completed in window, per quantile."
            + QUANTILE_NOTE,
            [
                q(
                    f"sum by (stream, quantile) (flowgauge_cycle_time_seconds{{{F}}})",
                    "{{stream}} p{{quantile}}",
                )
            ],
            unit="s",
        ),
        series(
            "Rework and defect ratios",
            "Rework: share of items completed in window that ever moved to an earlier stage (a "
            "reopen counts). Defects: share of items completed in window of a configured defect "
            "type." + SUM_NOTE,
            [
                q(f"sum by (stream) (flowgauge_rework_ratio{{{F}}})", "{{stream}} rework"),
                q(f"sum by (stream) (flowgauge_defect_ratio{{{F}}})", "{{stream}} defects"),
            ],
            unit="percentunit",
            width=24,
        ),
    ]
