"""DORA board: the five keys per service (docs/dora.md, docs/dashboards.md)."""

from __future__ import annotations

from flowgauge_boards.panels import (
    Board,
    PanelBuilder,
    datasource_variable,
    series,
    service_variable,
    single,
)
from flowgauge_boards.promql import QUANTILE_NOTE, SUM_NOTE, SV, q

ONE_WORKER = (
    " All DORA facts live on one facts partition, so one worker exposes every service; "
    "`sum by` over the workers is exact."
)


def board() -> Board:
    b = Board(
        "flowgauge-dora",
        "flowgauge / DORA",
        "The five keys per service, from deployment and incident events to production "
        "environments (docs/dora.md, docs/dashboards.md).",
        [datasource_variable(), service_variable()],
    )
    b.add(*_headline(), *_trends(), *_data_quality())
    return b


def _headline() -> list[PanelBuilder]:
    """The four keys now."""
    return [
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
            "first deployed in window." + QUANTILE_NOTE + ONE_WORKER,
            q(
                "sum by (service) (flowgauge_dora_lead_time_for_changes_seconds"
                f'{{{SV}, quantile="0.5"}})',
                "{{service}}",
            ),
            unit="s",
            width=6,
        ),
        single(
            "Change failure ratio",
            "Successful production deployments in window that an incident is linked to / "
            "successful production deployments in window." + ONE_WORKER,
            q(f"sum by (service) (flowgauge_dora_change_failure_ratio{{{SV}}})", "{{service}}"),
            unit="percentunit",
            width=6,
        ),
        single(
            "Time to restore p50",
            "Median of resolved_at - opened_at over incidents resolved in window."
            + QUANTILE_NOTE
            + ONE_WORKER,
            q(
                "sum by (service) (flowgauge_dora_time_to_restore_seconds"
                f'{{{SV}, quantile="0.5"}})',
                "{{service}}",
            ),
            unit="s",
            width=6,
        ),
    ]


def _trends() -> list[PanelBuilder]:
    """The five keys over time."""
    return [
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
            + ONE_WORKER,
            [
                q(
                    "sum by (service, quantile) "
                    f"(flowgauge_dora_lead_time_for_changes_seconds{{{SV}}})",
                    "{{service}} p{{quantile}}",
                )
            ],
            unit="s",
        ),
        series(
            "Change failure ratio",
            "Share of successful production deployments in window with a linked incident."
            + ONE_WORKER,
            [q(f"sum by (service) (flowgauge_dora_change_failure_ratio{{{SV}}})", "{{service}}")],
            unit="percentunit",
        ),
        series(
            "Deployment rework rate",
            "Share of successful production deployments in window made while an incident of "
            "the service was open (unplanned, because of an incident: DORA 2024's fifth key; "
            "docs/dora.md)." + ONE_WORKER,
            [
                q(
                    f"sum by (service) (flowgauge_dora_deployment_rework_ratio{{{SV}}})",
                    "{{service}}",
                )
            ],
            unit="percentunit",
        ),
        series(
            "Time to restore",
            "Incident opened to resolved, p50 / p85 / p95 per service, incidents resolved in "
            "window." + QUANTILE_NOTE + ONE_WORKER,
            [
                q(
                    f"sum by (service, quantile) (flowgauge_dora_time_to_restore_seconds{{{SV}}})",
                    "{{service}} p{{quantile}}",
                )
            ],
            unit="s",
        ),
    ]


def _data_quality() -> list[PanelBuilder]:
    """What the keys could not use."""
    return [
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
            width=12,
        ),
    ]
