"""Canonical events: what every source is normalized into.

A `FlowEvent` is one thing that happened to one item (or deployment, or incident) at one time,
as the tool reported it. Events are immutable and carry a unique id, so the engine can treat a
second delivery of the same event as a no-op.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from flowgauge.model.micros import to_micros

EventType = Literal[
    "created",
    "state",
    "blocked",
    "unblocked",
    "labeled",
    "unlabeled",
    "deleted",
    "deployment",
    "incident_opened",
    "incident_resolved",
    "commit",
]

#: The types a generic feed may send (CONTRACT.md). `labeled`/`unlabeled` are produced by native
#: sources only: the engine turns a configured blocked label into blocked time.
GENERIC_TYPES: frozenset[str] = frozenset(
    {
        "created",
        "state",
        "blocked",
        "unblocked",
        "deleted",
        "deployment",
        "incident_opened",
        "incident_resolved",
    }
)

ITEM_TYPES: frozenset[str] = frozenset(
    {"created", "state", "blocked", "unblocked", "labeled", "unlabeled", "deleted"}
)
#: `commit` events give commit times of changes (pushes, merged pull requests): docs/dora.md.
DORA_TYPES: frozenset[str] = frozenset(
    {"deployment", "incident_opened", "incident_resolved", "commit"}
)
#: Label prefixes a deployment event carries for the config to decide what counts as production:
#: the workflow that ran it (GitHub, `dora.deploy_workflows`) and its environment's tier (GitLab,
#: `dora.production_tiers`). Sources write them, the DORA engine reads them.
WORKFLOW_TAG = "workflow:"
TIER_TAG = "tier:"


class Change(BaseModel):
    """One change (commit, or a pull request's first commit) carried by a deployment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    committed_at: AwareDatetime | None = None


class FlowEvent(BaseModel):
    """One event of one item, deployment or incident, in canonical form.

    `item` is qualified by its source (`github:acme/api#12`) so ids of different tools never
    collide. `at` is the time the tool says the thing happened, never the arrival time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=512)
    type: EventType
    item: str = Field(min_length=1, max_length=512)
    at: AwareDatetime
    source: str = "generic"
    stream: str | None = None
    project: str | None = None
    kind: str | None = None  # the item's kind in its tool: issue, pull_request, ...
    state: str | None = None
    item_type: str | None = None
    label: str | None = None  # for labeled / unlabeled
    labels: tuple[str, ...] | None = None  # the item's labels when the payload carries them all
    links: tuple[str, ...] = ()  # qualified ids of items this one names (Fixes #12, JIRA-1)
    service: str | None = None
    environment: str | None = None
    status: Literal["success", "failure"] | None = None
    changes: tuple[Change, ...] = ()
    deployment: str | None = None
    #: Who and which team hold the item from this event on, and the epic / initiative it belongs
    #: to (CONTRACT.md, "Generic events"). None: the event says nothing of it; "": it says
    #: "none" (a generic event's `null`: unassigned, no team, no parent). Read by handoffs and
    #: the distribution (engine/holders.py; METRICS.md, "Handoffs, blocked reasons, distribution").
    assignee: str | None = Field(default=None, max_length=512)
    team: str | None = Field(default=None, max_length=512)
    parent: str | None = Field(default=None, max_length=512)
    #: Why a `blocked` / `unblocked` event blocks or unblocks (`dependency`, `flag`, `label`,
    #: `approval`, `external`, or the tool's word); None: not given (read as `unspecified`).
    reason: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("at")
    @classmethod
    def _utc_offset_required(cls, value: AwareDatetime) -> AwareDatetime:
        # AwareDatetime already refuses naive datetimes; keep the original offset.
        return value

    def sort_key(self) -> tuple[int, str]:
        """Timeline order: event time, ties broken by event id (METRICS.md)."""
        return (to_micros(self.at), self.id)
