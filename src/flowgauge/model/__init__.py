"""The domain model: canonical events and the value-stream config."""

from flowgauge.model.config import (
    DoraConfig,
    FlowConfig,
    Match,
    Stage,
    StreamConfig,
    parse_duration,
)
from flowgauge.model.events import (
    DORA_TYPES,
    GENERIC_TYPES,
    ITEM_TYPES,
    Change,
    EventType,
    FlowEvent,
    to_micros,
)

__all__ = [
    "DORA_TYPES",
    "GENERIC_TYPES",
    "ITEM_TYPES",
    "Change",
    "DoraConfig",
    "EventType",
    "FlowConfig",
    "FlowEvent",
    "Match",
    "Stage",
    "StreamConfig",
    "parse_duration",
    "to_micros",
]
