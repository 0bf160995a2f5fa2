"""DORA's four keys per service, from deployment, incident and commit events (METRICS.md, "DORA").

The state is a function of the *set* of events applied (deduplicated by event id), never of their
arrival order, nor of how the events are split over keys. The worker hands it each key's whole
DORA event set as one value (`apply`); a key is one entity of a service (`dora_key`: one
deployment, one incident, one push or merged pull request), so a value stays small and an event
costs the size of its entity, not of the service's history. The batch report groups recorded
events the same way (`from_events`), so both compute the same numbers. docs/dora.md states every
rule and reading in words.

Layout: level 1 keeps each key's events and, per event id, which keys hold it; level 2 gathers the
effective events per deployment id and per incident id (a deployment's or an incident's events
may sit under different keys: an incident resolved without a `service` lands under `|<id>`);
level 3 is one derived model per service, rebuilt lazily at the next `metrics` call when one of
its inputs changed. A scrape then only bisects the window in each model.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence

from flowgauge.engine.dora_model import (
    Deployment,
    Incident,
    ServiceModel,
    commit_times,
    open_during,
    pick,
    prefix_counts,
    resolve_commits,
    window_span,
)
from flowgauge.engine.quantile import quantiles_seconds
from flowgauge.engine.snapshot import QUANTILES, ServiceMetrics
from flowgauge.keys import dora_key
from flowgauge.model.config import DoraConfig
from flowgauge.model.events import DORA_TYPES, TIER_TAG, WORKFLOW_TAG, FlowEvent
from flowgauge.model.micros import DAY_MICROS, duration_micros, to_micros


class DoraState:
    """DORA metrics of a set of deployment, incident and commit events, kept per (any) key."""

    def __init__(self, config: DoraConfig) -> None:
        self._config = config
        self._production = frozenset(config.production)
        self._workflow_environment = config.production[0] if config.production else None
        self._deploy_workflows = frozenset(WORKFLOW_TAG + w for w in config.deploy_workflows)
        self._production_tiers = frozenset(TIER_TAG + t for t in config.production_tiers)
        self._window = duration_micros(config.window)
        self._link_window = duration_micros(config.incident_link_window)
        if self._window <= 0:
            raise ValueError("dora.window must be longer than zero")
        # level 1
        self._keys: dict[str, dict[str, FlowEvent]] = {}
        self._holders: dict[str, dict[str, FlowEvent]] = {}  # event id -> key -> event
        # level 2 (effective events only)
        self._deployments: dict[str, dict[str, FlowEvent]] = {}  # deployment id -> id -> event
        self._incident_events: dict[str, dict[str, FlowEvent]] = {}  # incident id -> ...
        self._service_refs: Counter[str] = Counter()  # services named by events
        self._deployments_of: dict[str, Counter[str]] = {}  # service -> deployment ids
        self._commits_of: dict[str, dict[str, FlowEvent]] = {}  # service -> id -> commit event
        self._naming: dict[str, Counter[str]] = {}  # deployment id -> incidents naming it
        self._incidents: dict[str, Incident] = {}
        self._incidents_of: dict[str, set[str]] = {}  # service -> incident ids
        # level 3
        self._models: dict[str, ServiceModel] = {}
        self._dirty: set[str] = set()
        # per apply
        self._touched_deployments: set[str] = set()
        self._touched_incidents: set[str] = set()
        self._touched_named: set[str] = set()

    @classmethod
    def from_events(cls, config: DoraConfig, events: Iterable[FlowEvent]) -> DoraState:
        """Batch: the DORA events grouped by `dora_key`, each group applied once."""
        groups: dict[str, list[FlowEvent]] = {}
        for event in events:
            if event.type in DORA_TYPES:
                groups.setdefault(dora_key(event), []).append(event)
        state = cls(config)
        for key in sorted(groups):
            state.apply(key, groups[key])
        return state

    # -- applying -----------------------------------------------------------------------------

    def apply(self, key: str, events: Sequence[FlowEvent]) -> None:
        """Replace everything applied under `key` by `events` (non-DORA types are ignored)."""
        new: dict[str, FlowEvent] = {}
        for event in events:
            if event.type not in DORA_TYPES:
                continue
            seen = new.get(event.id)
            new[event.id] = event if seen is None else pick(seen, event)
        old = self._keys.pop(key, {})
        if new:
            self._keys[key] = new
        for event_id, event in old.items():
            kept = new.get(event_id)
            if kept is None or not (kept is event or kept == event):
                self._release(event_id, key)
        for event_id, event in new.items():
            was = old.get(event_id)
            if was is None or not (was is event or was == event):
                self._hold(event_id, key, event)
        self._settle()

    def _effective(self, event_id: str) -> FlowEvent | None:
        held = self._holders.get(event_id)
        return held[min(held)] if held else None

    def _hold(self, event_id: str, key: str, event: FlowEvent) -> None:
        before = self._effective(event_id)
        self._holders.setdefault(event_id, {})[key] = event
        self._switch(before, self._effective(event_id))

    def _release(self, event_id: str, key: str) -> None:
        before = self._effective(event_id)
        held = self._holders[event_id]
        del held[key]
        if not held:
            del self._holders[event_id]
        self._switch(before, self._effective(event_id))

    def _switch(self, before: FlowEvent | None, after: FlowEvent | None) -> None:
        if before is after or (before is not None and before == after):
            return
        if before is not None:
            self._count(before, -1)
        if after is not None:
            self._count(after, +1)

    def _count(self, event: FlowEvent, sign: int) -> None:
        """Add (+1) or remove (-1) one effective event from the level-2 indexes."""
        service = event.service or None
        if event.type == "commit":  # commit times only: it does not make its service appear
            if service is not None:
                self._dirty.add(service)
                commits = self._commits_of.setdefault(service, {})
                if sign > 0:
                    commits[event.id] = event
                else:
                    del commits[event.id]
                    if not commits:
                        del self._commits_of[service]
            return
        if service is not None:
            _bump(self._service_refs, service, sign)
            self._dirty.add(service)
        by_item = self._deployments if event.type == "deployment" else self._incident_events
        bucket = by_item.setdefault(event.item, {})
        if sign > 0:
            bucket[event.id] = event
        else:
            del bucket[event.id]
            if not bucket:
                del by_item[event.item]
        if event.type == "deployment":
            self._touched_deployments.add(event.item)
            if service is not None:
                _bump(self._deployments_of.setdefault(service, Counter()), event.item, sign)
                if not self._deployments_of[service]:
                    del self._deployments_of[service]
        else:
            self._touched_incidents.add(event.item)
            if event.deployment is not None:
                self._touched_named.add(event.deployment)
                _bump(self._naming.setdefault(event.deployment, Counter()), event.item, sign)
                if not self._naming[event.deployment]:
                    del self._naming[event.deployment]

    def _settle(self) -> None:
        """Refresh the incidents whose inputs changed; mark every service they may move dirty."""
        incidents = self._touched_incidents
        for deployment in self._touched_deployments:
            incidents.update(self._naming.get(deployment, ()))
        named = self._touched_named
        for incident_id in incidents:
            old = self._incidents.pop(incident_id, None)
            if old is not None and old.service is not None:
                self._dirty.add(old.service)
                self._unindex(incident_id, old.service)
            new = self._summarize(incident_id)
            if new is not None:
                self._incidents[incident_id] = new
                if new.service is not None:
                    self._dirty.add(new.service)
                    self._incidents_of.setdefault(new.service, set()).add(incident_id)
                for event in self._incident_events[incident_id].values():
                    if event.deployment is not None:
                        named.add(event.deployment)
        for deployment in named:
            for event in self._deployments.get(deployment, {}).values():
                if event.service:
                    self._dirty.add(event.service)
        self._touched_deployments = set()
        self._touched_incidents = set()
        self._touched_named = set()

    def _unindex(self, incident_id: str, service: str) -> None:
        ids = self._incidents_of[service]
        ids.discard(incident_id)
        if not ids:
            del self._incidents_of[service]

    def _summarize(self, incident_id: str) -> Incident | None:
        events = self._incident_events.get(incident_id)
        if not events:
            return None
        timeline = sorted(events.values(), key=FlowEvent.sort_key)
        named = next((e.deployment for e in timeline if e.deployment is not None), None)
        service = next((e.service for e in timeline if e.service), None)
        if service is None and named is not None:
            deployed = sorted(self._deployments.get(named, {}).values(), key=FlowEvent.sort_key)
            service = next((e.service for e in deployed if e.service), None)
        opened = next((to_micros(e.at) for e in timeline if e.type == "incident_opened"), None)
        last = timeline[-1]
        resolved = to_micros(last.at) if last.type == "incident_resolved" else None
        reference = opened if opened is not None else to_micros(timeline[0].at)
        return Incident(service, named, opened, resolved, reference)

    # -- deriving -----------------------------------------------------------------------------

    def _model(self, service: str) -> ServiceModel:
        if service in self._dirty or service not in self._models:
            self._models[service] = self._build(service)
            self._dirty.discard(service)
        return self._models[service]

    def _build(self, service: str) -> ServiceModel:
        events = [
            event
            for deployment in self._deployments_of.get(service, ())
            for event in self._deployments[deployment].values()
            if event.service == service
        ]
        commits = list(self._commits_of.get(service, {}).values())
        # A change's commit time: the earliest any deployment or commit event of the service
        # reports, then the pull-request rule (docs/dora.md, "Lead time for changes").
        committed, pushed = resolve_commits(commit_times([*events, *commits]), commits)
        groups = self._group(events, pushed)
        ordered = sorted(groups.values(), key=lambda g: g.first)
        times = [group.first[0] for group in ordered]

        leads = _first_lead_times(ordered, committed)

        linked = [False] * len(ordered)
        for index, group in enumerate(ordered):
            for incident_id in self._naming.get(group.id, ()):
                incident = self._incidents.get(incident_id)
                if incident is not None and incident.named == group.id:
                    linked[index] = True

        restores: list[tuple[int, int]] = []
        unlinked: list[int] = []
        spans: list[tuple[int, int | None]] = []  # incidents open: (opened, resolved]
        for incident_id in self._incidents_of.get(service, ()):
            incident = self._incidents[incident_id]
            if incident.opened is not None:
                spans.append((incident.opened, incident.resolved))
            if incident.opened is not None and incident.resolved is not None:
                restores.append((incident.resolved, incident.resolved - incident.opened))
            if incident.named is not None and incident.named in self._deployments:
                continue  # linked by name (counted where that deployment is)
            if incident.opened is not None:
                latest = bisect_right(times, incident.opened) - 1
                if latest >= 0 and times[latest] > incident.opened - self._link_window:
                    linked[latest] = True
                    continue
            unlinked.append(incident.reference)
        restores.sort()
        unlinked.sort()
        rework = open_during(times, spans)
        return ServiceModel(
            deploy_times=times,
            linked_prefix=prefix_counts(linked),
            no_change_time_prefix=prefix_counts(
                not any(change in committed for change in group.changes) for group in ordered
            ),
            lead_at=[at for at, _ in leads],
            lead=[lead for _, lead in leads],
            restored_at=[at for at, _ in restores],
            restore=[duration for _, duration in restores],
            unlinked_at=unlinked,
            rework_prefix=prefix_counts(rework),
        )

    def _group(
        self, events: Iterable[FlowEvent], pushed: dict[str, set[str]]
    ) -> dict[str, Deployment]:
        """The counted deployments: a deployment is its deployment id (METRICS.md), counted
        when one of its reports is a successful production one, at the earliest such report,
        carrying what those reports carry (and, for a push's head, that push's commits)."""
        groups: dict[str, Deployment] = {}
        for event in events:
            if not self._counts(event):
                continue
            first = event.sort_key()
            group = groups.get(event.item)
            if group is None:
                group = groups[event.item] = Deployment(first, event.item)
            elif first < group.first:
                group.first = first
            for change in event.changes:
                group.changes.add(change.id)
                group.changes.update(pushed.get(change.id, ()))
        return groups

    def _counts(self, event: FlowEvent) -> bool:
        """Whether a deployment report counts: successful, to a production environment.

        Production: its `environment` listed in `dora.production`; the run of a workflow listed
        in `dora.deploy_workflows` (when `dora.production` names any environment); an
        environment whose tier is in `dora.production_tiers`.
        """
        if event.status != "success":
            return False
        if event.environment in self._production:
            return True
        tags = event.labels or ()
        if self._deploy_workflows.intersection(tags):
            return self._workflow_environment is not None
        return bool(event.environment and self._production_tiers.intersection(tags))

    # -- reading ------------------------------------------------------------------------------

    def services(self) -> list[str]:
        """Every service named by a deployment or incident event (or an incident's deployment)."""
        return sorted(set(self._service_refs) | set(self._incidents_of))

    def metrics(self, now_micros: int) -> list[ServiceMetrics]:
        """The five keys of every service seen, over `now - window < t <= now`, by service."""
        low = now_micros - self._window
        days = self._window / DAY_MICROS
        out: list[ServiceMetrics] = []
        services = self.services()
        for gone in set(self._models).difference(services):
            del self._models[gone]
        for service in services:
            model = self._model(service)
            a, b = window_span(model.deploy_times, low, now_micros)
            deployments = b - a
            linked = model.linked_prefix[b] - model.linked_prefix[a]
            without = model.no_change_time_prefix[b] - model.no_change_time_prefix[a]
            rework = model.rework_prefix[b] - model.rework_prefix[a]
            la, lb = window_span(model.lead_at, low, now_micros)
            ra, rb = window_span(model.restored_at, low, now_micros)
            ua, ub = window_span(model.unlinked_at, low, now_micros)
            out.append(
                ServiceMetrics(
                    service=service,
                    deployment_frequency_per_day=deployments / days,
                    lead_time_for_changes=quantiles_seconds(sorted(model.lead[la:lb]), QUANTILES),
                    change_failure_ratio=linked / deployments if deployments else None,
                    time_to_restore=quantiles_seconds(sorted(model.restore[ra:rb]), QUANTILES),
                    unlinked_incidents=ub - ua,
                    deployments_without_change_times=without,
                    deployment_rework_ratio=rework / deployments if deployments else None,
                )
            )
        return out


def _first_lead_times(
    ordered: Sequence[Deployment], committed: dict[str, int]
) -> list[tuple[int, int]]:
    """(first production deployment time, lead time) of each change with a commit time no later
    than it, ascending: a later deployment of the change (a redeploy, a rollback) counts none."""
    first_deployed: dict[str, int] = {}
    for group in ordered:
        for change_id in group.changes:
            first_deployed.setdefault(change_id, group.first[0])
    return sorted(
        (at, at - committed[change])
        for change, at in first_deployed.items()
        if change in committed and committed[change] <= at
    )


def _bump(counter: Counter[str], key: str, sign: int) -> None:
    counter[key] += sign
    if counter[key] <= 0:
        del counter[key]
