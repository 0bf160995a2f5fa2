"""Pipeline health board: webhooks in, deliveries normalized, dead letters, events applied,
worker readiness (docs/dashboards.md)."""

from __future__ import annotations

from flowgauge_boards.panels import (
    Board,
    PanelBuilder,
    datasource_variable,
    note,
    series,
    single,
)
from flowgauge_boards.promql import SUM_NOTE, q

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


def board() -> Board:
    b = Board(
        "flowgauge-pipeline",
        "flowgauge / Pipeline health",
        "Webhooks in, deliveries normalized, dead letters, events applied, worker readiness "
        "(docs/dashboards.md).",
        [datasource_variable()],
    )
    b.add(*_headline(), *_intake(), *_workers())
    return b


def _headline() -> list[PanelBuilder]:
    """Is the pipeline up now."""
    return [
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
    ]


def _intake() -> list[PanelBuilder]:
    """Webhooks in, deliveries normalized, dead letters, events applied."""
    return [
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
    ]


def _workers() -> list[PanelBuilder]:
    """The spool, the workers and what is not measured."""
    return [
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
            [q("sum by (instance) (flowgauge_worker_ready)", "{{instance}}")],
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
    ]
