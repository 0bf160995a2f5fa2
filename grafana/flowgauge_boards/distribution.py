"""Handoffs, blocked reasons and flow distribution board: where the work goes, who passes it
on, and what it waits for (METRICS.md, "Handoffs, blocked reasons, distribution";
docs/dashboards.md)."""

from __future__ import annotations

from flowgauge_boards.panels import (
    Board,
    PanelBuilder,
    bars,
    datasource_variable,
    series,
    stream_variable,
)
from flowgauge_boards.promql import QUANTILE_NOTE, SUM_NOTE, F, q

THROUGHPUT = "flowgauge_distribution_throughput_items"
WIP = "flowgauge_distribution_wip_items"
OTHER_NOTE = (
    " Values come from the tools: per stream and dimension the 50 largest, the rest under "
    "`other` (docs/metrics.md)."
)


def board() -> Board:
    b = Board(
        "flowgauge-distribution",
        "flowgauge / Handoffs, blocked reasons, distribution",
        "Handoffs per item, blocked time and items by reason, and the flow distribution by "
        "item type, team and parent, with the share of defects versus features over time "
        "(docs/dashboards.md).",
        [datasource_variable(), stream_variable()],
    )
    b.add(*_distribution(), *_handoffs(), *_blocked())
    return b


def _share_by_type() -> str:
    """Each item type's share of the throughput in window (defects, features, ...)."""
    return (
        f'sum by (stream, value) ({THROUGHPUT}{{{F}, dimension="item_type"}})'
        " / on (stream) group_left"
        f' sum by (stream) ({THROUGHPUT}{{{F}, dimension="item_type"}})'
    )


def _distribution() -> list[PanelBuilder]:
    """What the flow delivers and holds: by type over time, by team and parent now."""
    return [
        series(
            "Share of defects vs features (throughput in window)",
            "Of the items completed in the stream's window, the share of each item type "
            "(bug / defect versus feature, story, ...), stacked to 100 %, over time." + SUM_NOTE,
            [q(_share_by_type(), "{{stream}} {{value}}")],
            unit="percentunit",
            stacked=True,
            width=24,
        ),
        bars(
            "Throughput by team (in window)",
            "Items completed in window by the team that held them last (`none`: no team)."
            + SUM_NOTE
            + OTHER_NOTE,
            q(
                f'sum by (stream, value) ({THROUGHPUT}{{{F}, dimension="team"}})',
                "{{stream}} {{value}}",
                instant=True,
            ),
        ),
        bars(
            "Started WIP by parent (now)",
            "Started, in-progress items by their epic or initiative (`none`: no parent)."
            + SUM_NOTE
            + OTHER_NOTE,
            q(
                f'sum by (stream, value) ({WIP}{{{F}, dimension="parent"}})',
                "{{stream}} {{value}}",
                instant=True,
            ),
        ),
        series(
            "Started WIP by item type",
            "Started, in-progress items by item type, stacked." + SUM_NOTE,
            [
                q(
                    f'sum by (stream, value) ({WIP}{{{F}, dimension="item_type"}})',
                    "{{stream}} {{value}}",
                )
            ],
            stacked=True,
        ),
        series(
            "Started WIP by team",
            "Started, in-progress items by team, stacked." + SUM_NOTE + OTHER_NOTE,
            [
                q(
                    f'sum by (stream, value) ({WIP}{{{F}, dimension="team"}})',
                    "{{stream}} {{value}}",
                )
            ],
            stacked=True,
        ),
    ]


def _handoffs() -> list[PanelBuilder]:
    return [
        series(
            "Handoffs per item p85",
            "85th percentile of the changes of holder (assignee, team) between started_at and "
            "completed_at, over items completed in window: A -> none -> B is one handoff."
            + QUANTILE_NOTE,
            [
                q(
                    f'sum by (stream, kind) (flowgauge_handoffs_per_item{{{F}, quantile="0.85"}})',
                    "{{stream}} {{kind}}",
                )
            ],
        ),
        bars(
            "Handoffs per item percentiles (now)",
            "Handoffs per item, p50 / p85 / p95, by kind." + QUANTILE_NOTE,
            q(
                f"sum by (stream, kind, quantile) (flowgauge_handoffs_per_item{{{F}}})",
                "{{stream}} {{kind}} p{{quantile}}",
                instant=True,
            ),
        ),
    ]


def _blocked() -> list[PanelBuilder]:
    return [
        bars(
            "Blocked time by reason (in window)",
            "Seconds items completed in window were blocked, by reason (dependency, flag, "
            "label, ...; an instant blocked for two reasons counts under both)."
            + SUM_NOTE
            + OTHER_NOTE,
            q(
                f"sum by (stream, reason) (flowgauge_blocked_reason_seconds{{{F}}})",
                "{{stream}} {{reason}}",
                instant=True,
            ),
            unit="s",
        ),
        series(
            "Blocked items by reason",
            "In-progress items blocked now, by reason, stacked (an item blocked for two reasons "
            "is in both)." + SUM_NOTE + OTHER_NOTE,
            [
                q(
                    f"sum by (stream, reason) (flowgauge_blocked_reason_items{{{F}}})",
                    "{{stream}} {{reason}}",
                )
            ],
            stacked=True,
        ),
    ]
