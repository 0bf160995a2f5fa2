"""Stages board: time in stage, where the time goes, WIP against limits, blocked items
(docs/dashboards.md)."""

from __future__ import annotations

from flowgauge_boards.panels import (
    Board,
    PanelBuilder,
    bars,
    datasource_variable,
    series,
    stage_variable,
    stream_variable,
)
from flowgauge_boards.promql import FS, QUANTILE_NOTE, SUM_NOTE, q


def board() -> Board:
    b = Board(
        "flowgauge-stages",
        "flowgauge / Stages",
        "Time in stage, where the time goes (active, wait, blocked), WIP against limits and "
        "blocked items per stage (docs/dashboards.md).",
        [datasource_variable(), stream_variable(), stage_variable()],
    )
    b.add(*_time_in_stage(), *_wip())
    return b


def _time_in_stage() -> list[PanelBuilder]:
    """Where the time goes, per stage."""
    return [
        series(
            "Time in stage p85",
            "85th percentile of the time items completed in window spent in the stage (all "
            "visits added up), over the items that visited it." + QUANTILE_NOTE,
            [
                q(
                    "sum by (stream, stage) (flowgauge_stage_time_seconds"
                    f'{{{FS}, quantile="0.85"}})',
                    "{{stream}}/{{stage}}",
                )
            ],
            unit="s",
        ),
        bars(
            "Time in stage percentiles (now)",
            "Time in stage, p50 / p85 / p95, per stage." + QUANTILE_NOTE,
            q(
                f"sum by (stream, stage, quantile) (flowgauge_stage_time_seconds{{{FS}}})",
                "{{stage}} p{{quantile}}",
                instant=True,
            ),
            unit="s",
        ),
        bars(
            "Active / wait / blocked time by stage (now)",
            "Seconds that items completed in window spent in the stage, split by kind: blocked "
            "if the item was blocked, else active in an active stage, else wait. Sums over "
            "items, so they show where the time goes." + SUM_NOTE,
            q(
                f"sum by (stream, stage, kind) (flowgauge_stage_seconds{{{FS}}})",
                "{{stage}} {{kind}}",
                instant=True,
            ),
            unit="s",
        ),
        series(
            "Blocked share of stage time",
            "Blocked seconds / all seconds spent in the stage by items completed in window."
            + SUM_NOTE,
            [
                q(
                    f'sum by (stream, stage) (flowgauge_stage_seconds{{{FS}, kind="blocked"}})'
                    f" / sum by (stream, stage) (flowgauge_stage_seconds{{{FS}}})",
                    "{{stream}}/{{stage}}",
                )
            ],
            unit="percentunit",
        ),
    ]


def _wip() -> list[PanelBuilder]:
    """Work in progress and blocked items per stage."""
    return [
        series(
            "WIP against WIP limits",
            "Items in each stage (solid) and the stage's configured `wip_limit` (dashed). The "
            "limit is read from the bottleneck signal's numbers "
            '(`flowgauge_stage_signal_value{signal="wip_limit", measure="limit"}`, from the '
            "stream's one worker, so `sum by`); a stage without a limit has no dashed line."
            + SUM_NOTE,
            [
                q(f"sum by (stream, stage) (flowgauge_wip_items{{{FS}}})", "{{stage}}"),
                q(
                    "sum by (stream, stage) (flowgauge_stage_signal_value"
                    f'{{{FS}, signal="wip_limit", measure="limit"}})',
                    "{{stage}} limit",
                ),
            ],
            dashed=".* limit$",
        ),
        series(
            "Blocked items by stage",
            "In-progress items blocked now, per stage, stacked." + SUM_NOTE,
            [
                q(
                    f"sum by (stream, stage) (flowgauge_blocked_items{{{FS}}})",
                    "{{stream}}/{{stage}}",
                )
            ],
            stacked=True,
        ),
    ]
