"""The demo feed of `make run`: two simulated value streams posted as signed generic events.

A development stream (`delivery`: features and bugs through backlog, development, review, QA)
and an operational one (`onboarding`: customers from a signed contract to a live account, as a
CRM and a support desk would report them through generic events; docs/value-streams.md). Items
are created, move through their stages, now and then get blocked and unblocked (for a reason:
a dependency, a flag, the customer...), and finish, so every gauge of both streams moves within a
minute. Each item belongs to a parent (an epic, an initiative) and a team, and changes hands as it
moves (`assignee`, `team`), so handoffs, blocked reasons and the flow distribution have data too.
`flowgauge up --demo` runs it with the demo config (`demo-config.yaml`) that declares both streams.
"""

from __future__ import annotations

import importlib.resources
import itertools
import random
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from flowgauge.signing import sha256_signature

#: A team and the people in it: (team, (person, ...)).
Crew = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class Walk:
    """How one stream's demo items walk: their states in order, their kinds and their pace."""

    stream: str
    prefix: str  # item ids: f"{prefix}-{n}"
    states: tuple[str, ...]
    types: tuple[tuple[str, float], ...]  # (item_type, probability), the rest the first type
    max_open: int = 12
    move: float = 0.27  # chance per tick that an item moves on
    teams: tuple[str, ...] = ("team",)  # an item's own team, drawn at creation
    #: per state: the team that holds the item there (OWN: the item's own team), None: no one
    #: new (unassigned at creation, the last holder later)
    holders: tuple[str | None, ...] = ()
    people: tuple[Crew, ...] = ()
    parents: tuple[str, ...] = ()  # epics / initiatives, drawn at creation
    reasons: tuple[str, ...] = ("unspecified",)  # why an item gets blocked


OWN = "*"
DELIVERY = Walk(
    "delivery",
    "DEMO",
    ("Backlog", "In Progress", "In Review", "QA", "Done"),
    (("feature", 0.75), ("bug", 0.25)),
    teams=("checkout", "platform"),
    holders=(None, OWN, OWN, "qa", None),  # a developer, a reviewer of the team, then QA
    people=(
        ("checkout", ("ana", "bo", "chen")),
        ("platform", ("dev", "eli", "fay")),
        ("qa", ("gus", "hana")),
    ),
    parents=("checkout-revamp", "payments-v2", "mobile-app"),
    reasons=("dependency", "flag", "external"),
)
ONBOARDING = Walk(
    "onboarding",
    "CUST",
    ("Contract Signed", "Verifying", "Waiting on Customer", "Account Setup", "Live"),
    (("standard", 0.6), ("enterprise", 0.3), ("escalation", 0.1)),
    max_open=8,
    move=0.2,
    teams=("emea", "americas"),
    holders=("sales", "compliance", "customer-success", "implementation", None),
    people=(
        ("sales", ("ines", "jon")),
        ("compliance", ("kai", "lea")),
        ("customer-success", ("mo", "nia", "oz")),
        ("implementation", ("pia", "raj")),
    ),
    parents=("enterprise-q4", "partner-channel"),
    reasons=("external", "approval", "dependency"),  # the customer, a sign-off, another team
)


def demo_config_path() -> Path:
    """The demo config shipped with the package (both demo streams)."""
    return Path(str(importlib.resources.files("flowgauge").joinpath("demo-config.yaml")))


def post(url: str, secret: bytes, events: list[dict[str, Any]], timeout: float = 5.0) -> int:
    body = orjson.dumps(events)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Flowgauge-Signature": sha256_signature(secret, body),
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


@dataclass
class _Walking:
    walk: Walk
    items: dict[str, int] = field(default_factory=dict)  # item -> index in walk.states
    blocked: dict[str, str] = field(default_factory=dict)  # item -> why
    teams: dict[str, str] = field(default_factory=dict)  # item -> its own team
    holders: dict[str, str | None] = field(default_factory=dict)  # item -> who holds it
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class DemoFeed:
    """Generates the next batch of events of a few items of each stream walking its stages."""

    def __init__(self, seed: int = 7, walks: tuple[Walk, ...] = (DELIVERY, ONBOARDING)) -> None:
        self.random = random.Random(seed)
        self.ids = itertools.count(1)
        self.walks = [_Walking(walk) for walk in walks]

    def _event(self, walk: Walk, type_: str, item: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": f"demo-{time.time_ns()}-{next(self.ids)}",
            "type": type_,
            "item": item,
            "at": datetime.now(UTC).isoformat(),
            "stream": walk.stream,
            **extra,
        }

    def _item_type(self, walk: Walk) -> str:
        roll = self.random.random()
        for name, share in walk.types:
            if roll < share:
                return name
            roll -= share
        return walk.types[0][0]

    def tick(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for walking in self.walks:
            events.extend(self._tick(walking))
        return events

    def _tick(self, w: _Walking) -> list[dict[str, Any]]:
        walk, events = w.walk, []
        if len(w.items) < walk.max_open and self.random.random() < 0.7:
            item = f"{walk.prefix}-{next(w.numbers)}"
            w.items[item] = 0
            w.teams[item] = self.random.choice(walk.teams)
            kind = self._item_type(walk)
            extra = {"parent": self.random.choice(walk.parents)} if walk.parents else {}
            unassigned: dict[str, str | None] = {"assignee": None, "team": w.teams[item]}
            holder = self._holder(w, item, 0) or unassigned
            events.append(
                self._event(
                    walk, "created", item, state=walk.states[0], item_type=kind, **extra, **holder
                )
            )
        for item in list(w.items):
            roll = self.random.random()
            if item in w.blocked:
                if roll < 0.3:
                    reason = w.blocked.pop(item)
                    events.append(self._event(walk, "unblocked", item, reason=reason))
            elif roll < 0.08:
                w.blocked[item] = self.random.choice(walk.reasons)
                events.append(self._event(walk, "blocked", item, reason=w.blocked[item]))
            elif roll < 0.08 + walk.move:
                w.items[item] += 1
                state = walk.states[w.items[item]]
                holder = self._holder(w, item, w.items[item]) or {}
                events.append(self._event(walk, "state", item, state=state, **holder))
                if w.items[item] == len(walk.states) - 1:
                    for done in (w.items, w.teams, w.holders):
                        del done[item]
        return events

    def _holder(self, w: _Walking, item: str, index: int) -> dict[str, str | None] | None:
        """Who takes the item in this state (someone else than its holder so far), or None."""
        crew = w.walk.holders[index] if index < len(w.walk.holders) else None
        if crew is None:
            return None
        team = w.teams[item] if crew == OWN else crew
        people = dict(w.walk.people)[team]
        person = self.random.choice([p for p in people if p != w.holders.get(item)] or people)
        w.holders[item] = person
        return {"assignee": person, "team": team}


def run(url: str, secret: bytes, interval: float = 1.0, stop: Any = None) -> None:
    """Post a batch every `interval` seconds until `stop` (a threading.Event) is set."""
    feed = DemoFeed()
    pending: list[dict[str, Any]] = []
    while stop is None or not stop.is_set():
        pending.extend(feed.tick())
        if pending:
            try:
                post(url, secret, pending)
                pending = []
            except OSError:
                pass  # the ingester may still be starting: the same batch goes next tick
        if stop is not None:
            stop.wait(interval)
        else:
            time.sleep(interval)
