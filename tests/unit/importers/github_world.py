"""A GitHub history built once, rendered two ways: as the webhooks GitHub sent while it happened
(here), and as what GitHub's REST API answers afterwards (github_api.py: issues as they are now,
their timelines, pull requests, their commits; deployments and their statuses are here, the same
objects in both).

The webhooks are simulated forwards (each body carries the item as it was right after the
change, as GitHub sends it); the importer reconstructs them backwards from the API's view.
Comparing the two is the test that an import gives exactly what the webhooks gave.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import recorded

REPO = "acme/shop"
LABELS = ["blocked", "bug", "incident", "ux"]
PEOPLE = ["ana", "Bo", "cy"]
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def gh_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Change:
    """One timeline entry: `event` as the timeline names it, and what it names."""

    event: str
    at: datetime
    value: str | None = None  # label, login, review state
    id: int = 0


@dataclass
class Item:
    number: int
    created: datetime
    pull: bool
    labels: list[str]
    assignees: list[str]
    draft: bool = False
    parent: int | None = None
    changes: list[Change] = field(default_factory=list)
    commits: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def merged(self) -> Change | None:
        return next((c for c in self.changes if c.event == "merged"), None)

    @property
    def head(self) -> str:
        return self.commits[-1][0] if self.commits else f"{self.number:040x}"

    @property
    def merge_sha(self) -> str:
        return f"{self.number + 10**6:040x}"


@dataclass
class Deployment:
    id: int
    sha: str
    environment: str
    created: datetime
    statuses: list[tuple[int, str, datetime]]  # (id, state, at)
    run: int | None = None  # made by a GitHub Actions run


@dataclass
class World:
    items: list[Item]
    deployments: list[Deployment]


def _changes(rng: random.Random, item: Item, at: datetime, ids: list[int]) -> None:
    labels, assignees, open_, draft = list(item.labels), list(item.assignees), True, item.draft
    for _ in range(rng.randrange(0, 10)):
        at += timedelta(minutes=rng.randrange(1, 2 * 24 * 60), seconds=rng.randrange(60))
        ids[0] += 1
        kinds = ["label", "label", "assign", "close" if open_ else "reopen"]
        if item.pull and open_:
            kinds += ["draft", "request", "review", "review"]
        kind = rng.choice(kinds)
        if kind == "label":
            label = rng.choice(LABELS)
            event = "unlabeled" if label in labels else "labeled"
            labels.remove(label) if label in labels else labels.append(label)
            item.changes.append(Change(event, at, label, ids[0]))
        elif kind == "assign":
            who = rng.choice(PEOPLE)
            event = "unassigned" if who in assignees else "assigned"
            assignees.remove(who) if who in assignees else assignees.append(who)
            item.changes.append(Change(event, at, who, ids[0]))
        elif kind in ("close", "reopen"):
            open_ = kind == "reopen"
            item.changes.append(Change("reopened" if open_ else "closed", at, None, ids[0]))
        elif kind == "draft":
            draft = not draft
            event = "convert_to_draft" if draft else "ready_for_review"
            item.changes.append(Change(event, at, None, ids[0]))
        elif kind == "request":
            item.changes.append(Change("review_requested", at, rng.choice(PEOPLE), ids[0]))
        else:
            state = rng.choice(["approved", "changes_requested", "commented"])
            item.changes.append(Change("reviewed", at, state, ids[0]))
    if item.pull and open_ and rng.random() < 0.6:
        at += timedelta(hours=rng.randrange(1, 48))
        ids[0] += 1
        item.changes.append(Change("merged", at, None, ids[0]))
        first = item.created - timedelta(hours=rng.randrange(1, 72))
        item.commits = [
            (f"{item.number:020x}{n:020x}", first + timedelta(minutes=30 * n))
            for n in range(rng.randrange(1, 4))
        ]


def world(seed: int, items: int = 30, deployments: int = 8) -> World:
    """Random issues and pull requests over a few weeks, and deployments of the merged ones."""
    rng = random.Random(seed)
    out: list[Item] = []
    ids = [50_000]
    for number in range(1, items + 1):
        created = START + timedelta(minutes=rng.randrange(0, 20 * 24 * 60))
        pull = rng.random() < 0.45
        item = Item(
            number=number,
            created=created,
            pull=pull,
            labels=rng.sample(LABELS, rng.randrange(0, 2)),
            assignees=rng.sample(PEOPLE, rng.randrange(0, 3)),
            draft=pull and rng.random() < 0.3,
            parent=rng.choice([None, None, 1, 2]) if not pull and number > 2 else None,
        )
        _changes(rng, item, created, ids)
        out.append(item)
    merged = [i for i in out if i.merged]
    shipped: list[Deployment] = []
    for n in range(deployments if merged else 0):
        item = rng.choice(merged)
        assert item.merged is not None
        at = item.merged.at + timedelta(hours=rng.randrange(1, 30))
        final = rng.choice(["success", "success", "failure", "error"])
        statuses = [
            (900 + 10 * n, "in_progress", at),
            (901 + 10 * n, final, at + timedelta(minutes=7)),
        ]
        run = 7000 + n if rng.random() < 0.5 else None
        env = rng.choice(["production", "production", "staging"])
        shipped.append(Deployment(3000 + n, item.merge_sha, env, at, statuses, run))
    return World(out, shipped)


# --- the webhooks GitHub sent ---------------------------------------------------------------------


def _repository() -> dict[str, Any]:
    return {"id": 1296269, "name": "shop", "full_name": REPO, "owner": {"login": "acme"}}


def object_at(item: Item, state: dict[str, Any], at: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 10_000 + item.number,
        "number": item.number,
        "title": f"item {item.number}",
        "body": None,
        "user": {"login": "octocat"},
        "labels": [{"name": name, "color": "ededed"} for name in state["labels"]],
        "assignees": [{"login": login, "type": "User"} for login in state["assignees"]],
        "state": "open" if state["open"] else "closed",
        "created_at": gh_time(item.created),
        "updated_at": gh_time(at),
        "closed_at": state["closed_at"],
    }
    if not item.pull:
        url = f"https://api.github.com/repos/{REPO}/issues/{item.parent}" if item.parent else None
        body["parent_issue_url"] = url
        return body
    merged = item.merged
    body.update(
        draft=state["draft"],
        head={"ref": f"feature-{item.number}", "sha": item.head},
        merged=bool(merged and merged.at == at),
        merged_at=gh_time(merged.at) if merged and merged.at == at else None,
        merge_commit_sha=item.merge_sha if merged and merged.at == at else None,
    )
    return body


def apply(state: dict[str, Any], change: Change) -> None:
    for event, key, add in (
        ("labeled", "labels", True),
        ("unlabeled", "labels", False),
        ("assigned", "assignees", True),
        ("unassigned", "assignees", False),
    ):
        if change.event == event:
            state[key].append(change.value) if add else state[key].remove(change.value)
    if change.event in ("closed", "merged"):
        state["open"], state["closed_at"] = False, gh_time(change.at)
    elif change.event == "reopened":
        state["open"], state["closed_at"] = True, None
    elif change.event in ("convert_to_draft", "ready_for_review"):
        state["draft"] = change.event == "convert_to_draft"


_WEBHOOK_ACTIONS = {
    "merged": "closed",
    "convert_to_draft": "converted_to_draft",
}


def item_webhooks(item: Item) -> list[tuple[str, dict[str, Any]]]:
    """(event, body) of every webhook of one issue or pull request, in order."""
    kind, key = ("pull_request", "pull_request") if item.pull else ("issues", "issue")
    state = {
        "labels": list(item.labels),
        "assignees": list(item.assignees),
        "open": True,
        "closed_at": None,
        "draft": item.draft,
    }
    out = [(kind, {"action": "opened", key: object_at(item, state, item.created)})]
    for change in item.changes:
        apply(state, change)
        body: dict[str, Any] = {key: object_at(item, state, change.at)}
        if change.event == "reviewed":
            body["action"] = "submitted"
            body["review"] = {
                "id": change.id,
                "state": change.value,
                "submitted_at": gh_time(change.at),
            }
            out.append(("pull_request_review", body))
            continue
        body["action"] = _WEBHOOK_ACTIONS.get(change.event, change.event)
        if change.event in ("labeled", "unlabeled"):
            body["label"] = {"name": change.value, "color": "ededed"}
        elif change.event in ("assigned", "unassigned"):
            body["assignee"] = {"login": change.value}
        elif change.event == "review_requested":
            body["requested_reviewer"] = {"login": change.value}
        out.append((kind, body))
    if item.merged and item.commits:
        commits = [
            {"id": sha, "timestamp": gh_time(at), "distinct": True} for sha, at in item.commits
        ]
        push: dict[str, Any] = {
            "ref": f"refs/heads/feature-{item.number}",
            "before": "0" * 40,
            "after": item.head,
            "commits": commits,
            "head_commit": {"id": item.head, "timestamp": gh_time(item.commits[-1][1])},
            "pusher": {"name": "octocat"},
        }
        out.append(("push", push))
    return out


def deployment_webhooks(deployment: Deployment) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for status_id, state, at in deployment.statuses:
        body: dict[str, Any] = {
            "action": "created",
            "deployment_status": api_status(deployment, status_id, state, at),
            "deployment": api_deployment(deployment),
        }
        if deployment.run is not None:
            body["workflow_run"] = {"id": deployment.run, "name": "deploy"}
        out.append(("deployment_status", body))
    return out


def webhooks(history: World) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """(headers, body) of every webhook, each with its own delivery GUID."""
    sent = [w for item in history.items for w in item_webhooks(item)]
    sent += [w for d in history.deployments for w in deployment_webhooks(d)]
    return [
        (
            {"x-github-event": event, "x-github-delivery": str(uuid.uuid4())},
            {**body, "repository": _repository()},
        )
        for event, body in sent
    ]


def delivery_lines(deliveries: list[tuple[dict[str, str], dict[str, Any]]]) -> bytes:
    """What the raw topic (and `report`) reads: one delivery record per line."""
    return recorded.delivery_lines("github", "x-github-delivery", deliveries)


# --- objects both the webhooks and the API carry ------------------------------------------------


def api_deployment(deployment: Deployment) -> dict[str, Any]:
    return {
        "id": deployment.id,
        "sha": deployment.sha,
        "ref": "main",
        "environment": deployment.environment,
        "created_at": gh_time(deployment.created),
        "updated_at": gh_time(deployment.statuses[-1][2]),
    }


def api_status(deployment: Deployment, status_id: int, state: str, at: datetime) -> dict[str, Any]:
    run = deployment.run
    log = f"https://github.com/{REPO}/actions/runs/{run}/job/1" if run else ""
    return {
        "id": status_id,
        "state": state,
        "environment": deployment.environment,
        "created_at": gh_time(at),
        "updated_at": gh_time(at),
        "log_url": log,
        "target_url": log,
    }
