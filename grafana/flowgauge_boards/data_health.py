"""Data health board: can the numbers be trusted? Sources that fell silent, events that arrive
late, states no stage maps, events no stream takes, incidents linked to no deployment
(docs/dashboards.md, docs/metrics.md "Data trust")."""

from __future__ import annotations

from flowgauge_boards.panels import (
    Board,
    PanelBuilder,
    bars,
    datasource_variable,
    listing,
    series,
    service_variable,
    single,
    stream_variable,
)
from flowgauge_boards.promql import SUM_NOTE, SV, F, q

LATEST = "max by (source) (flowgauge_source_last_event_timestamp_seconds)"
INGESTERS = (
    " Each ingester keeps its own arrivals (of the last hour); `max by` over ingesters gives "
    "the latest time and the worst delay."
)
DELAY_NOTE = (
    " Quantiles cannot be combined across ingesters, so this panel reads them with `max by`: "
    "exact with one ingester, otherwise the worst ingester's."
)


def board() -> Board:
    b = Board(
        "flowgauge-data-health",
        "flowgauge / Data health",
        "Whether the numbers can be trusted: silent sources, late events, unmapped states, "
        "events no stream takes, incidents linked to no deployment (docs/dashboards.md).",
        [datasource_variable(), stream_variable(), service_variable()],
    )
    b.add(*_headline(), *_sources(), *_mapping())
    return b


def _headline() -> list[PanelBuilder]:
    """The worst of each now."""
    return [
        single(
            "Longest source silence",
            "Now minus the latest event time of the source heard from longest ago (event time: "
            "when the tool says it happened, the `at` of its events)." + INGESTERS,
            q(f"max(time() - {LATEST})", "silence"),
            unit="s",
            width=6,
        ),
        single(
            "Worst event delay p95 (1h)",
            "The highest p95 over sources of arrival at the ingester - event time, events "
            "accepted in the last hour." + DELAY_NOTE,
            q('max(flowgauge_event_delay_seconds{quantile="0.95"})', "p95"),
            unit="s",
            width=6,
        ),
        single(
            "Unmapped state events",
            "State events of live items whose state maps to no stage of their stream (they move "
            "nothing: map the state in the config)." + SUM_NOTE,
            q(f"sum(flowgauge_unmapped_state_events{{{F}}})", "unmapped"),
            width=6,
        ),
        single(
            "Events that matched no stream (1h)",
            "Item events of the last hour that no stream's `match` (nor their `stream`) took; "
            "they count in no metric." + SUM_NOTE,
            q('sum(increase(flowgauge_events_total{outcome="unrouted"}[1h]))', "unrouted"),
            width=6,
        ),
    ]


def _sources() -> list[PanelBuilder]:
    """Per source: how long since its latest event, how late its events arrive."""
    return [
        series(
            "Time since each source's latest event",
            "Now minus the latest event time per source: a line that keeps rising is a source "
            "that stopped sending (the FlowgaugeSourceSilent alert)." + INGESTERS,
            [q(f"time() - {LATEST}", "{{source}}")],
            unit="s",
        ),
        series(
            "Event delay by source (last hour)",
            "Arrival at the ingester - event time, p50 / p85 / p95 / max of the events each "
            "source delivered in the last hour: webhooks arrive within seconds, retries and "
            "imports later; negative values mean the tool's clock runs ahead." + DELAY_NOTE,
            [
                q(
                    "max by (source, quantile) (flowgauge_event_delay_seconds)",
                    "{{source}} p{{quantile}}",
                )
            ],
            unit="s",
        ),
        bars(
            "Events per source (last hour)",
            "Events each source delivered to the ingesters in the last hour (0: none). Summed "
            "across ingesters (each counts what it accepted).",
            q("sum by (source) (flowgauge_event_delay_events)", "{{source}}", instant=True),
        ),
        series(
            "Incidents linked to no deployment",
            "Per service: incidents (opened in the DORA window) that name no known deployment "
            "and follow none within the link window; they count for time to restore, not for the "
            "change failure ratio (docs/dora.md)." + SUM_NOTE,
            [q(f"sum by (service) (flowgauge_dora_unlinked_incidents{{{SV}}})", "{{service}}")],
        ),
    ]


def _mapping() -> list[PanelBuilder]:
    """What the config does not map: states by name, events by stream."""
    return [
        listing(
            "Unmapped states by name",
            "The tool's state names that map to no stage, per stream, with the number of state "
            "events naming them: add each to a stage's `states` in the config. The 20 most "
            "frequent names per stream; the rest are summed as (other)." + SUM_NOTE,
            q(
                "sort_desc(sum by (stream, state) "
                f"(flowgauge_unmapped_state_events_by_state{{{F}}}))",
                "{{stream}} {{state}}",
                instant=True,
            ),
            width=12,
        ),
        series(
            "Unmapped and unrouted events over time",
            "Unmapped state events per stream (a level) and events that matched no stream (a "
            "rate per second)." + SUM_NOTE,
            [
                q(
                    f"sum by (stream) (flowgauge_unmapped_state_events{{{F}}})",
                    "{{stream}} unmapped",
                ),
                q(
                    'sum(rate(flowgauge_events_total{outcome="unrouted"}[$__rate_interval]))',
                    "unrouted per second",
                ),
            ],
        ),
    ]
