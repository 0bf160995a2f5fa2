"""The panel, variable and board builders the seven boards are made of (Grafana 11 panel types)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import text as text_models

from flowgauge_boards.promql import DATASOURCE

TAGS = ["flowgauge"]

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
