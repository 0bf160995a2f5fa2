"""flowgauge's Grafana dashboards as code (grafana-foundation-sdk, Grafana 11 build).

`promql` holds the query helpers, `panels` the builders, and each board has its module; `build`
renders them to `grafana/dashboards/*.json` (`python grafana/generate.py`). How the panels read
several workers, and what each panel shows, is in docs/dashboards.md. This package is not part of
`flowgauge`: the worker never imports it and the SDK is a dev dependency only.
"""

from __future__ import annotations

from collections.abc import Callable

from flowgauge_boards import (
    aging,
    bottlenecks,
    data_health,
    distribution,
    dora,
    flow_overview,
    pipeline,
    stages,
)
from flowgauge_boards.panels import Board

#: File name under grafana/dashboards/ -> the board's builder.
BOARDS: dict[str, Callable[[], Board]] = {
    "flow-overview.json": flow_overview.board,
    "stages.json": stages.board,
    "aging-wip.json": aging.board,
    "dora.json": dora.board,
    "bottlenecks.json": bottlenecks.board,
    "pipeline-health.json": pipeline.board,
    "data-health.json": data_health.board,
    "distribution.json": distribution.board,
}
