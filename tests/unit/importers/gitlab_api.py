"""What GitLab's REST API v4 answers about a generated project (gitlab_world.py) afterwards:
objects as they are now, their resource state / label / milestone events, system notes, links,
commits, and deployments, in the shapes GitLab documents."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gitlab_world import LABELS, PEOPLE, PROJECT, Change, Deployment, Item, World


def api_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def updated(item: Item) -> datetime:
    return item.changes[-1].at if item.changes else item.created


def api_object(item: Item) -> dict[str, Any]:
    now = item.snaps()[-1]
    obj: dict[str, Any] = {
        "id": 80_000 + item.iid,
        "iid": item.iid,
        "project_id": PROJECT["id"],
        "title": f"{item.kind} {item.iid}",
        "description": "Some words.",
        "state": now.state,
        "created_at": api_time(item.created),
        "updated_at": api_time(updated(item)),
        "labels": list(now.labels),
        "assignees": [{"id": PEOPLE.index(p) + 10, "username": p} for p in sorted(now.people)],
        "milestone": {"id": now.milestone, "title": f"M{now.milestone}"} if now.milestone else None,
    }
    if item.kind == "issue":
        obj["issue_type"] = "incident" if item.incident_type else "issue"
        obj["type"] = obj["issue_type"].upper()
    else:
        merged = now.state == "merged"
        obj.update(
            source_branch=f"{item.iid}-change",
            target_branch="main",
            sha=item.sha,
            merge_commit_sha=f"{item.iid + 5000:040x}" if merged else None,
            squash_commit_sha=None,
            draft=False,
        )
    return obj


def resource_events(item: Item, what: str) -> list[dict[str, Any]]:
    """An object's resource_state_events, resource_label_events or resource_milestone_events."""
    out: list[dict[str, Any]] = []
    kind = "Issue" if item.kind == "issue" else "MergeRequest"
    base = {"user": {"id": 1, "username": "someone"}, "resource_type": kind, "resource_id": 1}
    steps = [(item.created, Change(item.created, added=list(item.labels)))] + [
        (c.at, c) for c in item.changes
    ]
    snaps = item.snaps()
    for n, (at, change) in enumerate(steps):
        stamp = {**base, "created_at": api_time(at)}
        if what == "resource_state_events" and change.state:
            out.append({**stamp, "id": len(out) + 1, "state": change.state})
        elif what == "resource_label_events":
            for action, labels in (("add", change.added), ("remove", change.removed)):
                for label in labels:
                    entry = {"id": LABELS.index(label), "name": label, "color": "#fff"}
                    out.append({**stamp, "id": len(out) + 1, "label": entry, "action": action})
        elif what == "resource_milestone_events" and change.milestone != "same":
            before = snaps[n - 1].milestone if n else None
            milestone = change.milestone if change.milestone is not None else before
            action = "add" if change.milestone is not None else "remove"
            entry = {"id": milestone, "iid": 1, "title": f"M{milestone}"}
            out.append({**stamp, "id": len(out) + 1, "milestone": entry, "action": action})
    return out


def notes(item: Item) -> list[dict[str, Any]]:
    """System notes of assignee changes (and a comment, which is not one)."""
    out: list[dict[str, Any]] = [
        {"id": 1, "body": "Looks good to me", "system": False, "created_at": api_time(item.created)}
    ]
    steps: list[tuple[datetime, list[str], list[str]]] = [(item.created, sorted(item.people), [])]
    steps += [(c.at, c.assigned, c.unassigned) for c in item.changes]
    for at, given, taken in steps:
        parts = []
        if given:
            parts.append("assigned to " + " and ".join(f"@{p}" for p in given))
        if taken:
            parts.append("unassigned " + " and ".join(f"@{p}" for p in taken))
        if parts:
            note = {"body": " and ".join(parts), "system": True, "created_at": api_time(at)}
            out.append({"id": len(out) + 1, **note})
    return out


def commits(item: Item) -> list[dict[str, Any]]:
    head_time = item.created - timedelta(hours=1)
    return [
        {"id": item.sha, "message": "Change things", "committed_date": head_time.isoformat()},
        {"id": "f" * 40, "message": "First", "committed_date": api_time(head_time - timedelta(1))},
    ]


def api_deployment(d: Deployment) -> dict[str, Any]:
    return {
        "id": d.id,
        "iid": d.id - 899,
        "ref": "main",
        "sha": d.sha,
        "status": d.status,
        "created_at": api_time(d.finished - timedelta(minutes=5)),
        "updated_at": api_time(d.finished + timedelta(seconds=2)),
        "deployable": {
            "id": d.job,
            "status": d.status,
            "finished_at": api_time(d.finished),
            "commit": {"id": d.sha, "short_id": d.sha[:8]},
        },
        "environment": {"id": 1, "name": d.environment, "tier": d.tier},
    }


def closed_at(item: Item) -> datetime | None:
    """When the item was last closed, if it is closed now."""
    if item.snaps()[-1].state != "closed":
        return None
    return next(c.at for c in reversed(item.changes) if c.state == "closed")


def links(w: World, item: Item) -> list[dict[str, Any]]:
    """`GET /issues/:iid/links`: the linked issues, as seen from `item`."""
    out = []
    for iid, linked in item.blockers:
        blocker = next(i for i in w.items if i.kind == "issue" and i.iid == iid)
        closed = closed_at(blocker)
        out.append(
            {
                **api_object(blocker),
                "closed_at": api_time(closed) if closed else None,
                "issue_link_id": 100 + iid,
                "link_type": "is_blocked_by",
                "link_created_at": api_time(linked),
                "link_updated_at": api_time(linked),
            }
        )
    out.append({**api_object(item), "issue_link_id": 1, "link_type": "relates_to"})
    return out
