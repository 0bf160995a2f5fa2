"""From a raw delivery to keyed canonical events: the normalize agent's whole logic, pure.

Kept out of the agent so that replay, tests and the agent run the very same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from flowgauge.engine.processor import route, state_key
from flowgauge.model import DORA_TYPES, FlowConfig, FlowEvent
from flowgauge.model.delivery import Delivery
from flowgauge.sources import REGISTRY, PayloadError


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
    """Normalize and route; any failure is a reason for the dead-letter topic, never a crash."""
    source = REGISTRY.get(delivery.source)
    if source is None:
        return Normalized(error=f"unknown source {delivery.source!r}")
    try:
        body: Any = orjson.loads(delivery.body)
        events = source.normalize(delivery.headers, body)
    except orjson.JSONDecodeError as exc:
        return Normalized(error=f"body is not JSON: {exc}")
    except PayloadError as exc:
        return Normalized(error=str(exc))
    except Exception as exc:  # an adapter bug must not stall the partition
        return Normalized(error=f"normalize failed: {type(exc).__name__}: {exc}")
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
    return event.model_dump_json(exclude_defaults=True).encode()
