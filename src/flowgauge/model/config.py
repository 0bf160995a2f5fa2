"""The value-stream config: streams, their stages, and DORA settings.

Validated by pydantic so that every mistake is found before a worker starts (`check-config`),
and frozen so that no agent can change the rules under another's feet.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from flowgauge.model.events import FlowEvent

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(w|d|h|m|s|ms)\s*$")
_UNITS = {"w": 604_800.0, "d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: object) -> timedelta:
    """Parse `30d`, `12h`, `90m`, `45s`, `2w` (or a number of seconds) into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    raise ValueError(f"not a duration: {value!r} (use e.g. 30d, 12h, 90m, 45s)")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
StageKind = Literal["wait", "active", "done"]
#: What a value stream delivers (CONTRACT.md; docs/value-streams.md): to customers directly
#: (`operational`: onboarding, claims, orders), the products that serve them (`development`), or
#: what the other streams rely on (`supporting`: platform, hiring). A label, no rule changes.
StreamType = Literal["operational", "development", "supporting"]
STREAM_TYPES: tuple[StreamType, ...] = ("operational", "development", "supporting")


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


StrList = Annotated[tuple[str, ...], BeforeValidator(_as_list)]


class Stage(BaseModel):
    """One stage of a stream; `states` are the tool's state names that mean this stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    kind: StageKind
    states: StrList = ()
    wip_limit: int | None = Field(default=None, ge=0)
    sle: Duration | None = None


class Match(BaseModel):
    """Routing rule: an event belongs to a stream when every given field matches (globs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: StrList = ()
    project: StrList = ()
    kind: StrList = ()

    def matches(self, event: FlowEvent) -> bool:
        return (
            _glob_any(event.source, self.source)
            and _glob_any(event.project, self.project)
            and _glob_any(event.kind, self.kind)
        )


def _glob_any(value: str | None, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return True
    if value is None:
        return False
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


class SignalsConfig(BaseModel):
    """How a stream's bottleneck signals are evaluated (docs/bottlenecks.md tells how to tune).

    Every field has a default, so a stream without `signals:` gets sensible bottleneck alerts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval: Duration = timedelta(days=1)  # accumulating: arrivals vs departures over this
    accumulating_margin: int = Field(default=0, ge=0)  # fire when arrivals > departures + this
    baseline_days: int = Field(default=20, ge=2)  # out_of_limits: daily values for XmR limits
    min_baseline_days: int = Field(default=5, ge=2)  # fewer daily values: no limits yet

    @model_validator(mode="after")
    def _check(self) -> SignalsConfig:
        if self.interval <= timedelta(0):
            raise ValueError("signals.interval must be positive")
        if self.min_baseline_days > self.baseline_days:
            raise ValueError("signals.min_baseline_days cannot exceed signals.baseline_days")
        return self


class ForecastConfig(BaseModel):
    """Where a stream's forecasts draw from: the last `history` days' throughput (METRICS.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    history: Duration = timedelta(days=30)

    @field_validator("history")
    @classmethod
    def _whole_days(cls, value: timedelta) -> timedelta:
        if value.seconds or value.microseconds or value.days < 1:
            raise ValueError("must be a whole number of days, at least 1d (e.g. 30d)")
        return value

    @property
    def days(self) -> int:
        return self.history.days


class TargetMatch(BaseModel):
    """Which items a forecast target counts: every given key must match (any listed value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parent: StrList = ()
    item_type: StrList = ()
    team: StrList = ()

    @model_validator(mode="after")
    def _something(self) -> TargetMatch:
        if not (self.parent or self.item_type or self.team):
            raise ValueError("name at least one of parent, item_type, team")
        return self

    def keys(self) -> dict[str, tuple[str, ...]]:
        """The keys this match uses -> the values it accepts."""
        given = {"parent": self.parent, "item_type": self.item_type, "team": self.team}
        return {key: values for key, values in given.items() if values}


class ForecastTarget(BaseModel):
    """A configured `when` target: the items its `match` selects, done by `due`?"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    match: TargetMatch
    due: date | None = None

    @field_validator("name")
    @classmethod
    def _not_wip(cls, value: str) -> str:
        if value == "wip":
            raise ValueError("`wip` is the target of the stream's started WIP; choose another name")
        return value


class StreamConfig(BaseModel):
    """A value stream: how states map to ordered stages, and the stream's policies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    type: StreamType = "development"
    match: Match = Match()
    window: Duration = timedelta(days=30)
    commitment: str | None = None
    defect_types: StrList = ("bug", "defect")
    blocked_labels: StrList = ("blocked",)
    sle: Duration | None = None
    stages: tuple[Stage, ...] = Field(min_length=1)
    signals: SignalsConfig = SignalsConfig()
    forecast: ForecastConfig = ForecastConfig()
    forecasts: tuple[ForecastTarget, ...] = ()

    @model_validator(mode="after")
    def _check_stages(self) -> StreamConfig:
        names = [stage.name for stage in self.stages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"stage names must be unique: {', '.join(duplicates)}")
        if self.commitment is not None and self.commitment not in names:
            raise ValueError(f"commitment {self.commitment!r} is not a stage ({', '.join(names)})")
        seen: dict[str, str] = {}
        for stage in self.stages:
            for state in stage.states:
                if state in seen and seen[state] != stage.name:
                    raise ValueError(
                        f"state {state!r} is mapped to two stages: {seen[state]}, {stage.name}"
                    )
                seen[state] = stage.name
        targets = [target.name for target in self.forecasts]
        duplicates = sorted({n for n in targets if targets.count(n) > 1})
        if duplicates:
            raise ValueError(f"forecasts names must be unique: {', '.join(duplicates)}")
        return self

    @property
    def commitment_index(self) -> int:
        """Index of the commitment stage; default: the first active stage, else the first done."""
        if self.commitment is not None:
            return [s.name for s in self.stages].index(self.commitment)
        for kind in ("active", "done"):
            for index, stage in enumerate(self.stages):
                if stage.kind == kind:
                    return index
        return len(self.stages) - 1

    def stage_of_state(self) -> dict[str, int]:
        """State name -> stage index (exact names as the tool sends them)."""
        return {state: i for i, stage in enumerate(self.stages) for state in stage.states}


class DoraConfig(BaseModel):
    """DORA settings: what counts as production, the window, incident attribution.

    `deploy_workflows`: CI workflows (GitHub Actions name or path) whose successful run is a
    deployment to the first `production` environment. `production_tiers`: environment tiers
    (GitLab's `deployment_tier`) whose environments count as production whatever their name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    production: StrList = ("production",)
    production_tiers: StrList = ("production",)
    window: Duration = timedelta(days=30)
    incident_link_window: Duration = timedelta(days=1)
    incident_labels: StrList = ("incident",)
    deploy_workflows: StrList = ()

    def counts_incident(self, event: FlowEvent) -> bool:
        """Whether an incident event counts: tracker issues are candidates the config decides.

        Sources know no config, so GitHub, GitLab and Jira report `incident_*` events of kind
        `issue` for any issue that has labels or is of type Incident, with its labels (and, when
        a label was just added, that `label`). Such an event counts when its issue type is
        `incident`, or its labels hold one of `incident_labels` (any case); a label-added event
        counts only when the added label is one, so adding `bug` to an incident opens nothing.
        Every other event (deployments, commits, the generic feed's incidents) counts.
        """
        if event.kind != "issue" or event.type not in ("incident_opened", "incident_resolved"):
            return True
        wanted = {label.lower() for label in self.incident_labels}
        if event.label is not None:
            return event.label.lower() in wanted
        return event.item_type == "incident" or any(x.lower() in wanted for x in event.labels or ())


class FlowConfig(BaseModel):
    """The whole value-stream config file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clock: Literal["wall", "event"] = "wall"
    #: team -> the people (assignees, as the tools name them) in it: the team of an event that
    #: names an assignee but no team (docs/value-streams.md, "Teams").
    teams: dict[str, StrList] = Field(default_factory=dict)
    streams: tuple[StreamConfig, ...] = Field(min_length=1)
    dora: DoraConfig = DoraConfig()
    settings: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_streams(self) -> FlowConfig:
        names = [s.name for s in self.streams]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"stream names must be unique: {', '.join(duplicates)}")
        return self

    @field_validator("teams")
    @classmethod
    def _one_team_each(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        seen: dict[str, str] = {}
        for team, people in value.items():
            if not team:
                raise ValueError("a team name must not be empty")
            for person in people:
                if not person:
                    raise ValueError(f"team {team!r}: a person's name must not be empty")
                if seen.get(person, team) != team:
                    raise ValueError(f"{person!r} is in two teams: {seen[person]}, {team}")
                seen[person] = team
        return value

    def team_of(self) -> dict[str, str]:
        """Person -> team, from `teams:`."""
        return {person: team for team, people in self.teams.items() for person in people}

    def route(self, event: FlowEvent) -> StreamConfig | None:
        """The stream an item event belongs to: its explicit `stream`, else the first match."""
        if event.stream is not None:
            return next((s for s in self.streams if s.name == event.stream), None)
        return next((s for s in self.streams if s.match.matches(event)), None)

    def stream(self, name: str) -> StreamConfig:
        return next(s for s in self.streams if s.name == name)
