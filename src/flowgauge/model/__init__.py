"""The domain model: canonical events and the value-stream config."""

from flowgauge.model.config import (
    STREAM_TYPES,
    DoraConfig,
    FlowConfig,
    Match,
    Stage,
    StreamConfig,
    StreamType,
    parse_duration,
)
from flowgauge.model.events import (
    DORA_TYPES,
    GENERIC_TYPES,
    ITEM_TYPES,
    Change,
    EventType,
    FlowEvent,
)
from flowgauge.model.micros import DAY_MICROS, MICROS, duration_micros, to_micros

__all__ = [
    "DAY_MICROS",
    "DORA_TYPES",
    "GENERIC_TYPES",
    "ITEM_TYPES",
    "MICROS",
    "STREAM_TYPES",
    "Change",
    "DoraConfig",
    "EventType",
    "FlowConfig",
    "FlowEvent",
    "Match",
    "Stage",
    "StreamConfig",
    "StreamType",
    "duration_micros",
    "parse_duration",
    "to_micros",
]
