"""What the worker's parts share: the config, the processor, readiness and the pipeline counters.

The agents update it, `recovery.rebuild` replaces its processor, the alerts timer and `/metrics`
read it. Nothing here talks to Faust or the broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from flowgauge.engine.processor import Processor
from flowgauge.exposition import SnapshotCollector, WorkerMetrics
from flowgauge.model import FlowConfig

if TYPE_CHECKING:
    from flowgauge.stream.gaps import GapKeeper


def wall_micros() -> int:
    return time.time_ns() // 1000


@dataclass
class WorkerState:
    """What the agents share with `/metrics`: the processor (replaced on rebuild), readiness."""

    config: FlowConfig
    registry: CollectorRegistry
    clock: Callable[[], int] = wall_micros
    processor: Processor = field(init=False)
    ready: bool = False
    gaps: GapKeeper | None = None

    def __post_init__(self) -> None:
        self.processor = Processor(self.config)
        self.metrics = WorkerMetrics.create(self.registry)
        self.registry.register(SnapshotCollector(lambda: self.processor.snapshot(self.clock())))
