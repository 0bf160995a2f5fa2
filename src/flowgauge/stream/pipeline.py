"""From a delivery record to keyed canonical events: the normalize agent's whole logic, pure.

A record of format 2 carries the events the ingester's adapter made (`ingest/intake.py`): they
are only routed here, by the config. A record of format 1 (written before the ingester
normalized) goes through the same intake first, so such records already on a topic still count.
Kept out of the agent so that `report`, the tests and the agent run the very same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flowgauge.engine.processor import route
from flowgauge.ingest.intake import take_recorded
from flowgauge.keys import state_key
from flowgauge.model import DORA_TYPES, FlowConfig, FlowEvent
from flowgauge.model.delivery import Delivery


@dataclass(frozen=True)
class Normalized:
    """What one delivery became: keyed events, how many had no stream, or why it failed.

    `dropped`: incident candidates of issues the config does not make incidents
    (`dora.incident_labels`). They are no error and no unrouted event: a label like `bug` on an
    issue is the usual case, so they are only counted here, never sent on.
    """

    events: list[tuple[str, FlowEvent]] = field(default_factory=list)
    unrouted: int = 0
    error: str | None = None
    dropped: int = 0


def normalize_delivery(delivery: Delivery, config: FlowConfig) -> Normalized:
    """The delivery's events, keyed and routed; any failure is a reason, never a crash.

    The adapter runs only for a delivery without events (format 1, or read from a file).
    """
    events = delivery.events
    if events is None:
        intake = take_recorded(delivery)
        if intake.error is not None:
            return Normalized(error=intake.error)
        events = intake.events
    return route_events(events, config)


def route_events(events: Iterable[FlowEvent], config: FlowConfig) -> Normalized:
    """Each event with its stream and state key; unrouted and dropped ones counted."""
    keyed: list[tuple[str, FlowEvent]] = []
    unrouted = dropped = 0
    for event in events:
        routed = route(config, event)
        if routed is not None:
            keyed.append((state_key(routed), routed))
        elif event.type in DORA_TYPES:
            dropped += 1
        else:
            unrouted += 1
    return Normalized(events=keyed, unrouted=unrouted, dropped=dropped)


def encode_event(event: FlowEvent) -> bytes:
    """An events-topic record: the canonical event's JSON (defaults left out)."""
    return event.model_dump_json(exclude_defaults=True).encode()
