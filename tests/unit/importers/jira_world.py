"""A Jira history built once, rendered two ways: as the webhooks Jira sent while it happened,
and as what Jira's REST API answers afterwards (issues as they are now, and their changelogs).

The webhooks are simulated forwards (each body carries the issue as it was right after the
change); the importer reconstructs the same bodies backwards from the API's view. Comparing the
two is the test that an import gives exactly what the webhooks gave.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate"}
CATEGORY["Done"] = "done"
STATUSES = list(CATEGORY)
LABELS = ["blocked", "incident", "service:api", "ux"]
TYPES = ["Story", "Bug", "Task"]
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def jira_time(at: datetime) -> str:
    """Jira's format: milliseconds and a `+0000` offset."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


@dataclass
class State:
    status: str
    labels: list[str]
    issuetype: str
    resolution: str | None = None

    def copy(self) -> State:
        return State(self.status, list(self.labels), self.issuetype, self.resolution)


@dataclass
class History:
    id: int
    at: datetime
    items: list[dict[str, Any]]


@dataclass
class Issue:
    id: int
    key: str
    created: datetime
    initial: State
    histories: list[History] = field(default_factory=list)

    @property
    def project(self) -> str:
        return self.key.split("-")[0]

    def states(self) -> list[State]:
        """The state after creation, then after each history."""
        out = [self.initial.copy()]
        for history in self.histories:
            state = out[-1].copy()
            for item in history.items:
                apply(state, item)
            out.append(state)
        return out

    def fields(self, state: State, updated: datetime) -> dict[str, Any]:
        return {
            "created": jira_time(self.created),
            "updated": jira_time(updated),
            "project": {"key": self.project, "name": f"Project {self.project}"},
            "status": {"name": state.status, "statusCategory": {"key": CATEGORY[state.status]}},
            "labels": list(state.labels),
            "issuetype": {"name": state.issuetype, "subtask": False},
            "resolution": {"name": state.resolution} if state.resolution else None,
            "summary": f"issue {self.key}",
        }


def apply(state: State, item: dict[str, Any]) -> None:
    field_id = item["fieldId"]
    if field_id == "status":
        state.status = item["toString"]
    elif field_id == "labels":
        state.labels = (item["toString"] or "").split()
    elif field_id == "issuetype":
        state.issuetype = item["toString"]
    elif field_id == "resolution":
        state.resolution = item["toString"]


def _item(field_id: str, before: str | None, after: str | None, name: str = "") -> dict[str, Any]:
    return {
        "field": name or field_id,
        "fieldtype": "custom" if field_id.startswith("customfield") else "jira",
        "fieldId": field_id,
        "from": None,
        "fromString": before,
        "to": None,
        "toString": after,
    }


def _changes(rng: random.Random, state: State, flagged: list[bool]) -> list[dict[str, Any]]:
    kind = rng.choice(["status", "status", "status", "labels", "flag", "type", "noise"])
    if kind == "status":
        to = rng.choice([s for s in STATUSES if s != state.status])
        items = [_item("status", state.status, to)]
        if to == "Done":
            items.append(_item("resolution", state.resolution, "Done"))
        elif state.status == "Done":
            items.append(_item("resolution", state.resolution, None))
        return items
    if kind == "labels":
        after = list(state.labels)
        label = rng.choice(LABELS)
        after.remove(label) if label in after else after.append(label)
        return [_item("labels", " ".join(state.labels), " ".join(after))]
    if kind == "flag":
        flagged[0] = not flagged[0]
        was, now = (None, "Impediment") if flagged[0] else ("Impediment", None)
        return [_item("customfield_10021", was, now, name="Flagged")]
    if kind == "type":
        to = rng.choice([t for t in TYPES if t != state.issuetype])
        return [_item("issuetype", state.issuetype, to)]
    return [_item("description", "old text", "new text")]


def world(seed: int, issues: int = 23, projects: tuple[str, ...] = ("ABC", "OPS")) -> list[Issue]:
    """Random issues over a few weeks, each with a random changelog (ids unique, ascending)."""
    rng = random.Random(seed)
    out: list[Issue] = []
    history_id = 10_000
    for n in range(issues):
        created = START + timedelta(
            minutes=rng.randrange(0, 20 * 24 * 60), milliseconds=rng.randrange(1000)
        )
        labels = rng.sample(LABELS, rng.randrange(0, 2))
        issue = Issue(
            id=20_000 + n,
            key=f"{rng.choice(projects)}-{n + 1}",
            created=created,
            initial=State(rng.choice(["To Do", "To Do", "In Progress"]), labels, rng.choice(TYPES)),
        )
        state, at, flagged = issue.initial.copy(), created, [False]
        for _ in range(rng.randrange(0, 9)):
            at += timedelta(minutes=rng.randrange(1, 3 * 24 * 60), milliseconds=rng.randrange(1000))
            history_id += rng.randrange(1, 4)
            history = History(history_id, at, _changes(rng, state, flagged))
            for item in history.items:
                apply(state, item)
            issue.histories.append(history)
        out.append(issue)
    return out


# --- the webhooks Jira sent -------------------------------------------------------------------


def webhooks(issues: list[Issue]) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """(headers, body) of every webhook, each with its own delivery identifier."""
    out: list[tuple[dict[str, str], dict[str, Any]]] = []
    for issue in issues:
        states = issue.states()
        for n, state in enumerate(states):
            history = issue.histories[n - 1] if n else None
            at = history.at if history else issue.created
            body: dict[str, Any] = {
                "timestamp": int(at.timestamp() * 1000 + 0.5),
                "webhookEvent": "jira:issue_updated" if history else "jira:issue_created",
                "issue": {"id": str(issue.id), "key": issue.key, "fields": issue.fields(state, at)},
            }
            if history is not None:
                body["changelog"] = {"id": str(history.id), "items": history.items}
            else:  # Jira's creation changelog: its own id, never listed by the REST API
                body["changelog"] = {
                    "id": "9" + str(issue.id),
                    "items": [_item("status", None, state.status)],
                }
            out.append(({"x-atlassian-webhook-identifier": str(uuid.uuid4())}, body))
    return out


def delivery_lines(deliveries: list[tuple[dict[str, str], dict[str, Any]]]) -> bytes:
    """What the raw topic (and `report`) reads: one delivery record per line."""
    import orjson

    return b"".join(
        orjson.dumps(
            {
                "source": "jira",
                "headers": headers,
                "body": orjson.dumps(body).decode(),
                "delivery_id": headers["x-atlassian-webhook-identifier"],
            }
        )
        + b"\n"
        for headers, body in deliveries
    )


# --- what the REST API answers ------------------------------------------------------------------


def api_issue(issue: Issue, with_changelog: bool = False) -> dict[str, Any]:
    state = issue.states()[-1]
    updated = issue.histories[-1].at if issue.histories else issue.created
    out: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": str(issue.id),
        "self": f"/rest/api/2/issue/{issue.id}",
        "key": issue.key,
        "fields": issue.fields(state, updated),
    }
    if with_changelog:
        values = api_histories(issue)
        out["changelog"] = {
            "startAt": 0,
            "maxResults": len(values),
            "total": len(values),
            "histories": values,
        }
    return out


def api_histories(issue: Issue) -> list[dict[str, Any]]:
    return [
        {
            "id": str(h.id),
            "author": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof"},
            "created": jira_time(h.at),
            "items": h.items,
        }
        for h in issue.histories
    ]
