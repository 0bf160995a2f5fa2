"""`dora.incident_labels` decides which tracker issues are incidents (docs/dora.md, "Incidents").

The sources know no config: they report incident *candidates* for labelled issues (and issues
of type Incident), and the routing layer keeps those the config makes incidents. Each case is a
golden payload of the project (edited in memory) run through `normalize_delivery` (what the
worker and `flowgauge report` run) with the default config and with one naming `Sev1` instead,
expecting the incident events kept: (type, service).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest
from sources_helpers import payload

from flowgauge.engine.processor import Processor
from flowgauge.model import DoraConfig, FlowConfig, FlowEvent, Stage, StreamConfig, to_micros
from flowgauge.model.delivery import Delivery
from flowgauge.sources import REGISTRY
from flowgauge.stream.pipeline import normalize_delivery

GH = "acme-shop/storefront"
GL = "acme-shop/warehouse"
STREAM = StreamConfig(name="all", stages=(Stage(name="open", kind="wait"),))
DEFAULT = FlowConfig(streams=(STREAM,))
SEV1 = FlowConfig(streams=(STREAM,), dora=DoraConfig(incident_labels=("Sev1",)))
HEADERS = {
    "github": {"x-github-delivery": "d-1"},
    "gitlab": {"idempotency-key": "g-1"},
    "jira": {"x-atlassian-webhook-identifier": "j-1"},
}

Kept = list[tuple[str, str]]


def deliver(source: str, body: Any, config: FlowConfig) -> Any:
    """`normalize_delivery` of one payload: what the worker and the batch report run."""
    headers = {
        **HEADERS.get(source, {}),
        **({"x-github-event": "issues"} if source == "github" else {}),
    }
    delivery = Delivery(
        source=source,
        headers=headers,
        body=orjson.dumps(body).decode(),
        received_at="2026-01-01T00:00:00+00:00",
        delivery_id="d-1",
    )
    return normalize_delivery(delivery, config)


# --- payload builders (golden payloads, edited) ---------------------------------------------


def gh_issue(name: str, labels: list[str], **issue: Any) -> Callable[[], Any]:
    def build() -> Any:
        body = payload("github", name)
        body["issue"].update(labels=[{"name": x} for x in labels], **issue)
        return body

    return build


def gh_action(name: str, action: str, labels: list[str], **issue: Any) -> Callable[[], Any]:
    def build() -> Any:
        body = gh_issue(name, labels, **issue)()
        body["action"] = action
        return body

    return build


def gh_labeled(added: str, labels: list[str], state: str = "open") -> Callable[[], Any]:
    def build() -> Any:
        body = gh_issue("issues.labeled.json", labels, state=state)()
        body["label"] = {"name": added}
        return body

    return build


def gl_issue(labels: list[str], **attrs: Any) -> Callable[[], Any]:
    def build() -> Any:
        body = payload("gitlab", "issue.open.json")
        body["labels"] = [{"title": x} for x in labels]
        body["object_attributes"].update(attrs)
        return body

    return build


def gl_label_added(added: str, state: str = "opened") -> Callable[[], Any]:
    def build() -> Any:
        body = gl_issue(["backend", added], action="update", state=state)()
        backend = body["changes"]["labels"]["current"][0]
        body["changes"]["labels"] = {
            "previous": [backend],
            "current": [backend, {**backend, "id": 999, "title": added}],
        }
        return body

    return build


def jira_issue(name: str, labels: list[str], issue_type: str | None = None) -> Callable[[], Any]:
    def build() -> Any:
        body = payload("jira", name)
        body["issue"]["fields"]["labels"] = labels
        if issue_type is not None:
            body["issue"]["fields"]["issuetype"]["name"] = issue_type
        return body

    return build


def jira_labels(before: str, after: str) -> Callable[[], Any]:
    def build() -> Any:
        body = jira_issue("jira_issue_updated.labels.json", after.split())()
        body["changelog"]["items"][0].update(fromString=before, toString=after)
        return body

    return build


OPENED_GH = [("incident_opened", GH)]
RESOLVED_GH = [("incident_resolved", GH)]
OPENED_GL = [("incident_opened", GL)]
OPENED_SHOP = [("incident_opened", "SHOP")]
NONE: Kept = []

# (case, source, payload, kept with the default config, kept with `incident_labels: [Sev1]`)
CASES: list[tuple[str, str, Callable[[], Any], Kept, Kept]] = [
    ("gh sample (bug)", "github", gh_issue("issues.opened.json", ["bug"]), NONE, NONE),
    ("gh opened incident", "github", gh_issue("issues.opened.json", ["incident"]), OPENED_GH, NONE),
    ("gh opened sev1", "github", gh_issue("issues.opened.json", ["bug", "SEV1"]), NONE, OPENED_GH),
    (
        "gh closed sev1",
        "github",
        gh_action("issues.opened.json", "closed", ["sev1"], closed_at="2026-02-04T10:00:00Z"),
        NONE,
        RESOLVED_GH,
    ),
    (
        "gh reopened sev1",
        "github",
        gh_action("issues.reopened.json", "reopened", ["sev1"]),
        NONE,
        OPENED_GH,
    ),
    ("gh sev1 added", "github", gh_labeled("sev1", ["bug", "sev1"]), NONE, OPENED_GH),
    ("gh incident added", "github", gh_labeled("Incident", ["Incident"]), OPENED_GH, NONE),
    ("gh bug added to sev1", "github", gh_labeled("bug", ["bug", "sev1"]), NONE, NONE),
    ("gh sev1 added closed", "github", gh_labeled("sev1", ["sev1"], "closed"), NONE, NONE),
    (
        "gh type Incident",
        "github",
        gh_issue("issues.opened.json", [], type={"name": "Incident"}),
        OPENED_GH,
        OPENED_GH,
    ),
    ("gl payload (backend)", "gitlab", gl_issue(["backend"]), NONE, NONE),
    ("gl opened sev1", "gitlab", gl_issue(["sev1"]), NONE, OPENED_GL),
    ("gl reopened incident", "gitlab", gl_issue(["incident"], action="reopen"), OPENED_GL, NONE),
    (
        "gl closed sev1",
        "gitlab",
        gl_issue(["sev1"], action="close", state="closed"),
        NONE,
        [("incident_resolved", GL)],
    ),
    ("gl sev1 added", "gitlab", gl_label_added("sev1"), NONE, OPENED_GL),
    ("gl sev1 added closed", "gitlab", gl_label_added("sev1", "closed"), NONE, NONE),
    ("gl type Incident", "gitlab", gl_issue([], type="Incident"), OPENED_GL, OPENED_GL),
    ("jira payload", "jira", jira_issue("jira_issue_created.json", ["checkout"]), NONE, NONE),
    (
        "jira created sev1",
        "jira",
        jira_issue("jira_issue_created.json", ["sev1"]),
        NONE,
        OPENED_SHOP,
    ),
    (
        "jira created sev1 service",
        "jira",
        jira_issue("jira_issue_created.json", ["sev1", "service:acme/api"]),
        NONE,
        [("incident_opened", "acme/api")],
    ),
    ("jira sev1 added", "jira", jira_labels("checkout", "checkout sev1"), NONE, OPENED_SHOP),
    (
        "jira incident added",
        "jira",
        jira_labels("checkout", "checkout incident"),
        OPENED_SHOP,
        NONE,
    ),
    (
        "jira checkout added to sev1",
        "jira",
        jira_labels("sev1", "checkout sev1"),
        NONE,
        NONE,
    ),
    (
        "jira done sev1",
        "jira",
        jira_issue("jira_issue_updated.status-inprogress-to-done.json", ["sev1"]),
        NONE,
        [("incident_resolved", "SHOP")],
    ),
    (
        "jira left done sev1",
        "jira",
        jira_issue("jira_issue_updated.status-done-to-todo.json", ["sev1"]),
        NONE,
        OPENED_SHOP,
    ),
    (
        "jira type Incident",
        "jira",
        jira_issue("jira_issue_created.json", [], issue_type="Incident"),
        OPENED_SHOP,
        OPENED_SHOP,
    ),
]


@pytest.mark.parametrize(
    ("source", "build", "config", "expected"),
    [
        pytest.param(source, build, config, expected, id=f"{case} [{name}]")
        for case, source, build, default, sev1 in CASES
        for name, config, expected in (("default", DEFAULT, default), ("sev1", SEV1, sev1))
    ],
)
def test_the_config_decides_which_issues_are_incidents(
    source: str, build: Callable[[], Any], config: FlowConfig, expected: Kept
) -> None:
    body = build()
    result = deliver(source, body, config)
    kept = [(e.type, e.service) for _, e in result.events if e.type.startswith("incident")]
    assert kept == expected
    headers = {**HEADERS[source], "x-github-event": "issues"}
    candidates = [e for e in REGISTRY[source].normalize(headers, body) if e.type.startswith("inc")]
    # a dropped candidate is neither an error nor unrouted: every item event found its stream
    assert (result.error, result.unrouted) == (None, 0)
    assert result.dropped == len(candidates) - len(expected)


def test_generic_incidents_always_count() -> None:
    event = {"id": "i1", "type": "incident_opened", "item": "I-1", "at": "2026-01-01T00:00:00Z"}
    for config in (DEFAULT, SEV1):
        result = deliver("generic", [event], config)
        assert [e.type for _, e in result.events] == ["incident_opened"]


def test_the_batch_report_honours_incident_labels_too() -> None:
    """Opened and closed `sev1` issue: a restore time with `[Sev1]`, no incident by default."""
    opened = gh_issue("issues.opened.json", ["sev1"])()
    closed = gh_action("issues.opened.json", "closed", ["sev1"], closed_at="2026-02-04T10:00:00Z")()
    events: list[FlowEvent] = [
        *REGISTRY["github"].normalize(
            {"x-github-event": "issues", "x-github-delivery": "a"}, opened
        ),
        *REGISTRY["github"].normalize(
            {"x-github-event": "issues", "x-github-delivery": "b"}, closed
        ),
    ]
    now = to_micros(datetime.fromisoformat("2026-02-10T00:00:00+00:00"))
    restored = Processor.from_events(SEV1, events).snapshot(now).services
    assert [(m.service, dict(m.time_to_restore)["0.5"]) for m in restored] == [
        (
            GH,
            (
                datetime.fromisoformat("2026-02-04T10:00:00+00:00") - opened_at(opened)
            ).total_seconds(),
        )
    ]
    assert Processor.from_events(DEFAULT, events).snapshot(now).services == ()


def opened_at(body: Any) -> datetime:
    return datetime.fromisoformat(body["issue"]["created_at"].replace("Z", "+00:00"))
