"""The DORA families as a scrape shows them: the rework ratio is a sample exactly when it is
defined (a service with counted deployments in window), never a 0 in place of "no data"."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from flowgauge.engine.snapshot import ServiceMetrics, Snapshot
from flowgauge.exposition import DORA_FAMILIES, render


def scraped(snapshot: Snapshot) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(render(snapshot).decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_rework_ratio_per_service_only_where_defined() -> None:
    snapshot = Snapshot(
        now_seconds=0.0,
        services=(
            ServiceMetrics(service="api", deployment_rework_ratio=0.25),
            ServiceMetrics(service="db"),  # no deployment in window: no ratio
        ),
    )
    got = scraped(snapshot)
    assert got["flowgauge_dora_deployment_rework_ratio"] == {(("service", "api"),): 0.25}
    assert "flowgauge_dora_deployment_rework_ratio" in {f.name for f in DORA_FAMILIES}
