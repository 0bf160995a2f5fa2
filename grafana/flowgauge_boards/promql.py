"""PromQL for the boards: the datasource every target reads, the template-variable selectors, the
one-target builder, and the sentences that say how a query combines several workers
(docs/dashboards.md, "Several workers")."""

from __future__ import annotations

from grafana_foundation_sdk.builders import (
    prometheus,
)
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import prometheus as prometheus_models

DATASOURCE = dashboard_models.DataSourceRef(type_val="prometheus", uid="${datasource}")

F = 'stream=~"$stream"'
FS = 'stream=~"$stream", stage=~"$stage"'
SV = 'service=~"$service"'

QUANTILE_NOTE = (
    " A stream's quantiles come from the one worker that holds the stream's facts (its stream "
    "stage, docs/architecture.md), so `sum by` over the workers is the exact quantile."
)
SUM_NOTE = " Summed across workers: each series comes from exactly one of them."


def q(expr: str, legend: str = "__auto", *, instant: bool = False) -> prometheus.Dataquery:
    """One PromQL target; `ref_id` is set by `Board.add` in order."""
    query = prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)
    if instant:
        query = query.instant().format(prometheus_models.PromQueryFormat.TABLE)
    else:
        query = query.range()
    return query


PanelBuilder = cogbuilder.Builder[dashboard_models.Panel]
