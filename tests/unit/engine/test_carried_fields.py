"""`assignee`, `team`, `parent` and `reason` are carried but read by no metric yet: any values
of them, on any events, leave every flow and DORA number (the whole snapshot) unchanged."""

from __future__ import annotations

import random

from engine_helpers import config, us
from hypothesis import given, settings
from hypothesis import strategies as hs
from test_properties import event_sets

from flowgauge.engine.processor import Processor
from flowgauge.model import FlowEvent

VALUES = [None, "", "ana", "bo", "payments", "ACME-100"]
REASONS = [None, "dependency", "flag", "external"]


def decorate(event: FlowEvent, rnd: random.Random) -> FlowEvent:
    update = {name: rnd.choice(VALUES) for name in ("assignee", "team", "parent")}
    if event.type in ("blocked", "unblocked"):
        update["reason"] = rnd.choice(REASONS)
    return event.model_copy(update=update)


@settings(max_examples=150, deadline=None)
@given(event_sets(), hs.randoms(use_true_random=False), hs.integers(0, 80))
def test_carried_fields_change_no_number(
    events: list[FlowEvent], rnd: random.Random, now: int
) -> None:
    cfg = config(sle="20s", window="60s")
    plain = Processor.from_events(cfg, events).snapshot(us(now))
    decorated = [decorate(e, rnd) for e in events]
    assert Processor.from_events(cfg, decorated).snapshot(us(now)) == plain
