"""Generated value-stream histories for the end-to-end tests (not examples: random, seeded)."""

from __future__ import annotations

import random
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from flowgauge.signing import sha256_signature

STATES = ["Backlog", "In Progress", "In Review", "QA", "Done"]
EPOCH = datetime(2026, 9, 1, tzinfo=UTC)

EVENT_CLOCK_CONFIG = """\
clock: event
streams:
  - name: delivery
    window: 30d
    commitment: development
    defect_types: [bug]
    blocked_labels: [blocked]
    sle: 5d
    stages:
      - {name: backlog,     kind: wait,   states: [Backlog]}
      - {name: development, kind: active, states: [In Progress], wip_limit: 5}
      - {name: review,      kind: wait,   states: [In Review]}
      - {name: testing,     kind: active, states: [QA]}
      - {name: done,        kind: done,   states: [Done]}
dora:
  production: [production]
  window: 30d
"""


STREAMS = ("delivery", "platform", "support", "research")


def several_streams(streams: tuple[str, ...] = STREAMS) -> str:
    """EVENT_CLOCK_CONFIG's stream under several names: with several workers, streams land on
    different facts partitions, hence workers (docs/architecture.md)."""
    head, _, rest = EVENT_CLOCK_CONFIG.partition("streams:\n")
    block, _, dora = rest.partition("dora:\n")
    copies = "".join(block.replace("name: delivery", f"name: {name}") for name in streams)
    return f"{head}streams:\n{copies}dora:\n{dora}"


def spread(events: list[dict[str, Any]], streams: tuple[str, ...] = STREAMS) -> None:
    """Give each item of `item_history` one of `streams` (its explicit `stream`), in place."""
    for event in events:
        event["stream"] = streams[int(event["item"].split("-")[1]) % len(streams)]


def _at(rng: random.Random, base: datetime, max_hours: int) -> datetime:
    return base + timedelta(
        minutes=rng.randint(1, max_hours * 60), milliseconds=rng.randint(0, 999)
    )


PEOPLE = ["ana", "bo", "cy", "dee", None]
TEAMS = ["pay", "core", None]
PARENTS = ["EPIC-1", "EPIC-2", None]
REASONS = ["dependency", "flag", "approval", None]
#: `teams:` for HOLDERS_CONFIG: cy and dee are in no team (their events keep the team as it was)
TEAMS_CONFIG = "teams:\n  pay: [ana]\n  core: [bo]\n"


def holders(rng: random.Random, type_: str) -> dict[str, Any]:
    """Issue 20's fields for one generic event: assignee, team, parent (null: none), reason."""
    extra: dict[str, Any] = {}
    if rng.random() < 0.4:
        extra["assignee"] = rng.choice(PEOPLE)
    if rng.random() < 0.15:
        extra["team"] = rng.choice(TEAMS)
    if rng.random() < 0.2:
        extra["parent"] = rng.choice(PARENTS)
    if type_ in ("blocked", "unblocked") and rng.random() < 0.8:
        extra["reason"] = rng.choice(REASONS)
    return extra


def item_history(
    rng: random.Random, n_items: int, with_holders: bool = False
) -> list[dict[str, Any]]:
    """Items walking the stages with reopens, blocks, unmapped states, deletions, bugs; with
    `with_holders`, events also name assignees, teams, parents and blocked reasons."""
    events: list[dict[str, Any]] = []
    for i in range(n_items):
        item = f"ITEM-{i}"
        t = EPOCH + timedelta(hours=rng.randint(0, 24 * 40))
        seq = 0

        def add(type_: str, when: datetime, item: str = item, **extra: Any) -> None:
            nonlocal seq
            seq += 1
            if with_holders:
                extra = {**holders(rng, type_), **extra}
            events.append(
                {
                    "id": f"{item}-{seq}",
                    "type": type_,
                    "item": item,
                    "at": when.isoformat(),
                    **extra,
                }
            )

        if rng.random() < 0.9:
            add("created", t, item_type=rng.choice(["feature", "feature", "bug"]))
        stage = 0
        for _ in range(rng.randint(0, 7)):
            t = _at(rng, t, 30)
            roll = rng.random()
            if roll < 0.12:
                add("blocked", t)
                t = _at(rng, t, 20)
                if rng.random() < 0.6:
                    add("unblocked", t)
            elif roll < 0.18 and stage > 0:
                stage = rng.randint(0, stage - 1)
                add("state", t, state=STATES[stage])
            elif roll < 0.22:
                add("state", t, state="Somewhere Unmapped")
            else:
                stage = min(stage + 1, len(STATES) - 1)
                add("state", t, state=STATES[stage])
        if rng.random() < 0.03:
            add("deleted", _at(rng, t, 5))
    return events


def dora_history(rng: random.Random, n_deploys: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for d in range(n_deploys):
        t = EPOCH + timedelta(hours=rng.randint(0, 24 * 40))
        service = rng.choice(["api", "web"])
        env = rng.choice(["production", "production", "staging"])
        changes = [
            {
                "id": f"c{d}-{k}",
                "committed_at": (t - timedelta(hours=rng.randint(1, 90))).isoformat(),
            }
            for k in range(rng.randint(0, 3))
        ]
        events.append(
            {
                "id": f"dep-{d}",
                "type": "deployment",
                "item": f"D{d}",
                "at": t.isoformat(),
                "service": service,
                "environment": env,
                "status": rng.choice(["success", "success", "failure"]),
                "changes": changes,
            }
        )
        if rng.random() < 0.3:
            opened = t + timedelta(hours=rng.randint(1, 10))
            extra = {"deployment": f"D{d}"} if rng.random() < 0.5 else {}
            events.append(
                {
                    "id": f"inc-{d}-o",
                    "type": "incident_opened",
                    "item": f"I{d}",
                    "at": opened.isoformat(),
                    "service": service,
                    **extra,
                }
            )
            if rng.random() < 0.8:
                events.append(
                    {
                        "id": f"inc-{d}-r",
                        "type": "incident_resolved",
                        "item": f"I{d}",
                        "at": (opened + timedelta(minutes=rng.randint(5, 600))).isoformat(),
                        "service": service,
                    }
                )
    return events


def shuffled_with_duplicates(
    rng: random.Random, events: list[dict[str, Any]], dup_share: float
) -> list[dict[str, Any]]:
    delivered = events + rng.sample(events, int(len(events) * dup_share))
    rng.shuffle(delivered)
    return delivered


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


def post_generic(base: str, secret: str, events: list[dict[str, Any]]) -> tuple[int, Any]:
    body = orjson.dumps(events)
    return post(
        f"{base}/webhooks/generic", body, {"X-Flowgauge-Signature": sha256_signature(secret, body)}
    )
