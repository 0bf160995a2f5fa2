"""A small generated value-stream history (seeded) for the view and report tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from flowgauge.engine.processor import Processor
from flowgauge.model import FlowConfig, FlowEvent

STATES = ["Backlog", "In Progress", "In Review", "QA", "Done"]
EPOCH = datetime(2026, 9, 1, tzinfo=UTC)

CONFIG: dict[str, Any] = {
    "clock": "event",
    "streams": [
        {
            "name": "delivery",
            "window": "30d",
            "commitment": "development",
            "sle": "5d",
            "stages": [
                {"name": "backlog", "kind": "wait", "states": ["Backlog"]},
                {
                    "name": "development",
                    "kind": "active",
                    "states": ["In Progress"],
                    "wip_limit": 2,
                },
                {"name": "review", "kind": "wait", "states": ["In Review"]},
                {"name": "testing", "kind": "active", "states": ["QA"]},
                {"name": "done", "kind": "done", "states": ["Done"]},
            ],
        },
        {
            "name": "empty",
            "match": {"project": ["nothing-routes-here"]},
            "stages": [
                {"name": "todo", "kind": "wait", "states": ["Todo"]},
                {"name": "done", "kind": "done", "states": ["Closed"]},
            ],
        },
    ],
    "dora": {"production": ["production"], "window": "30d"},
}


def config() -> FlowConfig:
    return FlowConfig.model_validate(CONFIG)


def item_events(rng: random.Random, n_items: int, days: int = 40) -> list[dict[str, Any]]:
    """Items walking the stages with reopens, blocks, unmapped states and deletions."""
    events: list[dict[str, Any]] = []
    for i in range(n_items):
        walk: list[tuple[str, datetime, dict[str, Any]]] = []
        t = EPOCH + timedelta(hours=rng.randint(0, 24 * days))
        walk.append(("created", t, {"item_type": rng.choice(["feature", "bug"])}))
        stage = 0
        for _ in range(rng.randint(0, 7)):
            t += timedelta(minutes=rng.randint(1, 60 * 40))
            roll = rng.random()
            if roll < 0.12:
                walk.append(("blocked", t, {}))
                t += timedelta(minutes=rng.randint(1, 600))
                walk.append(("unblocked", t, {}))
            elif roll < 0.2 and stage > 0:
                stage = rng.randint(0, stage - 1)
                walk.append(("state", t, {"state": STATES[stage]}))
            elif roll < 0.24:
                walk.append(("state", t, {"state": "Nowhere"}))
            else:
                stage = min(stage + 1, len(STATES) - 1)
                walk.append(("state", t, {"state": STATES[stage]}))
        if rng.random() < 0.03:
            walk.append(("deleted", t + timedelta(hours=1), {}))
        events.extend(
            {
                "id": f"IT-{i}-{seq}",
                "type": type_,
                "item": f"IT-{i}",
                "at": at.isoformat(),
                "stream": "delivery",
                **extra,
            }
            for seq, (type_, at, extra) in enumerate(walk)
        )
    return events


def deployments(rng: random.Random, n: int, days: int = 40) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for d in range(n):
        t = EPOCH + timedelta(hours=rng.randint(0, 24 * days))
        change = {
            "id": f"c{d}",
            "committed_at": (t - timedelta(hours=rng.randint(1, 90))).isoformat(),
        }
        out.append(
            {
                "id": f"dep-{d}",
                "type": "deployment",
                "item": f"D{d}",
                "at": t.isoformat(),
                "service": rng.choice(["api", "web"]),
                "environment": "production",
                "status": rng.choice(["success", "success", "failure"]),
                "changes": [change],
            }
        )
    return out


def history(seed: int, n_items: int = 60, n_deploys: int = 10) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return item_events(rng, n_items) + deployments(rng, n_deploys)


def processor(events: list[dict[str, Any]]) -> Processor:
    return Processor.from_events(config(), [FlowEvent.model_validate(e) for e in events])
