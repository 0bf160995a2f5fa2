"""Shared builders for the engine tests: a reference config and terse event construction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flowgauge.model import FlowConfig, FlowEvent, StreamConfig

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T0_US = int(T0.timestamp()) * 1_000_000

STAGES: list[dict[str, Any]] = [
    {"name": "backlog", "kind": "wait", "states": ["Backlog"]},
    {"name": "dev", "kind": "active", "states": ["In Progress"]},
    {"name": "review", "kind": "wait", "states": ["In Review"]},
    {"name": "test", "kind": "active", "states": ["QA"]},
    {"name": "done", "kind": "done", "states": ["Done"]},
    {"name": "released", "kind": "done", "states": ["Released"]},
]
STATES = ["Backlog", "In Progress", "In Review", "QA", "Done", "Released"]


def stream(**overrides: Any) -> StreamConfig:
    """The reference stream (commitment: dev, the first active stage), window 100 s."""
    data: dict[str, Any] = {"name": "s", "window": "100s", "stages": STAGES}
    data.update(overrides)
    return StreamConfig.model_validate(data)


def config(**overrides: Any) -> FlowConfig:
    return FlowConfig(streams=(stream(**overrides),))


def us(seconds: float) -> int:
    """Epoch microseconds of T0 + seconds."""
    return T0_US + round(seconds * 1_000_000)


def ev(event_id: str, type_: str, at: float, item: str = "i1", **fields: Any) -> FlowEvent:
    """An event of `item` at T0 + `at` seconds."""
    return FlowEvent.model_validate(
        {"id": event_id, "type": type_, "item": item, "at": T0 + timedelta(seconds=at), **fields}
    )


def st(event_id: str, at: float, state: str, item: str = "i1") -> FlowEvent:
    return ev(event_id, "state", at, item, state=state)
