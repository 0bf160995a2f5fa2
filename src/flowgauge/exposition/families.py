"""Every flow and DORA gauge family flowgauge exposes, declared once: name, help, labels.

CONTRACT.md and METRICS.md define them; `gauges.py` fills them from a snapshot at scrape time,
and the deploy files, boards and tests read the declarations from here (through the package).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    help: str
    labels: tuple[str, ...]


def _f(name: str, help: str, *labels: str) -> Family:
    return Family(f"flowgauge_{name}", help, labels)


WIP = _f("wip_items", "Items whose current stage is this (non-done) stage.", "stream", "stage")
BLOCKED = _f("blocked_items", "In-progress items blocked now, by stage.", "stream", "stage")
SLE_BREACH = _f(
    "sle_breach_items", "Started, in-progress items older than the stream's SLE.", "stream", "stage"
)
AGE = _f(
    "work_item_age_seconds",
    "Age of in-progress items (now - started_at, or - created_at if not started).",
    "stream",
    "stage",
    "quantile",
)
LEAD = _f(
    "lead_time_seconds",
    "completed_at - created_at, items completed in window.",
    "stream",
    "quantile",
)
CYCLE = _f(
    "cycle_time_seconds",
    "completed_at - started_at, started items completed in window.",
    "stream",
    "quantile",
)
STAGE_TIME = _f(
    "stage_time_seconds",
    "Time in stage of items completed in window that visited it.",
    "stream",
    "stage",
    "quantile",
)
STAGE_SECONDS = _f(
    "stage_seconds",
    "Seconds items completed in window spent in the stage, by kind (active, wait, blocked).",
    "stream",
    "stage",
    "kind",
)
THROUGHPUT = _f("throughput_items", "Items completed in window.", "stream")
EFFICIENCY = _f(
    "flow_efficiency_ratio",
    "Sum active / sum (active+wait+blocked), completed in window, from started_at.",
    "stream",
)
REWORK = _f("rework_ratio", "Share of items completed in window that moved backwards.", "stream")
DEFECT = _f("defect_ratio", "Share of items completed in window of a defect type.", "stream")
UNMAPPED = _f(
    "unmapped_state_events",
    "State events of the stream's items whose state maps to no stage (they move nothing).",
    "stream",
)
STREAM_INFO = _f(
    "stream_info",
    "1 for every configured value stream, labelled with its type "
    "(operational, development, supporting; docs/value-streams.md).",
    "stream",
    "type",
)
UNMAPPED_BY_STATE = _f(
    "unmapped_state_events_by_state",
    "Unmapped state events of the stream's items by the tool's state name (map it to a stage); "
    'the 20 most frequent names per stream, the rest under state="(other)".',
    "stream",
    "state",
)
#: The state names `flowgauge_unmapped_state_events_by_state` shows per stream (cardinality
#: bound: a tool with a thousand statuses adds at most this many series, plus `(other)`).
UNMAPPED_STATE_NAMES = 20
NO_STATE = "(none)"  # a state event that names no state
OTHER_STATES = "(other)"
DEPLOY_FREQ = _f(
    "dora_deployment_frequency_per_day",
    "Successful production deployments in the DORA window per day.",
    "service",
)
LEAD_CHANGES = _f(
    "dora_lead_time_for_changes_seconds",
    "Commit to first successful production deployment.",
    "service",
    "quantile",
)
CFR = _f(
    "dora_change_failure_ratio",
    "Share of production deployments in window linked to an incident.",
    "service",
)
TTR = _f(
    "dora_time_to_restore_seconds",
    "Incident opened to resolved, resolved in window.",
    "service",
    "quantile",
)
REWORK_DEPLOYS = _f(
    "dora_deployment_rework_ratio",
    "Share of production deployments in window made while an incident of the service was open "
    "(unplanned, because of an incident; docs/dora.md).",
    "service",
)
UNLINKED = _f("dora_unlinked_incidents", "Incidents linked to no deployment.", "service")
NO_CHANGE_TIMES = _f(
    "dora_deployments_without_change_times",
    "Production deployments in window carrying no change with a commit time.",
    "service",
)

STAGE_SIGNAL = _f(
    "stage_signal",
    "1 while the bottleneck signal holds for the stage (wip_limit, aging, accumulating, "
    "out_of_limits), else 0. See docs/bottlenecks.md.",
    "stream",
    "stage",
    "signal",
)
SIGNAL_VALUE = _f(
    "stage_signal_value",
    "The numbers behind each bottleneck signal (counts, seconds, limits), for alert texts.",
    "stream",
    "stage",
    "signal",
    "measure",
)
BOTTLENECK_SCORE = _f(
    "bottleneck_score",
    "Pile-up signals firing for the stage plus its share of the stream's WIP (0 if none).",
    "stream",
    "stage",
)
BOTTLENECK = _f(
    "bottleneck", "1 for the stream's highest-scoring stage (score > 0), else 0.", "stream", "stage"
)
SIGNAL_FAMILIES = (STAGE_SIGNAL, SIGNAL_VALUE, BOTTLENECK_SCORE, BOTTLENECK)

# Forecasts and SLE attainment (METRICS.md "Forecasts"; docs/forecasts.md).
FORECAST_ITEMS = _f(
    "forecast_items",
    "Items the stream completes in the next `days` days with probability >= confidence "
    "(exact convolution of the daily throughput of the last forecast.history days).",
    "stream",
    "days",
    "confidence",
)
FORECAST_COMPLETION = _f(
    "forecast_completion_seconds",
    "Whole days (in seconds) until the target's remaining items are done with probability "
    ">= confidence (target wip: the started WIP).",
    "stream",
    "target",
    "confidence",
)
FORECAST_DUE = _f(
    "forecast_due_ratio",
    "Probability of finishing the target's remaining items by the end of its due date (UTC).",
    "stream",
    "target",
)
FORECAST_REMAINING = _f(
    "forecast_remaining_items",
    "Items the forecast target still has to finish (wip: started, not complete).",
    "stream",
    "target",
)
FORECAST_DUE_TIMESTAMP = _f(
    "forecast_due_timestamp_seconds",
    "End (24:00 UTC) of the target's due date, epoch seconds.",
    "stream",
    "target",
)
SLE_ATTAINMENT = _f(
    "sle_attainment_ratio",
    "Share of the cycle times of items completed in window that are <= the stream's SLE.",
    "stream",
)
FORECAST_FAMILIES = (
    FORECAST_ITEMS,
    FORECAST_COMPLETION,
    FORECAST_DUE,
    FORECAST_REMAINING,
    FORECAST_DUE_TIMESTAMP,
    SLE_ATTAINMENT,
)

# Handoffs, blocked reasons, distribution (METRICS.md; docs/metrics.md). Values of team, parent
# and reason come from the tools: per stream (and dimension) the 50 largest, the rest `other`.
HANDOFFS = _f(
    "handoffs_per_item",
    "Changes of holder (assignee, team) between started_at and completed_at, per item "
    "completed in window.",
    "stream",
    "kind",
    "quantile",
)
BLOCKED_REASON_SECONDS = _f(
    "blocked_reason_seconds",
    "Seconds items completed in window were blocked for the reason (an instant blocked for two "
    "reasons counts for both).",
    "stream",
    "reason",
)
BLOCKED_REASON_ITEMS = _f(
    "blocked_reason_items", "In-progress items blocked for the reason now.", "stream", "reason"
)
DISTRIBUTION_WIP = _f(
    "distribution_wip_items",
    "Started, in-progress items by the value of a dimension (item_type, team, parent; none: "
    "no value).",
    "stream",
    "dimension",
    "value",
)
DISTRIBUTION_THROUGHPUT = _f(
    "distribution_throughput_items",
    "Items completed in window by the value of a dimension (item_type, team, parent).",
    "stream",
    "dimension",
    "value",
)
BREAKDOWN_FAMILIES = (
    HANDOFFS,
    BLOCKED_REASON_SECONDS,
    BLOCKED_REASON_ITEMS,
    DISTRIBUTION_WIP,
    DISTRIBUTION_THROUGHPUT,
)


FLOW_FAMILIES = (
    WIP,
    BLOCKED,
    SLE_BREACH,
    AGE,
    LEAD,
    CYCLE,
    STAGE_TIME,
    STAGE_SECONDS,
    THROUGHPUT,
    EFFICIENCY,
    REWORK,
    DEFECT,
    *SIGNAL_FAMILIES,
    UNMAPPED,
    STREAM_INFO,
    UNMAPPED_BY_STATE,
    *FORECAST_FAMILIES,
    *BREAKDOWN_FAMILIES,
)
DORA_FAMILIES = (DEPLOY_FREQ, LEAD_CHANGES, CFR, TTR, REWORK_DEPLOYS, UNLINKED, NO_CHANGE_TIMES)
