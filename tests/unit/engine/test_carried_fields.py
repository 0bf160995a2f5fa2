"""Issue 20's fields leave every existing number as it was, when every block has one reason.

`assignee`, `team` and `parent` feed only the new families (handoffs, distribution), and with one
reason on every blocking event the item is blocked exactly when the reason-free flag says: every
existing flow and DORA number (the whole snapshot but the new families) is unchanged, and the
new blocked-reason families add up to the existing blocked ones.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from engine_helpers import config, us
from hypothesis import given, settings
from hypothesis import strategies as hs
from test_properties import BREAKDOWN_FIELDS, REASONS, event_sets, one_reason

from flowgauge.engine.processor import Processor
from flowgauge.engine.snapshot import Snapshot
from flowgauge.model import FlowEvent

VALUES = [None, "", "ana", "bo", "payments", "ACME-100"]


def decorate(event: FlowEvent, rnd: random.Random) -> FlowEvent:
    update = {name: rnd.choice(VALUES) for name in ("assignee", "team", "parent")}
    return event.model_copy(update=update)


def existing(snapshot: Snapshot) -> Snapshot:
    """The snapshot without the families of issue 20."""
    blank: dict[str, Any] = {key: {} for key in BREAKDOWN_FIELDS}
    return replace(snapshot, streams=tuple(replace(m, **blank) for m in snapshot.streams))


@settings(max_examples=150, deadline=None)
@given(
    event_sets(mixed=True),
    hs.sampled_from(REASONS),
    hs.randoms(use_true_random=False),
    hs.integers(0, 80),
)
def test_one_reason_everywhere_changes_no_existing_number(
    events: list[FlowEvent], reason: str | None, rnd: random.Random, now: int
) -> None:
    cfg = config(sle="20s", window="60s", blocked_labels=["blocked", "b1"])
    bare = [e.model_copy(update={"assignee": None, "team": None, "parent": None}) for e in events]
    plain = Processor.from_events(cfg, one_reason(bare, None)).snapshot(us(now))
    decorated = one_reason([decorate(e, rnd) for e in events], reason)
    snapshot = Processor.from_events(cfg, decorated).snapshot(us(now))
    assert existing(snapshot) == existing(plain)
    [m] = snapshot.streams
    said = reason or "unspecified"
    blocked_now = sum(m.blocked.values())
    assert m.blocked_reason_items == ({said: blocked_now} if blocked_now else {})
    blocked_seconds = sum(kinds["blocked"] for kinds in m.stage_seconds.values())
    assert m.blocked_reason_seconds == ({said: blocked_seconds} if blocked_seconds else {})
