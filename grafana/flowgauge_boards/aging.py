"""Aging WIP board: the age of the work in progress per stage against the SLE
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
        "flowgauge-aging",
        "flowgauge / Aging WIP",
        "Age of the work in progress per stage against the service level expectation, and the "
        "items past it (docs/dashboards.md).",
        [datasource_variable(), stream_variable(), stage_variable()],
    )
    b.add(*_age(), *_breaches())
    return b


def _age() -> list[PanelBuilder]:
    """How old the work in progress is, per stage."""
    return [
        series(
            "Work item age p85 by stage, against the SLE",
            "85th percentile of the age of in-progress items (now - started_at; now - created_at "
            "for items not started) per current stage (solid), and the SLE the stage's aging "
            "signal uses (dashed: the stage's own SLE if configured, else the stream's `sle`; "
            'from `flowgauge_stage_signal_value{signal="aging", measure="sle_seconds"}`).'
            + QUANTILE_NOTE,
            [
                q(
                    "sum by (stream, stage) (flowgauge_work_item_age_seconds"
                    f'{{{FS}, quantile="0.85"}})',
                    "{{stage}} p85",
                ),
                q(
                    "sum by (stream, stage) (flowgauge_stage_signal_value"
                    f'{{{FS}, signal="aging", measure="sle_seconds"}})',
                    "{{stage}} SLE",
                ),
            ],
            unit="s",
            width=24,
            height=10,
            dashed=".* SLE$",
        ),
        bars(
            "Age percentiles by stage (now)",
            "Work item age p50 / p85 / p95 and the oldest item (quantile 1) per stage."
            + QUANTILE_NOTE,
            q(
                f"sum by (stream, stage, quantile) (flowgauge_work_item_age_seconds{{{FS}}})",
                "{{stage}} p{{quantile}}",
                instant=True,
            ),
            unit="s",
        ),
        series(
            "Oldest item by stage",
            "Age of the oldest in-progress item per stage (quantile 1). The oldest of the "
            "stream comes from the one worker that holds the stream, so `sum by` is exact.",
            [
                q(
                    "sum by (stream, stage) (flowgauge_work_item_age_seconds"
                    f'{{{FS}, quantile="1"}})',
                    "{{stream}}/{{stage}}",
                )
            ],
            unit="s",
        ),
    ]


def _breaches() -> list[PanelBuilder]:
    """The items past their SLE."""
    return [
        series(
            "SLE breaches by stage",
            "Started, in-progress items older than the stream's SLE, by current stage, "
            "stacked." + SUM_NOTE,
            [
                q(
                    f"sum by (stream, stage) (flowgauge_sle_breach_items{{{FS}}})",
                    "{{stream}}/{{stage}}",
                )
            ],
            stacked=True,
        ),
        series(
            "Items in stage longer than its SLE",
            "Items that have been in the stage itself longer than the stage's SLE (the aging "
            'bottleneck signal\'s count, `flowgauge_stage_signal_value{signal="aging", '
            'measure="items"}`); differs from SLE breaches, which compare the item\'s whole '
            "age with the stream's SLE." + SUM_NOTE,
            [
                q(
                    "sum by (stream, stage) (flowgauge_stage_signal_value"
                    f'{{{FS}, signal="aging", measure="items"}})',
                    "{{stream}}/{{stage}}",
                )
            ],
        ),
    ]
