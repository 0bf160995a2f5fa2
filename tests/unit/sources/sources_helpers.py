"""Shared by the source tests: the webhook corpus (read in place, never copied) and builders."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from flowgauge.model import DoraConfig, FlowEvent

CORPUS = Path(__file__).parents[3] / ".." / "shared" / "webhooks"
PROVIDERS = ("github", "gitlab", "jira", "plane", "linear")

# The corpus is part of the test set-up (CI has ../shared too): its absence fails, never skips.
assert CORPUS.is_dir(), f"webhook corpus not found at {CORPUS.resolve()}"


def corpus_files(provider: str) -> list[str]:
    """Every sample of a provider (README excluded), by file name."""
    folder = CORPUS / provider
    return sorted(p.name for p in folder.iterdir() if p.name != "README.md")


def raw(provider: str, name: str) -> bytes:
    return (CORPUS / provider / name).read_bytes()


def payload(provider: str, name: str, **changes: Any) -> Any:
    """A sample parsed, deep-copied, with top-level keys replaced (`None` deletes)."""
    body = copy.deepcopy(json.loads(raw(provider, name)))
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


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
