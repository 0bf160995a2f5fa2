"""A GitLab project's history built once, rendered two ways: as the hooks GitLab sent while it
happened (Issue, Merge Request and Deployment Hooks, simulated forwards), and as what the REST API
answers afterwards (gitlab_api.py: objects as they are now, resource state / label / milestone
events, system notes, links, commits, deployments). Written apart from the importer, from
GitLab's documented shapes, so that comparing the two tests the importer's backwards
reconstruction.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import recorded

PATH = "acme/shop"
PROJECT = {
    "id": 4201,
    "name": "shop",
    "path_with_namespace": PATH,
    "web_url": f"https://gitlab.example.com/{PATH}",
}
LABELS = ["workflow::doing", "workflow::review", "blocked", "bug", "incident", "ux"]
PEOPLE = ["ada", "bo", "cy", "dee"]
MILESTONES = [57, 58]
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def hook_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Change:
    at: datetime
    state: str | None = None  # closed | reopened | merged
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    assigned: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    milestone: int | str | None = "same"  # a milestone id, None (removed) or "same"


@dataclass
class Snap:
    state: str
    labels: list[str]
    people: set[str]
    milestone: int | None


@dataclass
class Item:
    kind: str  # issue | merge_request
    iid: int
    created: datetime
    labels: list[str]
    people: set[str]
    incident_type: bool = False
    changes: list[Change] = field(default_factory=list)
    blockers: list[tuple[int, datetime]] = field(default_factory=list)  # (issue iid, linked at)

    @property
    def sha(self) -> str:
        return f"{self.iid:040x}"

    def snaps(self) -> list[Snap]:
        out = [Snap("opened", list(self.labels), set(self.people), None)]
        for change in self.changes:
            last = out[-1]
            labels = [x for x in last.labels if x not in change.removed] + [
                x for x in change.added if x not in last.labels
            ]
            state = {"closed": "closed", "reopened": "opened", "merged": "merged"}.get(
                change.state or "", last.state
            )
            people = (last.people | set(change.assigned)) - set(change.unassigned)
            milestone = last.milestone if change.milestone == "same" else change.milestone
            out.append(Snap(state, labels, people, milestone))  # type: ignore[arg-type]
        return out


@dataclass
class Deployment:
    id: int
    job: int
    sha: str
    status: str
    finished: datetime
    environment: str
    tier: str


@dataclass
class World:
    items: list[Item]
    deployments: list[Deployment]


def _change(rng: random.Random, item: Item, snap: Snap, at: datetime) -> Change:
    kinds = ["labels", "labels", "people", "milestone", "state"]
    kind = rng.choice(kinds)
    change = Change(at)
    if kind == "state":
        if snap.state == "opened":
            merge = item.kind == "merge_request" and rng.random() < 0.5
            change.state = "merged" if merge else "closed"
        elif snap.state == "closed":
            change.state = "reopened"
        else:
            kind = "labels"
    if kind == "labels":
        label = rng.choice(LABELS)
        (change.removed if label in snap.labels else change.added).append(label)
        if label in change.added and label.startswith("workflow::"):  # scoped: exclusive
            change.removed.extend(x for x in snap.labels if x.startswith("workflow::"))
    elif kind == "people":
        person = rng.choice(PEOPLE)
        (change.unassigned if person in snap.people else change.assigned).append(person)
        if rng.random() < 0.3:
            other = rng.choice([p for p in PEOPLE if p != person])
            if other in snap.people and other not in change.unassigned:
                change.unassigned.append(other)
            elif other not in snap.people and other not in change.assigned:
                change.assigned.append(other)
    elif kind == "milestone":
        change.milestone = None if snap.milestone is not None else rng.choice(MILESTONES)
    return change


def world(seed: int, items: int = 30, deployments: int = 6, links: bool = False) -> World:
    rng = random.Random(seed)
    out: list[Item] = []
    for n in range(items):
        kind = "issue" if n % 3 else "merge_request"
        created = START + timedelta(
            minutes=rng.randrange(0, 20 * 24 * 60), milliseconds=rng.randrange(1000)
        )
        item = Item(
            kind,
            iid=n + 1,
            created=created,
            labels=rng.sample(LABELS[2:], rng.randrange(0, 2)),
            people=set(rng.sample(PEOPLE, rng.randrange(0, 2))),
            incident_type=kind == "issue" and rng.random() < 0.1,
        )
        at = created
        for _ in range(rng.randrange(0, 9)):
            at += timedelta(minutes=rng.randrange(1, 3 * 24 * 60), milliseconds=rng.randrange(1000))
            item.changes.append(_change(rng, item, item.snaps()[-1], at))
        out.append(item)
    issues = [i for i in out if i.kind == "issue"]
    for item in issues if links else []:
        for blocker in rng.sample(issues, rng.randrange(0, 3)):
            if blocker is not item:
                linked = item.created + timedelta(hours=rng.randrange(0, 10 * 24))
                item.blockers.append((blocker.iid, linked))
    deploys = []
    for n in range(deployments):
        finished = START + timedelta(hours=rng.randrange(1, 20 * 24), seconds=rng.randrange(60))
        deploys.append(
            Deployment(
                id=900 + n,
                job=7000 + n,
                sha=f"{0xD000 + n:040x}",
                status=rng.choice(["success", "success", "failed", "running"]),
                finished=finished,
                environment=rng.choice(["production", "staging"]),
                tier=rng.choice(["production", "staging"]),
            )
        )
    return World(out, deploys)


# --- the hooks GitLab sent ------------------------------------------------------------------------


def _attrs(item: Item, snap: Snap, at: datetime, action: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "id": 80_000 + item.iid,
        "iid": item.iid,
        "title": f"{item.kind} {item.iid}",
        "description": "Some words.",
        "state": snap.state,
        "action": action,
        "created_at": hook_time(item.created),
        "updated_at": hook_time(at),
        "labels": [{"id": LABELS.index(x), "title": x} for x in snap.labels],
        "assignee_ids": [PEOPLE.index(p) + 10 for p in sorted(snap.people)],
        "assignee_id": PEOPLE.index(min(snap.people)) + 10 if snap.people else None,
        "milestone_id": snap.milestone,
    }
    if item.kind == "issue":
        attrs["type"] = "Incident" if item.incident_type else "Issue"
    else:
        merged = snap.state == "merged"
        attrs.update(
            source_branch=f"{item.iid}-change",
            target_branch="main",
            draft=False,
            merge_commit_sha=f"{item.iid + 5000:040x}" if merged else None,
            squash_commit_sha=None,
            last_commit={
                "id": item.sha,
                "message": "Change things",
                "timestamp": (item.created - timedelta(hours=1)).isoformat(),
            },
        )
    return attrs


def _hook(item: Item, snap: Snap, before: Snap | None, at: datetime, action: str) -> Any:
    body: dict[str, Any] = {
        "object_kind": item.kind,
        "event_type": item.kind,
        "user": {"id": 1, "name": "Someone", "username": "someone"},
        "project": PROJECT,
        "object_attributes": _attrs(item, snap, at, action),
        "labels": [{"title": x} for x in snap.labels],
        "changes": {},
    }
    if snap.people:
        body["assignees"] = [{"username": p, "name": p.title()} for p in sorted(snap.people)]
    prev = before or Snap("opened", [], set(), None)
    if set(prev.labels) != set(snap.labels):
        body["changes"]["labels"] = {
            "previous": [{"title": x} for x in prev.labels],
            "current": [{"title": x} for x in snap.labels],
        }
    if before is not None and prev.people != snap.people:
        body["changes"]["assignees"] = {
            "previous": [{"username": p} for p in sorted(prev.people)],
            "current": [{"username": p} for p in sorted(snap.people)],
        }
    if before is not None and prev.milestone != snap.milestone:
        body["changes"]["milestone_id"] = {"previous": prev.milestone, "current": snap.milestone}
    return body


def webhooks(w: World) -> list[tuple[dict[str, str], dict[str, Any]]]:
    out: list[tuple[dict[str, str], dict[str, Any]]] = []
    actions = {"closed": "close", "reopened": "reopen", "merged": "merge"}
    for item in w.items:
        snaps = item.snaps()
        hooks = [_hook(item, snaps[0], None, item.created, "open")]
        for n, change in enumerate(item.changes):
            action = actions.get(change.state or "", "update")
            hooks.append(_hook(item, snaps[n + 1], snaps[n], change.at, action))
        out.extend(({"x-gitlab-event-uuid": str(uuid.uuid4())}, h) for h in hooks)
    for d in w.deployments:
        body = {
            "object_kind": "deployment",
            "status": d.status,
            "status_changed_at": hook_time(d.finished),
            "deployment_id": d.id,
            "deployable_id": d.job,
            "environment": d.environment,
            "environment_tier": d.tier,
            "project": PROJECT,
            "short_sha": d.sha[:8],
            "commit_url": f"{PROJECT['web_url']}/-/commit/{d.sha}",
        }
        out.append(({"x-gitlab-event-uuid": str(uuid.uuid4())}, body))
    return out


def delivery_lines(deliveries: list[tuple[dict[str, str], dict[str, Any]]]) -> bytes:
    """What the raw topic (and `report`) reads: one delivery record per line."""
    return recorded.delivery_lines("gitlab", "x-gitlab-event-uuid", deliveries)
