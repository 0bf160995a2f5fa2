"""What the engine hands to exposition and reports: plain numbers, already in base units.

Absent values mean "not defined" (a quantile or ratio over an empty set): exposition then writes
no sample at all, never a 0 (METRICS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUANTILES: tuple[float, ...] = (0.5, 0.85, 0.95)
AGE_QUANTILES: tuple[float, ...] = (0.5, 0.85, 0.95, 1.0)
KINDS: tuple[str, ...] = ("active", "wait", "blocked")


def quantile_label(q: float) -> str:
    """Quantile label values as CONTRACT.md writes them: 0.5, 0.85, 0.95, 1."""
    return "1" if q == 1.0 else repr(q)


Quantiles = dict[str, float]  # quantile label ("0.5", ...) -> seconds (handoffs: a count)


@dataclass(frozen=True)
class TargetForecast:
    """The `when` of one target (`wip` or a configured forecast) at `now` (METRICS.md).

    `completion` maps a confidence label to seconds (whole days); a confidence whose answer is
    not defined (nothing remains, every sample is 0, beyond 730 days) is absent. `due` is the
    probability of finishing by the due date (None: no due date, or not decided).
    """

    target: str
    remaining: int
    completion: dict[str, float] = field(default_factory=dict)
    due: float | None = None
    due_seconds: float | None = None  # epoch seconds of the end (24:00 UTC) of the due date


@dataclass(frozen=True)
class StreamForecast:
    """A stream's forecasts: how many in N days per (days, confidence), and each target."""

    items: dict[tuple[int, str], int] = field(default_factory=dict)  # (days, confidence) -> k
    targets: tuple[TargetForecast, ...] = ()


@dataclass(frozen=True)
class StreamMetrics:
    """Every flow gauge of one stream at one `now`."""

    stream: str
    wip: dict[str, int] = field(default_factory=dict)  # every non-done stage, 0 included
    blocked: dict[str, int] = field(default_factory=dict)  # every non-done stage
    sle_breaches: dict[str, int] = field(default_factory=dict)  # non-done stages, if sle set
    age: dict[str, Quantiles] = field(default_factory=dict)  # stage -> AGE_QUANTILES; no empty
    lead_time: Quantiles = field(default_factory=dict)
    cycle_time: Quantiles = field(default_factory=dict)
    stage_time: dict[str, Quantiles] = field(default_factory=dict)  # stages visited only
    stage_seconds: dict[str, dict[str, float]] = field(default_factory=dict)  # stage->kind->s
    throughput: int = 0
    flow_efficiency: float | None = None
    rework_ratio: float | None = None
    defect_ratio: float | None = None
    sle_attainment: float | None = None  # share of cycle times <= sle, completed in window
    forecast: StreamForecast = field(default_factory=StreamForecast)
    # METRICS.md, "Handoffs, blocked reasons, distribution" (engine/breakdown.py); only values
    # with a count (or time) are present, at most 50 per dimension plus `other`.
    handoffs: dict[str, Quantiles] = field(default_factory=dict)  # kind -> per item; no empty
    blocked_reason_seconds: dict[str, float] = field(default_factory=dict)  # completed in window
    blocked_reason_items: dict[str, int] = field(default_factory=dict)  # not complete, now
    distribution_wip: dict[str, dict[str, int]] = field(default_factory=dict)  # dim->value->n
    distribution_throughput: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceMetrics:
    """DORA's five keys for one service at one `now` (docs/dora.md)."""

    service: str
    deployment_frequency_per_day: float = 0.0
    lead_time_for_changes: Quantiles = field(default_factory=dict)
    change_failure_ratio: float | None = None
    time_to_restore: Quantiles = field(default_factory=dict)
    unlinked_incidents: int = 0
    deployments_without_change_times: int = 0
    deployment_rework_ratio: float | None = None


SIGNALS: tuple[str, ...] = ("wip_limit", "aging", "accumulating", "out_of_limits")


@dataclass(frozen=True)
class StageSignals:
    """One non-done stage's bottleneck signals at `now` (docs/bottlenecks.md).

    `values` holds, per signal, the numbers behind it (measure -> number; a measure that is not
    defined, such as a limit the stage does not set, is absent), so that an alert can quote them.
    """

    stage: str
    firing: dict[str, bool]  # every name of SIGNALS
    values: dict[str, dict[str, float]]  # signal -> measure -> number
    score: float = 0.0
    bottleneck: bool = False


@dataclass(frozen=True)
class StreamSignals:
    """Every non-done stage's signals of one stream, in stage order."""

    stream: str
    stages: tuple[StageSignals, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """All metrics of a processor (a worker's partitions, or a batch report) at `now`."""

    now_seconds: float
    streams: tuple[StreamMetrics, ...] = ()
    services: tuple[ServiceMetrics, ...] = ()
    unmapped_states: dict[str, int] = field(default_factory=dict)  # stream -> count
    stream_types: dict[str, str] = field(default_factory=dict)  # stream -> configured type
    unmapped_by_state: dict[str, dict[str, int]] = field(default_factory=dict)  # stream->state->n
    signals: tuple[StreamSignals, ...] = ()
