"""The value stream map board: one Canvas panel, the stages left to right, the bottleneck coloured.

Grafana's metrics carry no stage order (labels are unordered), so the map is laid out at
generation time from a value-stream config: by default flowgauge's built-in one, which is what
the compose stack runs; `FLOWGAUGE_CONFIG=my.yaml python grafana/generate.py` lays out your own
stages (the committed board must stay the built-in's: tests/unit/test_deploy_files.py compares).

Each non-done stage is a box (background from `flowgauge_bottleneck`: orange for the bottleneck)
with its WIP (against the configured limit), its time in stage p85 and
its flow efficiency (its active share of the time the window's completed items spent in it);
the done stage shows the throughput. Boxes are joined by arrows in config order. Every query
sums across workers: each series comes from exactly one worker.

Standalone on purpose (grafana/generate.py calls `render_json`): it imports only the SDK.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import canvas, common, dashboard, prometheus
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import canvas as canvas_models
from grafana_foundation_sdk.models import dashboard as dashboard_models

from flowgauge.model.config import FlowConfig
from flowgauge.model.loader import load_config

FILE = "value-stream-map.json"
UID = "flowgauge-vsm"
DATASOURCE = dashboard_models.DataSourceRef(type_val="prometheus", uid="${datasource}")
S = 'stream=~"$stream"'
BOX_W, BOX_H, GAP, TOP = 190, 150, 40, 10
ROWS = (  # (label, legend suffix, unit)
    ("WIP", "WIP", "short"),
    ("time in stage p85", "time in stage p85", "s"),
    ("flow efficiency", "efficiency", "percentunit"),
)
DESCRIPTION = (
    "The value stream map: each stage of the stream (left to right in config order) with its "
    "WIP (against the configured limit), its time in stage p85 and its flow efficiency "
    "(active share of the time completed items spent in it); each series comes from one "
    "worker, so the queries sum across workers. The "
    "bottleneck stage (`flowgauge_bottleneck`) is orange. The live page on the worker's port "
    "(`GET /`) shows the same map with charts; docs/page.md."
)


def _targets(stages: Sequence[tuple[str, str]]) -> list[prometheus.Dataquery]:
    queries: list[tuple[str, str]] = []
    for name, kind in stages:
        at = f'{S}, stage="{name}"'
        if kind == "done":
            queries.append((f"sum(flowgauge_throughput_items{{{S}}})", f"{name} completed"))
            continue
        queries += [
            (f"sum(flowgauge_wip_items{{{at}}})", f"{name} WIP"),
            (
                f'sum(flowgauge_stage_time_seconds{{{at}, quantile="0.85"}})',
                f"{name} time in stage p85",
            ),
            (
                f'sum(flowgauge_stage_seconds{{{at}, kind="active"}}) / '
                f"sum(flowgauge_stage_seconds{{{at}}})",
                f"{name} efficiency",
            ),
            (f"sum(flowgauge_bottleneck{{{at}}})", f"{name} bottleneck"),
        ]
    return [
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .datasource(DATASOURCE)
        .range()
        .ref_id(_ref(index))
        for index, (expr, legend) in enumerate(queries)
    ]


def _ref(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else "A" + chr(ord("A") + index - 26)


def _place(left: float, top: float, width: float, height: float) -> canvas.Placement:
    return canvas.Placement().left(left).top(top).width(width).height(height)


def _element(
    name: str, type_: str, config: dict[str, Any], placement: canvas.Placement
) -> canvas.CanvasElementOptions:
    return (
        canvas.CanvasElementOptions()
        .name(name)
        .type(type_)
        .config(config)
        .placement(placement)
        .constraint(
            canvas.Constraint()
            .horizontal(canvas_models.HorizontalConstraint.LEFT)
            .vertical(canvas_models.VerticalConstraint.TOP)
        )
    )


def _text(text: dict[str, str], size: int, align: str = "left") -> dict[str, Any]:
    return {
        "text": text,
        "color": {"fixed": "#1d2430"},
        "align": align,
        "valign": "middle",
        "size": size,
    }


def _stage_elements(
    index: int, name: str, kind: str, limit: int | None, following: str | None
) -> list[canvas.CanvasElementOptions]:
    """One stage's box, its title, its labelled values, and the arrow to the next stage."""
    left = 10 + index * (BOX_W + GAP)
    box = _element(
        name,
        "rectangle",
        _text({"mode": "fixed", "fixed": ""}, 12),
        _place(left, TOP, BOX_W, BOX_H),
    )
    box = box.background(
        canvas.BackgroundConfig().color(
            common.ColorDimensionConfig().fixed("#f4f6f8").field(f"{name} bottleneck")
        )
        if kind != "done"
        else canvas.BackgroundConfig().color(common.ColorDimensionConfig().fixed("#eaf2ea"))
    ).border(canvas.LineConfig().color(common.ColorDimensionConfig().fixed("#8a94a6")).width(1))
    if following is not None:
        box = box.connections(
            [
                canvas.CanvasConnection()
                .source(canvas.ConnectionCoordinates().x(1).y(0))
                .target(canvas.ConnectionCoordinates().x(-1).y(0))
                .target_name(following)
                .color(common.ColorDimensionConfig().fixed("#5b6575"))
                .size(common.ScaleDimensionConfig().fixed(2).min(1).max(10))
            ]
        )
    title = f"{name} ({kind})" + ("" if limit is None else f", WIP limit {limit}")
    out = [
        box,
        _element(
            f"{name} title",
            "text",
            _text({"mode": "fixed", "fixed": title}, 14, "center"),
            _place(left + 4, TOP + 4, BOX_W - 8, 26),
        ),
    ]
    rows = [("completed (window)", "completed", "short")] if kind == "done" else list(ROWS)
    for row, (label, suffix, _) in enumerate(rows):
        top = TOP + 36 + row * 36
        out.append(
            _element(
                f"{name} {suffix} label",
                "text",
                _text({"mode": "fixed", "fixed": label}, 11),
                _place(left + 6, top, BOX_W - 12, 16),
            )
        )
        out.append(
            _element(
                f"{name} {suffix} value",
                "metric-value",
                _text({"mode": "field", "field": f"{name} {suffix}", "fixed": ""}, 16, "right"),
                _place(left + 6, top + 14, BOX_W - 12, 20),
            )
        )
    return out


def _overrides(panel: canvas.Panel, stages: Sequence[tuple[str, str]]) -> canvas.Panel:
    for name, kind in stages:
        if kind == "done":
            continue
        for _, suffix, unit in ROWS:
            panel = panel.override_by_name(
                f"{name} {suffix}", [dashboard_models.DynamicConfigValue(id_val="unit", value=unit)]
            )
        panel = panel.override_by_name(
            f"{name} bottleneck",
            [
                dashboard_models.DynamicConfigValue(id_val="color", value={"mode": "thresholds"}),
                dashboard_models.DynamicConfigValue(
                    id_val="thresholds",
                    value={
                        "mode": "absolute",
                        "steps": [
                            {"color": "#f4f6f8", "value": None},
                            {"color": "orange", "value": 1},
                        ],
                    },
                ),
            ],
        )
    return panel


def board(config: FlowConfig | None = None) -> dashboard.Dashboard:
    """The board for the first stream's stage layout of `config` (default: the built-in)."""
    flow = config if config is not None else load_config(None)
    stream = flow.streams[0]
    stages = [(s.name, s.kind) for s in stream.stages]
    elements: list[cogbuilder.Builder[canvas_models.CanvasElementOptions]] = []
    for index, stage in enumerate(stream.stages):
        following = stages[index + 1][0] if index + 1 < len(stages) else None
        elements += _stage_elements(index, stage.name, stage.kind, stage.wip_limit, following)
    width = 10 + len(stages) * (BOX_W + GAP)
    panel = (
        canvas.Panel()
        .title("Value stream map")
        .description(DESCRIPTION)
        .datasource(DATASOURCE)
        .span(24)
        .height(max(8, (BOX_H + 2 * TOP) // 30 + 2))
        .inline_editing(False)
        .root(canvas.CanvasOptionsRoot().name(f"map of {width}px").elements(elements))
    )
    for target in _targets(stages):
        panel = panel.with_target(target)
    panel = _overrides(panel, stages)
    return (
        dashboard.Dashboard("flowgauge / Value stream map")
        .uid(UID)
        .description(
            "The stream's stages as a value stream map: WIP, time in stage, efficiency, and "
            "the bottleneck in colour (docs/dashboards.md, docs/page.md)."
        )
        .tags(["flowgauge"])
        .editable()
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .link(
            dashboard.DashboardLink("flowgauge boards")
            .type(dashboard_models.DashboardLinkType.DASHBOARDS)
            .tags(["flowgauge"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
        )
        .with_variable(
            dashboard.QueryVariable("stream")
            .label("Value stream")
            .datasource(DATASOURCE)
            .query("label_values(flowgauge_throughput_items, stream)")
            .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        )
        .with_panel(panel.id(1))
    )


def render_json(config: FlowConfig | None = None) -> str:
    """The board as generate.py writes every board: sorted keys, two-space indent."""
    encoded = json.loads(JSONEncoder().encode(board(config).build()))
    return json.dumps(encoded, sort_keys=True, indent=2) + "\n"


if __name__ == "__main__":
    import os
    import sys

    path = os.environ.get("FLOWGAUGE_CONFIG")
    text = render_json(load_config(Path(path)) if path else None)
    sys.stdout.write(text)
