"""What the worker's parts share: the config, the processors, readiness and the pipeline counters.

`processor` is the stream stage's (what `/metrics` shows): the facts agent updates it,
`stage.restore_streams` replaces it after each recovery. `deriver` derives the timelines stage's
facts (it never aggregates). The alerts timer and `/metrics` read `processor` on the event loop.
Nothing here talks to Faust or the broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from flowgauge.engine.processor import Processor
from flowgauge.engine.snapshot import Snapshot
from flowgauge.exposition import SnapshotCollector, WorkerMetrics
from flowgauge.model import FlowConfig
from flowgauge.stream.facts import sent_marker

if TYPE_CHECKING:
    from flowgauge.stream.gaps import GapKeeper


STAGES = frozenset({"timelines", "streams"})


def wall_micros() -> int:
    return time.time_ns() // 1000


@dataclass
class WorkerState:
    """What the agents share with `/metrics`: the processor (replaced on rebuild), readiness."""

    config: FlowConfig
    registry: CollectorRegistry
    clock: Callable[[], int] = wall_micros
    processor: Processor = field(init=False)
    deriver: Processor = field(init=False)
    #: the stages rebuilt since the start ("timelines", "streams"): ready once both are
    recovered: set[str] = field(default_factory=set)
    gaps: GapKeeper | None = None
    #: the latest event time of the timelines this worker applied (the timelines stage's
    #: watermark, sent to every facts partition when it moved: `stream/facts.py`)
    watermark: int | None = None
    watermark_sent: int | None = None
    partitions: int = 1
    #: held timelines partitions whose facts a rebuild sent again and whose marker the agents
    #: write at their next message (`facts.sent_key`), with this value (`facts.sent_marker`)
    unmarked: set[int] = field(default_factory=set)
    marker: bytes = field(init=False)
    #: the snapshot a scrape took on the event loop, rendered off it (`worker.metrics_app`)
    pinned: Snapshot | None = None

    def __post_init__(self) -> None:
        self.processor = Processor(self.config)
        self.processor.expose((), dora=False)  # nothing until the first rebuild says what
        self.deriver = Processor(self.config)
        flow = self.deriver.flow
        self.marker = sent_marker((s.name, flow.fingerprint(s.name)) for s in self.config.streams)
        self.metrics = WorkerMetrics.create(self.registry)
        self.metrics.ready.set_function(lambda: 1.0 if self.ready else 0.0)  # at scrape time
        self.registry.register(SnapshotCollector(self._snapshot))

    def _snapshot(self) -> Snapshot:
        pinned = self.pinned
        return pinned if pinned is not None else self.processor.snapshot(self.clock())

    def pin_snapshot(self) -> None:
        """Take the snapshot on the event loop (it moves the windows' edges: it mutates the
        aggregates), so the text can be rendered in a thread while the agents run."""
        self.pinned = self.processor.snapshot(self.clock())

    @property
    def ready(self) -> bool:
        return self.recovered >= STAGES

    def saw(self, micros: int | None) -> None:
        if micros is not None and (self.watermark is None or micros > self.watermark):
            self.watermark = micros
