"""flowgauge's Grafana dashboards as code (grafana-foundation-sdk, Grafana 11 build).

Run `python grafana/generate.py` to rewrite `grafana/dashboards/*.json`, or
`python grafana/generate.py --check` to fail when the committed JSON differs from a fresh build
(the unit test `tests/unit/test_deploy_files.py` does the same). This module is not part of the
`flowgauge` package: the worker never imports it and the SDK is a dev dependency only.

How the queries read a deployment with several workers: each worker exposes the gauges of the
items on the partitions it holds, so counts and sums are added across workers (`sum by`).
Quantiles are not additive (the p85 of a union is not the sum, nor the mean, of the parts'
p85s): they are read with `max by`, an upper bound of the stream's quantile that is exact when
one worker holds the stream. Rework and defect ratios are rebuilt exactly from the per-worker
ratios weighted by the per-worker throughput (their common denominator). docs/dashboards.md
explains every panel.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    prometheus,
    stat,
    statetimeline,
    table,
    text,
    timeseries,
)
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import prometheus as prometheus_models
from grafana_foundation_sdk.models import text as text_models

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # beside this file, however it is loaded (tests load it by path)
import value_stream_map  # noqa: E402

OUT = HERE / "dashboards"
DATASOURCE = dashboard_models.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["flowgauge"]

F = 'stream=~"$stream"'
FS = 'stream=~"$stream", stage=~"$stage"'
SV = 'service=~"$service"'

QUANTILE_NOTE = (
    " Quantiles cannot be added across workers (the p85 of a union is not a sum or mean of "
    "per-worker p85s), so this panel takes `max by` over workers: exact when one worker holds "
    "the stream's partitions, otherwise an upper bound of the stream's quantile."
)
SUM_NOTE = " Summed across workers (each exposes only the partitions it holds)."


# -- queries and panels -------------------------------------------------------------------------


def q(expr: str, legend: str = "__auto", *, instant: bool = False) -> prometheus.Dataquery:
    """One PromQL target; `ref_id` is set by `Board.add` in order."""
    query = prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)
    if instant:
        query = query.instant().format(prometheus_models.PromQueryFormat.TABLE)
    else:
        query = query.range()
    return query


PanelBuilder = cogbuilder.Builder[dashboard_models.Panel]


def series(
    title: str,
    description: str,
    targets: list[prometheus.Dataquery],
    *,
    unit: str = "short",
    stacked: bool = False,
    width: int = 12,
    height: int = 8,
    dashed: str | None = None,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .line_width(1)
        .fill_opacity(60 if stacked else 10)
        .legend(
            common.VizLegendOptions()
            .display_mode(common_models.LegendDisplayMode.LIST)
            .placement(common_models.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common.VizTooltipOptions()
            .mode(common_models.TooltipDisplayMode.MULTI)
            .sort(common_models.SortOrder.DESCENDING)
        )
    )
    if stacked:
        panel = panel.stacking(
            common.StackingConfig().mode(common_models.StackingMode.NORMAL).group("A")
        )
    if dashed is not None:
        panel = panel.override_by_regexp(
            dashed,
            [
                dashboard_models.DynamicConfigValue(
                    id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}
                ),
                dashboard_models.DynamicConfigValue(
                    id_val="custom.stacking", value={"mode": "none", "group": "A"}
                ),
                dashboard_models.DynamicConfigValue(id_val="custom.fillOpacity", value=0),
                dashboard_models.DynamicConfigValue(id_val="custom.lineWidth", value=2),
            ],
        )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def single(
    title: str,
    description: str,
    target: prometheus.Dataquery,
    *,
    unit: str = "short",
    width: int = 4,
    height: int = 4,
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .graph_mode(common_models.BigValueGraphMode.AREA)
        .color_mode(common_models.BigValueColorMode.VALUE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(target)
    )


def bars(
    title: str,
    description: str,
    target: prometheus.Dataquery,
    *,
    unit: str = "short",
    width: int = 12,
    height: int = 8,
) -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .display_mode(common_models.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(target)
    )


def states(
    title: str,
    description: str,
    target: prometheus.Dataquery,
    *,
    on_text: str,
    width: int = 12,
    height: int = 8,
) -> statetimeline.Panel:
    mapping = dashboard_models.ValueMap(
        options={
            "0": dashboard_models.ValueMappingResult(text="-", color="transparent", index=0),
            "1": dashboard_models.ValueMappingResult(text=on_text, color="red", index=1),
        }
    )
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(height)
        .show_value(common_models.VisibilityMode.NEVER)
        .merge_values(True)
        .mappings([mapping])
        .with_target(target)
    )


def listing(
    title: str,
    description: str,
    target: prometheus.Dataquery,
    *,
    width: int = 24,
    height: int = 8,
) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(height)
        .with_target(target)
    )


def note(
    title: str, description: str, content: str, *, width: int = 12, height: int = 8
) -> text.Panel:
    return (
        text.Panel()
        .title(title)
        .description(description)
        .span(width)
        .height(height)
        .mode(text_models.TextMode.MARKDOWN)
        .content(content)
    )


# -- variables ----------------------------------------------------------------------------------


def datasource_variable() -> dashboard.DatasourceVariable:
    return dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def query_variable(name: str, label: str, query: str) -> dashboard.QueryVariable:
    """A multi-value label selector; "All" is the regex `.*` (queries use `=~`)."""
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dashboard_models.VariableOption(text="All", value="$__all", selected=True))
    )


def stream_variable() -> dashboard.QueryVariable:
    return query_variable(
        "stream", "Value stream", "label_values(flowgauge_throughput_items, stream)"
    )


def stage_variable() -> dashboard.QueryVariable:
    return query_variable(
        "stage", "Stage", 'label_values(flowgauge_wip_items{stream=~"$stream"}, stage)'
    )


def service_variable() -> dashboard.QueryVariable:
    return query_variable(
        "service", "Service", "label_values(flowgauge_dora_deployment_frequency_per_day, service)"
    )


# -- boards -------------------------------------------------------------------------------------


@dataclass
class Board:
    """A dashboard under construction: panel ids and target ref ids assigned in order."""

    uid: str
    title: str
    description: str
    variables: list[cogbuilder.Builder[dashboard_models.VariableModel]]
    panels: list[PanelBuilder] = field(default_factory=list)

    def add(self, *panels: PanelBuilder) -> None:
        self.panels.extend(panels)

    def build(self) -> dashboard_models.Dashboard:
        board = (
            dashboard.Dashboard(self.title)
            .uid(self.uid)
            .description(self.description)
            .tags(TAGS)
            .editable()
            .refresh("30s")
            .time("now-6h", "now")
            .timezone("browser")
            .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
            .link(
                dashboard.DashboardLink("flowgauge boards")
                .type(dashboard_models.DashboardLinkType.DASHBOARDS)
                .tags(TAGS)
                .as_dropdown(True)
                .include_vars(True)
                .keep_time(True)
            )
        )
        for variable in self.variables:
            board = board.with_variable(variable)
        for number, panel in enumerate(self.panels, start=1):
            board = board.with_panel(panel.id(number))  # type: ignore[attr-defined]
        built = board.build()
        for panel_model in built.panels or []:
            targets = getattr(panel_model, "targets", None) or []
            for index, target in enumerate(targets):
                target.ref_id = chr(ord("A") + index)
        return built


def flow_overview() -> Board:
    b = Board(
        "flowgauge-flow",
        "flowgauge / Flow overview",
        "Work in progress, throughput, lead and cycle time, flow efficiency, rework and defects "
        "per value stream (docs/dashboards.md).",
        [datasource_variable(), stream_variable()],
    )
    b.add(
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
            q(f'max(flowgauge_lead_time_seconds{{{F}, quantile="0.85"}})', "lead p85"),
            unit="s",
        ),
        single(
            "Cycle time p85",
            "85th percentile of completed_at - started_at over started items completed in window; "
            "the highest over the selected streams." + QUANTILE_NOTE,
            q(f'max(flowgauge_cycle_time_seconds{{{F}, quantile="0.85"}})', "cycle p85"),
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
            "completed_at, over items completed in window (a ratio of sums). Combined across "
            "workers as the per-worker ratios weighted by per-worker throughput: exact with one "
            "worker per stream; with several it weights by items, not by time (flowgauge does "
            "not expose the time sums the ratio is made of).",
            [
                q(
                    f"sum by (stream) (flowgauge_flow_efficiency_ratio{{{F}}}"
                    f" * flowgauge_throughput_items{{{F}}})"
                    f" / sum by (stream) (flowgauge_throughput_items{{{F}}}"
                    f" and flowgauge_flow_efficiency_ratio{{{F}}})",
                    "{{stream}}",
                )
            ],
            unit="percentunit",
        ),
        series(
            "Lead time percentiles",
            "completed_at - created_at over items completed in window, per quantile (0.5, 0.85, "
            "0.95)." + QUANTILE_NOTE,
            [
                q(
                    f"max by (stream, quantile) (flowgauge_lead_time_seconds{{{F}}})",
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
                    f"max by (stream, quantile) (flowgauge_cycle_time_seconds{{{F}}})",
                    "{{stream}} p{{quantile}}",
                )
            ],
            unit="s",
        ),
        series(
            "Rework and defect ratios",
            "Rework: share of items completed in window that ever moved to an earlier stage (a "
            "reopen counts). Defects: share of items completed in window of a configured defect "
            "type. Each worker's ratio times its throughput is its count, so the sums rebuild "
            "the stream's ratio exactly across any number of workers.",
            [
                q(
                    f"sum by (stream) (flowgauge_rework_ratio{{{F}}}"
                    f" * flowgauge_throughput_items{{{F}}})"
                    f" / sum by (stream) (flowgauge_throughput_items{{{F}}}"
                    f" and flowgauge_rework_ratio{{{F}}})",
                    "{{stream}} rework",
                ),
                q(
                    f"sum by (stream) (flowgauge_defect_ratio{{{F}}}"
                    f" * flowgauge_throughput_items{{{F}}})"
                    f" / sum by (stream) (flowgauge_throughput_items{{{F}}}"
                    f" and flowgauge_defect_ratio{{{F}}})",
                    "{{stream}} defects",
                ),
            ],
            unit="percentunit",
            width=24,
        ),
    )
    return b


def stages() -> Board:
    b = Board(
        "flowgauge-stages",
        "flowgauge / Stages",
        "Time in stage, where the time goes (active, wait, blocked), WIP against limits and "
        "blocked items per stage (docs/dashboards.md).",
        [datasource_variable(), stream_variable(), stage_variable()],
    )
    b.add(
        series(
            "Time in stage p85",
            "85th percentile of the time items completed in window spent in the stage (all "
            "visits added up), over the items that visited it." + QUANTILE_NOTE,
            [
                q(
                    "max by (stream, stage) (flowgauge_stage_time_seconds"
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
                f"max by (stream, stage, quantile) (flowgauge_stage_time_seconds{{{FS}}})",
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
        series(
            "WIP against WIP limits",
            "Items in each stage (solid) and the stage's configured `wip_limit` (dashed). The "
            "limit is read from the bottleneck signal's numbers "
            '(`flowgauge_stage_signal_value{signal="wip_limit", measure="limit"}`, the same '
            "on every worker, so `max by`); a stage without a limit has no dashed line." + SUM_NOTE,
            [
                q(f"sum by (stream, stage) (flowgauge_wip_items{{{FS}}})", "{{stage}}"),
                q(
                    "max by (stream, stage) (flowgauge_stage_signal_value"
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
    )
    return b


def aging() -> Board:
    b = Board(
        "flowgauge-aging",
        "flowgauge / Aging WIP",
        "Age of the work in progress per stage against the service level expectation, and the "
        "items past it (docs/dashboards.md).",
        [datasource_variable(), stream_variable(), stage_variable()],
    )
    b.add(
        series(
            "Work item age p85 by stage, against the SLE",
            "85th percentile of the age of in-progress items (now - started_at; now - created_at "
            "for items not started) per current stage (solid), and the SLE the stage's aging "
            "signal uses (dashed: the stage's own SLE if configured, else the stream's `sle`; "
            'from `flowgauge_stage_signal_value{signal="aging", measure="sle_seconds"}`).'
            + QUANTILE_NOTE,
            [
                q(
                    "max by (stream, stage) (flowgauge_work_item_age_seconds"
                    f'{{{FS}, quantile="0.85"}})',
                    "{{stage}} p85",
                ),
                q(
                    "max by (stream, stage) (flowgauge_stage_signal_value"
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
                f"max by (stream, stage, quantile) (flowgauge_work_item_age_seconds{{{FS}}})",
                "{{stage}} p{{quantile}}",
                instant=True,
            ),
            unit="s",
        ),
        series(
            "Oldest item by stage",
            "Age of the oldest in-progress item per stage (quantile 1). The oldest of the "
            "stream is the largest over workers, so `max by` is exact here.",
            [
                q(
                    "max by (stream, stage) (flowgauge_work_item_age_seconds"
                    f'{{{FS}, quantile="1"}})',
                    "{{stream}}/{{stage}}",
                )
            ],
            unit="s",
        ),
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
    )
    return b


def dora() -> Board:
    b = Board(
        "flowgauge-dora",
        "flowgauge / DORA",
        "The four keys per service, from deployment and incident events to production "
        "environments (docs/dora.md, docs/dashboards.md).",
        [datasource_variable(), service_variable()],
    )
    one_worker = (
        " A service's DORA events live on one partition, so one worker exposes it; `max by` "
        "keeps a handover during a rebalance from counting it twice."
    )
    b.add(
        single(
            "Deployment frequency (per day)",
            "Successful production deployments in the DORA window / window length in days, per "
            "service." + SUM_NOTE,
            q(
                f"sum by (service) (flowgauge_dora_deployment_frequency_per_day{{{SV}}})",
                "{{service}}",
            ),
            width=6,
        ),
        single(
            "Lead time for changes p50",
            "Median of commit time to first successful production deployment, over changes "
            "first deployed in window." + QUANTILE_NOTE + one_worker,
            q(
                "max by (service) (flowgauge_dora_lead_time_for_changes_seconds"
                f'{{{SV}, quantile="0.5"}})',
                "{{service}}",
            ),
            unit="s",
            width=6,
        ),
        single(
            "Change failure ratio",
            "Successful production deployments in window that an incident is linked to / "
            "successful production deployments in window. A ratio cannot be summed across "
            "workers." + one_worker,
            q(f"max by (service) (flowgauge_dora_change_failure_ratio{{{SV}}})", "{{service}}"),
            unit="percentunit",
            width=6,
        ),
        single(
            "Time to restore p50",
            "Median of resolved_at - opened_at over incidents resolved in window."
            + QUANTILE_NOTE
            + one_worker,
            q(
                "max by (service) (flowgauge_dora_time_to_restore_seconds"
                f'{{{SV}, quantile="0.5"}})',
                "{{service}}",
            ),
            unit="s",
            width=6,
        ),
        series(
            "Deployment frequency",
            "Successful production deployments per day over the DORA window, per service."
            + SUM_NOTE,
            [
                q(
                    f"sum by (service) (flowgauge_dora_deployment_frequency_per_day{{{SV}}})",
                    "{{service}}",
                )
            ],
        ),
        series(
            "Lead time for changes",
            "Commit to first successful production deployment, p50 / p85 / p95 per service."
            + QUANTILE_NOTE
            + one_worker,
            [
                q(
                    "max by (service, quantile) "
                    f"(flowgauge_dora_lead_time_for_changes_seconds{{{SV}}})",
                    "{{service}} p{{quantile}}",
                )
            ],
            unit="s",
        ),
        series(
            "Change failure ratio",
            "Share of successful production deployments in window with a linked incident."
            + one_worker,
            [q(f"max by (service) (flowgauge_dora_change_failure_ratio{{{SV}}})", "{{service}}")],
            unit="percentunit",
        ),
        series(
            "Time to restore",
            "Incident opened to resolved, p50 / p85 / p95 per service, incidents resolved in "
            "window." + QUANTILE_NOTE + one_worker,
            [
                q(
                    f"max by (service, quantile) (flowgauge_dora_time_to_restore_seconds{{{SV}}})",
                    "{{service}} p{{quantile}}",
                )
            ],
            unit="s",
        ),
        series(
            "Data quality: unlinked incidents, deployments without change times",
            "Incidents that name no deployment (they count for time to restore, not for the "
            "change failure ratio) and production deployments in window that carry no change "
            "with a commit time (no lead time for changes). High numbers mean the DORA keys "
            "see less than happened; docs/dora.md." + SUM_NOTE,
            [
                q(
                    f"sum by (service) (flowgauge_dora_unlinked_incidents{{{SV}}})",
                    "{{service}} unlinked incidents",
                ),
                q(
                    f"sum by (service) (flowgauge_dora_deployments_without_change_times{{{SV}}})",
                    "{{service}} deployments without change times",
                ),
            ],
            width=24,
        ),
    )
    return b


def bottlenecks() -> Board:
    b = Board(
        "flowgauge-bottlenecks",
        "flowgauge / Bottlenecks",
        "Where work accumulates and waits: each stage's signals, its score, the stream's "
        "bottleneck and the firing alerts (docs/bottlenecks.md, docs/dashboards.md).",
        [datasource_variable(), stream_variable()],
    )
    per_worker = (
        " Signals and scores are computed by each worker over its own partitions; `max by` "
        "shows a signal if it holds on any worker (as the recording rules in "
        "deploy/prometheus/rules do)."
    )
    b.add(
        states(
            "Bottleneck stage over time",
            "`flowgauge_bottleneck`: 1 for the stream's highest-scoring stage (score > 0)."
            + per_worker,
            q(f"max by (stream, stage) (flowgauge_bottleneck{{{F}}})", "{{stream}}/{{stage}}"),
            on_text="bottleneck",
            width=24,
        ),
        series(
            "Bottleneck score by stage",
            "`flowgauge_bottleneck_score`: pile-up signals firing for the stage plus its share "
            "of the stream's WIP (0 if none)." + per_worker,
            [
                q(
                    f"max by (stream, stage) (flowgauge_bottleneck_score{{{F}}})",
                    "{{stream}}/{{stage}}",
                )
            ],
        ),
        bars(
            "Signals firing per stage (now)",
            "How many of the four signals (wip_limit, aging, accumulating, out_of_limits) hold "
            "for each stage." + per_worker,
            q(
                "sum by (stream, stage) (max by (stream, stage, signal) "
                f"(flowgauge_stage_signal{{{F}}}))",
                "{{stream}}/{{stage}}",
                instant=True,
            ),
        ),
        states(
            "Stage signals",
            "`flowgauge_stage_signal`: each stage's signals over time: WIP above its limit "
            "(wip_limit), items older than the SLE (aging), arrivals outrunning departures "
            "(accumulating), a value outside its natural process limits (out_of_limits)."
            + per_worker,
            q(
                f"max by (stream, stage, signal) (flowgauge_stage_signal{{{F}}})",
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
    )
    return b


LAG_DESCRIPTION = (
    "flowgauge exposes no consumer-lag metric of its own. This panel reads "
    "`kafka_consumergroup_lag` from kafka_exporter (github.com/danielqsj/kafka_exporter), which "
    "is not part of flowgauge's stack: scrape one next to your brokers and this panel shows the "
    "lag of the flowgauge consumer group (the topic prefix, `flowgauge` by default); without it "
    "the panel stays empty. docs/dashboards.md."
)
DELAY_DESCRIPTION = (
    "No metric measures event-to-gauge delay today: the worker does not expose the time between "
    "an event's arrival at the ingester and its effect on /metrics. docs/dashboards.md."
)


def pipeline() -> Board:
    b = Board(
        "flowgauge-pipeline",
        "flowgauge / Pipeline health",
        "Webhooks in, deliveries normalized, dead letters, events applied, worker readiness "
        "(docs/dashboards.md).",
        [datasource_variable()],
    )
    b.add(
        single(
            "Ready workers",
            "Workers that have recovered their state and are consuming (`flowgauge_worker_ready`).",
            q("sum(flowgauge_worker_ready)", "ready"),
            width=6,
        ),
        single(
            "Scrape targets up",
            "Prometheus scrape targets of jobs named `flowgauge*` (the compose stack's jobs "
            "flowgauge-ingest and flowgauge-worker) that answered the last scrape.",
            q('sum(up{job=~"flowgauge.*"})', "up"),
            width=6,
        ),
        single(
            "Webhooks refused (1h)",
            "Webhook requests of the last hour refused with unauthorized (401), invalid (400), "
            "too_large (413) or unavailable (503), all ingesters.",
            q(
                "sum(increase(flowgauge_webhooks_total"
                '{outcome=~"unauthorized|invalid|too_large|unavailable"}[1h]))',
                "refused",
            ),
            width=6,
        ),
        single(
            "Dead letters (1h)",
            "Deliveries the workers sent to the dead-letter topic in the last hour.",
            q("sum(increase(flowgauge_dead_letters_total[1h]))", "dead letters"),
            width=6,
        ),
        series(
            "Webhooks by source and outcome",
            "Requests per second at the ingesters (`flowgauge_webhooks_total`), by source and "
            "outcome: accepted, ignored, unauthorized, invalid, too_large, unavailable." + SUM_NOTE,
            [
                q(
                    "sum by (source, outcome) (rate(flowgauge_webhooks_total[$__rate_interval]))",
                    "{{source}} {{outcome}}",
                )
            ],
            unit="reqps",
        ),
        series(
            "Deliveries normalized by source and outcome",
            "Raw deliveries the workers normalized per second (`flowgauge_deliveries_total`): "
            "normalized, ignored, unrouted (no stream matched), dead_letter." + SUM_NOTE,
            [
                q(
                    "sum by (source, outcome) (rate(flowgauge_deliveries_total[$__rate_interval]))",
                    "{{source}} {{outcome}}",
                )
            ],
            unit="ops",
        ),
        series(
            "Dead letters",
            "What went to the dead-letter topic per interval: deliveries the workers could not "
            "normalize (`flowgauge_dead_letters_total`, by source; `raw` and `events` are "
            "records that could not be decoded) and requests the ingesters refused as invalid "
            "(400, stored on the dead-letter topic with the reason)." + SUM_NOTE,
            [
                q(
                    "sum by (source) (increase(flowgauge_dead_letters_total[$__rate_interval]))",
                    "worker: {{source}}",
                ),
                q(
                    "sum by (source) (increase(flowgauge_webhooks_total"
                    '{outcome="invalid"}[$__rate_interval]))',
                    "ingester invalid: {{source}}",
                ),
            ],
        ),
        series(
            "Events applied and duplicate",
            "Canonical events consumed per second (`flowgauge_events_total`): applied (changed "
            "an item's timeline) or duplicate (already there: a redelivery, counted once)."
            + SUM_NOTE,
            [
                q(
                    "sum by (outcome) (rate(flowgauge_events_total[$__rate_interval]))",
                    "{{outcome}}",
                )
            ],
            unit="ops",
        ),
        series(
            "Ingester spool",
            "Deliveries an ingester accepted (202) while the broker was away, kept in its local "
            "spool until they are on the broker (`flowgauge_spool_depth_records`, summed over "
            "ingesters), and the age of the oldest (`flowgauge_spool_oldest_age_seconds`, max "
            "over ingesters; 0 when empty). A growing spool means the broker is unreachable.",
            [
                q("sum(flowgauge_spool_depth_records)", "spooled deliveries"),
                q("max(flowgauge_spool_oldest_age_seconds)", "oldest (s)"),
            ],
        ),
        series(
            "Worker readiness",
            "`flowgauge_worker_ready` per worker: 1 once recovered and consuming, 0 while it "
            "recovers its table after a start or a rebalance.",
            [q("max by (instance) (flowgauge_worker_ready)", "{{instance}}")],
        ),
        series(
            "Messages re-read after offset gaps",
            "Messages a worker re-read because no agent had absorbed their offsets "
            "(`flowgauge_reread_messages_total`, by topic role). Empty or 0 in normal "
            "operation." + SUM_NOTE,
            [
                q(
                    "sum by (role) (rate(flowgauge_reread_messages_total[$__rate_interval]))",
                    "{{role}}",
                )
            ],
            unit="ops",
        ),
        series(
            "Consumer lag (kafka_exporter)",
            LAG_DESCRIPTION,
            [
                q(
                    "sum by (consumergroup, topic) "
                    '(kafka_consumergroup_lag{topic=~".*-(raw|events)"})',
                    "{{consumergroup}} {{topic}}",
                )
            ],
        ),
        note(
            "Event-to-gauge delay",
            DELAY_DESCRIPTION,
            "**No metric exists for event-to-gauge delay.** flowgauge does not yet measure the "
            "time from a webhook's arrival to its effect on the gauges, and this board does not "
            "invent one. The readiness and events panels show whether events are flowing; "
            "docs/dashboards.md lists what is missing.",
        ),
    )
    return b


BOARDS: dict[str, Callable[[], Board]] = {
    "flow-overview.json": flow_overview,
    "stages.json": stages,
    "aging-wip.json": aging,
    "dora.json": dora,
    "bottlenecks.json": bottlenecks,
    "pipeline-health.json": pipeline,
}


def render(board: Board) -> str:
    """Stable JSON: sorted keys, two-space indent, a final newline."""
    return (
        json.dumps(json.loads(JSONEncoder().encode(board.build())), sort_keys=True, indent=2) + "\n"
    )


def build_all() -> dict[str, str]:
    """File name -> JSON text of every board (the value stream map: grafana/value_stream_map.py)."""
    built = {name: render(make()) for name, make in BOARDS.items()}
    built[value_stream_map.FILE] = value_stream_map.render_json()
    return built


def stale(out: Path = OUT) -> list[str]:
    """Files under `out` that differ from a fresh build (missing, changed, or extra)."""
    fresh = build_all()
    problems = [n for n, t in fresh.items() if not (out / n).exists() or (out / n).read_text() != t]
    problems += sorted(p.name for p in out.glob("*.json") if p.name not in fresh)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for name in problems:
            print(f"stale: grafana/dashboards/{name} (run python grafana/generate.py)")
        return 1 if problems else 0
    OUT.mkdir(exist_ok=True)
    for name, content in build_all().items():
        (OUT / name).write_text(content)
        print(f"wrote grafana/dashboards/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
