"""Shared by the source tests: the project's own webhook payloads, the shared corpus, builders.

The project's payloads (`tests/fixtures/webhooks/<source>/`) are written for flowgauge from each
platform's documented payloads and headers: every test that edits a "real" payload starts from
one of them, so a clone of the repository tests itself. The corpus beside the repository
(`../shared/webhooks`, platforms' own recordings) is an extra acceptance layer: its tests run
when it is there (CI has it) and are skipped, saying so, when it is not.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flowgauge.model import DoraConfig, FlowEvent
from flowgauge.signing import hmac_hex
from flowgauge.sources import PROVIDERS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "webhooks"
CORPUS = Path(__file__).resolve().parents[4] / "shared" / "webhooks"
SOURCES = (*PROVIDERS, "generic")

#: Marks a test of the shared corpus: skipped, with the reason, in a clone without it.
#: In CI (`CI` set) the corpus is always beside the repository: there the tests run, and fail
#: loudly if it is missing, instead of skipping.
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir() and not os.environ.get("CI"),
    reason=f"shared webhook corpus not found at {CORPUS} (acceptance layer; CI has it)",
)

#: The secret every fixture delivery is signed with (the ingester's per-source secret).
SECRET = b"fixture-secret-7d41"


def fixture_files(source: str) -> list[str]:
    """Every payload the project keeps for a source, by file name."""
    return sorted(p.name for p in (FIXTURES / source).glob("*.json"))


def raw(source: str, name: str) -> bytes:
    """A project payload's bytes, exactly as the platform would send them."""
    return (FIXTURES / source / name).read_bytes()


def payload(source: str, name: str, **changes: Any) -> dict[str, Any]:
    """A project payload (a JSON object) parsed, with top-level keys replaced (`None` deletes)."""
    body = json.loads(raw(source, name))
    assert isinstance(body, dict), f"{source}/{name} is not a JSON object"
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def corpus_files(provider: str) -> list[str]:
    """Every sample of a provider in the shared corpus (README excluded), by file name."""
    folder = CORPUS / provider
    return sorted(p.name for p in folder.iterdir() if p.name != "README.md")


def corpus_raw(provider: str, name: str) -> bytes:
    return (CORPUS / provider / name).read_bytes()


def _delivery_uuid(source: str, name: str) -> str:
    """A stable per-file delivery GUID (what the platforms send is a random one)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"flowgauge-fixture:{source}/{name}"))


_GITLAB_HOOKS = {
    "issue": "Issue Hook",
    "merge_request": "Merge Request Hook",
    "deployment": "Deployment Hook",
    "push": "Push Hook",
    "pipeline": "Pipeline Hook",
    "build": "Job Hook",
}


def delivery_headers(source: str, name: str) -> dict[str, str]:
    """The headers the platform documents beside the body, signature aside (lower-cased, as
    the ingester hands them to a source)."""
    guid = _delivery_uuid(source, name)
    if source == "github":
        return {
            "user-agent": "GitHub-Hookshot/6a1b2c3",
            "x-github-event": name.split(".", 1)[0],
            "x-github-delivery": guid,
            "x-github-hook-id": "480001",
            "x-github-hook-installation-target-type": "repository",
            "x-github-hook-installation-target-id": "70010001",
        }
    if source == "gitlab":
        kind = payload(source, name)["object_kind"]
        return {
            "user-agent": "GitLab/17.8.0",
            "x-gitlab-event": _GITLAB_HOOKS[kind],
            "x-gitlab-instance": "https://gitlab.example.com",
            "x-gitlab-webhook-uuid": "0c4e8f52-5b7d-4a15-9a3c-2f1b6d8e9a70",
            "x-gitlab-event-uuid": guid,
            "idempotency-key": guid,
        }
    if source == "jira":
        return {
            "x-atlassian-webhook-identifier": guid,
            "user-agent": "Atlassian Webhook HTTP Client",
        }
    if source == "plane":
        body = payload(source, name)  # v2 names the entity; v1 (Community Edition) the model
        return {"x-plane-delivery": guid, "x-plane-event": body.get("entity_type") or body["event"]}
    if source == "linear":
        return {
            "linear-delivery": guid,
            "linear-event": payload(source, name)["type"],
            "user-agent": "Linear-Webhook",
        }
    return {"x-flowgauge-delivery": guid}


#: source -> (signature header, what precedes the hex HMAC-SHA256 of the body)
_SIGNATURES = {
    "github": ("x-hub-signature-256", "sha256="),
    "jira": ("x-hub-signature", "sha256="),
    "plane": ("x-plane-signature", ""),
    "linear": ("linear-signature", ""),
    "generic": ("x-flowgauge-signature", "sha256="),
}


def signed(source: str, name: str, secret: bytes = SECRET) -> tuple[dict[str, str], bytes]:
    """A fixture as delivered: its headers, signed with the project's own HMAC code, and body.

    GitLab sends its secret token as is (`X-Gitlab-Token`) rather than a signature.
    """
    body = raw(source, name)
    headers = delivery_headers(source, name)
    if source == "gitlab":
        headers["x-gitlab-token"] = secret.decode()
    else:
        header, prefix = _SIGNATURES[source]
        headers[header] = prefix + hmac_hex(secret, body)
    return headers, body


def ev(source: str, type_: str, item: str, at: str, **fields: Any) -> FlowEvent:
    """An expected event (its id is checked separately)."""
    return FlowEvent(
        id="-", source=source, type=type_, item=item, at=datetime.fromisoformat(at), **fields
    )


def kept(events: list[FlowEvent], config: DoraConfig | None = None) -> list[FlowEvent]:
    """The events the routing layer keeps with `config` (default: the default DORA config):
    incident candidates of issues that are no incidents dropped (docs/dora.md)."""
    config = config or DoraConfig()
    return [event for event in events if config.counts_incident(event)]


def same_events(got: list[FlowEvent], expected: list[FlowEvent]) -> None:
    """Equal field by field, ids aside (times compare as instants)."""
    assert [e.model_dump(exclude={"id"}) for e in got] == [
        e.model_dump(exclude={"id"}) for e in expected
    ]


def gitlab_change_id(event: FlowEvent) -> str:
    """A GitLab issue / merge request event's id, written out independently of the source:
    `<item>@<epoch seconds>/<type or label change>:<state | label>` (sources/_gitlab_change.py)."""
    seconds = int(event.at.timestamp())
    if event.type in ("labeled", "unlabeled"):
        what = f"label{'+' if event.type == 'labeled' else '-'}:{event.label}"
    elif event.type.startswith("incident_"):
        what = f"{event.type}:{event.label}" if event.label else event.type
    elif event.type == "commit":
        what = f"commit:{event.item.rsplit('/', 1)[-1]}"
    else:
        what = f"{event.type}:{event.state}"
    return f"{event.item}@{seconds}/{what}"
