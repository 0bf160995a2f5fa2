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

import recorded

CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate"}
CATEGORY["Done"] = "done"
STATUSES = list(CATEGORY)
LABELS = ["blocked", "incident", "service:api", "ux"]
TYPES = ["Story", "Bug", "Task"]
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
#: Cloud account ids and the names the changelog shows for them.
PEOPLE = {"712020:aa11": "Dana Kim", "712020:bb22": "Lee Park", "5b10a2844c20165700ede21g": "Mia"}
#: Epics (not among the generated issues): issue id -> key; the API answers them by id.
EPICS = {"30001": "ABC-900", "30002": "OPS-901", "30003": "ABC-902"}
#: Issues that block generated ones.
BLOCKING = ["ABC-500", "ABC-501", "OPS-502"]
BLOCKS = {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"}
RELATES = {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"}


def jira_time(at: datetime) -> str:
    """Jira's format: milliseconds and a `+0000` offset."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


@dataclass
class State:
    status: str
    labels: list[str]
    issuetype: str
    resolution: str | None = None
    assignee: str | None = None  # account id
    parent: str | None = None  # epic issue id
    blockers: list[str] = field(default_factory=list)  # keys of the issues blocking it

    def copy(self) -> State:
        return State(
            self.status,
            list(self.labels),
            self.issuetype,
            self.resolution,
            self.assignee,
            self.parent,
            list(self.blockers),
        )


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
            "assignee": (
                {"accountId": state.assignee, "displayName": PEOPLE[state.assignee]}
                if state.assignee
                else None
            ),
            **(
                {"parent": {"id": state.parent, "key": EPICS[state.parent]}} if state.parent else {}
            ),
            "issuelinks": [
                {"id": "1", "type": RELATES, "outwardIssue": {"id": "1", "key": "OPS-7"}},
                *(
                    {"id": str(n + 2), "type": BLOCKS, "inwardIssue": {"id": "9", "key": key}}
                    for n, key in enumerate(state.blockers)
                ),
            ],
        }


def apply(state: State, item: dict[str, Any]) -> None:
    field_id = item.get("fieldId") or item["field"]
    if field_id == "assignee":
        state.assignee = item["to"]
    elif field_id in ("IssueParentAssociation", "customfield_10014"):
        state.parent = item["to"]
    elif field_id == "Link" and "blocked by" in (item["toString"] or ""):
        state.blockers.append(item["to"])
    elif field_id == "Link" and "blocked by" in (item["fromString"] or ""):
        state.blockers.remove(item["from"])
    elif field_id == "status":
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


def _assign(state: State, to: str | None) -> dict[str, Any]:
    before = state.assignee
    return {
        **_item("assignee", None, PEOPLE[to] if to else None),
        "from": before,
        "fromString": PEOPLE[before] if before else None,
        "to": to,
    }


def _reparent(rng: random.Random, state: State) -> dict[str, Any]:
    """Team-managed projects name the parent by id only; an Epic Link item also by key."""
    to = rng.choice([e for e in [*EPICS, None] if e != state.parent])
    if rng.random() < 0.5:
        change = _item("customfield_10014", None, EPICS[to] if to else None, name="Epic Link")
        change["fromString"] = EPICS[state.parent] if state.parent else None
    else:
        change = {"field": "IssueParentAssociation", "fieldtype": "jira"}
        change |= {"fromString": None, "toString": None}
    return change | {"from": state.parent, "to": to}


def _link(rng: random.Random, state: State) -> dict[str, Any]:
    """Add or remove an "is blocked by" link, or add a link flowgauge does not read."""
    free = [k for k in BLOCKING if k not in state.blockers]
    roll = rng.random()
    if roll < 0.15:
        text = rng.choice(["This issue relates to OPS-7", "This issue blocks ABC-8"])
        side = {"from": None, "fromString": None, "to": text[-5:], "toString": text}
    elif state.blockers and (roll < 0.55 or not free):
        key = rng.choice(state.blockers)
        side = {"from": key, "fromString": f"This issue is blocked by {key}"}
        side |= {"to": None, "toString": None}
    else:
        key = rng.choice(free)
        side = {"from": None, "fromString": None}
        side |= {"to": key, "toString": f"This issue is blocked by {key}"}
    return {"field": "Link", "fieldtype": "jira", **side}


def _status(rng: random.Random, state: State) -> list[dict[str, Any]]:
    to = rng.choice([s for s in STATUSES if s != state.status])
    items = [_item("status", state.status, to)]
    if to == "Done":
        items.append(_item("resolution", state.resolution, "Done"))
    elif state.status == "Done":
        items.append(_item("resolution", state.resolution, None))
    return items


def _changes(rng: random.Random, state: State, flagged: list[bool]) -> list[dict[str, Any]]:
    kinds = ["status", "status", "status", "labels", "flag", "type", "noise"]
    kind = rng.choice([*kinds, "assign", "assign+status", "parent", "link", "link"])
    if kind == "assign":
        return [_assign(state, rng.choice([p for p in [*PEOPLE, None] if p != state.assignee]))]
    if kind == "assign+status":  # one history, two changes: the holder rides on the state
        to = rng.choice([p for p in PEOPLE if p != state.assignee])
        return [_assign(state, to), *_status(rng, state)]
    if kind == "parent":
        return [_reparent(rng, state)]
    if kind == "link":
        return [_link(rng, state)]
    if kind == "status":
        return _status(rng, state)
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
            initial=State(
                rng.choice(["To Do", "To Do", "In Progress"]),
                labels,
                rng.choice(TYPES),
                assignee=rng.choice([*PEOPLE, None]),
                parent=rng.choice([*EPICS, None]),
                blockers=rng.sample(BLOCKING, rng.choice([0, 0, 0, 1, 2])),
            ),
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
    return recorded.delivery_lines("jira", "x-atlassian-webhook-identifier", deliveries)


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
