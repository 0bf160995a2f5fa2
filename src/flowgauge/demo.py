"""The demo feed of `make run`: a small simulated value stream posted as signed generic events.

Items are created, move through the default stages, now and then get blocked and unblocked, and
finish, so every gauge moves within a minute.
"""

from __future__ import annotations

import itertools
import random
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import orjson

from flowgauge.signing import sha256_signature

STATES = ["Backlog", "In Progress", "In Review", "QA", "Done"]


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


class DemoFeed:
    """Generates the next batch of events of a few items walking through the stages."""

    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.ids = itertools.count(1)
        self.items: dict[str, int] = {}  # item -> index in STATES
        self.blocked: set[str] = set()
        self.next_item = itertools.count(1)

    def _event(self, type_: str, item: str, **extra: Any) -> dict[str, Any]:
        at = datetime.now(UTC).isoformat()
        return {
            "id": f"demo-{time.time_ns()}-{next(self.ids)}",
            "type": type_,
            "item": item,
            "at": at,
            **extra,
        }

    def tick(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if len(self.items) < 12 and self.random.random() < 0.7:
            item = f"DEMO-{next(self.next_item)}"
            self.items[item] = 0
            kind = "bug" if self.random.random() < 0.25 else "feature"
            events.append(self._event("created", item, state=STATES[0], item_type=kind))
        for item in list(self.items):
            roll = self.random.random()
            if item in self.blocked:
                if roll < 0.3:
                    self.blocked.discard(item)
                    events.append(self._event("unblocked", item))
            elif roll < 0.08:
                self.blocked.add(item)
                events.append(self._event("blocked", item))
            elif roll < 0.35:
                self.items[item] += 1
                events.append(self._event("state", item, state=STATES[self.items[item]]))
                if self.items[item] == len(STATES) - 1:
                    del self.items[item]
        return events


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
