"""The per-service pieces of the DORA engine: commit times, and the derived facts a scrape reads.

Split from `dora.py` (which keeps the state and its bookkeeping) so each file holds one
responsibility: here, pure functions of a service's events and the shapes they produce. Its public
surface (`__all__`) is what `dora.py` builds on; the rest is private to this module.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flowgauge.model.events import FlowEvent
from flowgauge.model.micros import to_micros

__all__ = [
    "PULL_REQUEST_KIND",
    "Deployment",
    "Incident",
    "ServiceModel",
    "commit_times",
    "open_during",
    "pick",
    "prefix_counts",
    "resolve_commits",
    "window_span",
]


def pick(a: FlowEvent, b: FlowEvent) -> FlowEvent:
    """One event of two delivered under the same id: identical ones are one; else a fixed choice."""
    if a is b or a == b:
        return a
    return min(a, b, key=lambda e: e.model_dump_json())


#: A `commit` event of this kind says its last change (the merge or squash commit) stands for the
#: pull request's commits: its commit time is theirs (docs/dora.md, "Squash merges").
PULL_REQUEST_KIND = "pull_request"
#: Tags a native source puts in a deployment's `labels`: the CI workflow that ran it (name and
#: path), and the environment's tier. The config decides what they mean (docs/dora.md).


def commit_times(events: Iterable[FlowEvent]) -> dict[str, int]:
    """Each change's earliest `committed_at` reported by any of the events."""
    committed: dict[str, int] = {}
    for event in events:
        for change in event.changes:
            if change.committed_at is not None:
                at = to_micros(change.committed_at)
                if change.id not in committed or at < committed[change.id]:
                    committed[change.id] = at
    return committed


def resolve_commits(
    reported: dict[str, int], commits: Iterable[FlowEvent]
) -> tuple[dict[str, int], dict[str, set[str]]]:
    """Commit times after the pull-request rule, and what each pushed head brings (one level).

    `pushed[h]`: the changes of every push (a non-pull-request `commit` event) whose head is `h`.
    A merged pull request's event lists the pull request's head then its merge commit `m`: `m`'s
    time is the earliest reported time of `m`, of the head, and of what the head's pushes
    brought. Computed from the reported times only, so the result never depends on order.
    """
    pushed: dict[str, set[str]] = {}
    merges: list[FlowEvent] = []
    for event in commits:
        if not event.changes:
            continue
        if event.kind == PULL_REQUEST_KIND:
            merges.append(event)
        else:
            pushed.setdefault(event.changes[-1].id, set()).update(c.id for c in event.changes)
    committed = dict(reported)
    for event in merges:
        merge = event.changes[-1].id
        members = {merge}
        for change in event.changes:
            members.add(change.id)
            members.update(pushed.get(change.id, ()))
        times = [reported[member] for member in members if member in reported]
        if times and (merge not in committed or min(times) < committed[merge]):
            committed[merge] = min(times)
    return committed, pushed


@dataclass(frozen=True)
class Incident:
    """What the metrics need of one incident, from all its events (any key)."""

    service: str | None
    named: str | None  # the deployment id its earliest event naming one names
    opened: int | None  # earliest incident_opened
    resolved: int | None  # time of its last event when that is an incident_resolved
    reference: int  # opened, else its earliest event: the time "unlinked" is counted at


@dataclass
class Deployment:
    """One counted deployment: one deployment id's successful production reports (METRICS.md)."""

    first: tuple[int, str]  # (time, event id) of its earliest successful production report
    id: str  # its deployment id
    changes: set[str] = field(default_factory=set)  # what its reports carry, and pushes bring


@dataclass(frozen=True)
class ServiceModel:
    """One service's derived facts, each list ascending in time, for window bisection."""

    deploy_times: list[int]
    linked_prefix: list[int]  # deployments [0, i) with >= 1 linked incident
    no_change_time_prefix: list[int]  # deployments [0, i) carrying no change with a commit time
    lead_at: list[int]  # a change's first production deployment time ...
    lead: list[int]  # ... and its lead time (micros), same order
    restored_at: list[int]
    restore: list[int]
    unlinked_at: list[int]
    rework_prefix: list[int]  # deployments [0, i) made while an incident of the service was open


def prefix_counts(flags: Iterable[bool]) -> list[int]:
    out = [0]
    for flag in flags:
        out.append(out[-1] + int(flag))
    return out


def open_during(times: Sequence[int], spans: Iterable[tuple[int, int | None]]) -> list[bool]:
    """For each time of the ascending `times`: does any span `(opened, resolved]` hold it?

    A span with no `resolved` is open for ever. A difference array over the bisected bounds:
    O((deployments + incidents) log deployments), whatever the overlap.
    """
    depth = [0] * (len(times) + 1)
    for opened, resolved in spans:
        low = bisect_right(times, opened)
        high = len(times) if resolved is None else bisect_right(times, resolved)
        if low < high:
            depth[low] += 1
            depth[high] -= 1
    out: list[bool] = []
    running = 0
    for step in depth[:-1]:
        running += step
        out.append(running > 0)
    return out


def window_span(times: Sequence[int], low_exclusive: int, high_inclusive: int) -> tuple[int, int]:
    return bisect_right(times, low_exclusive), bisect_right(times, high_inclusive)
