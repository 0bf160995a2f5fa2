"""Zeros from the start: a fresh `/metrics` (worker and ingester) shows every series whose label
values are known in advance at 0, before any request or event (Prometheus' instrumentation
advice: boards show 0 rather than "No data", and `rate()` works from the first scrape).

The exposition is the real one (`generate_latest` over the registry the process serves), parsed
with prometheus_client's own parser.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flowgauge.exposition import (
    DEAD_LETTER_SOURCES,
    DELIVERY_OUTCOMES,
    EVENT_OUTCOMES,
    FACT_OUTCOMES,
    TOPIC_ROLES,
    WEBHOOK_OUTCOMES,
)
from flowgauge.ingest.app import Ingester
from flowgauge.model import FlowConfig, Stage, StreamConfig
from flowgauge.settings import Settings
from flowgauge.sources import REGISTRY
from flowgauge.stream.stage import restore_streams
from flowgauge.stream.state import WorkerState

Series = dict[str, dict[frozenset[tuple[str, str]], float]]

STAGES = (
    Stage(name="todo", kind="wait", states=("open",)),
    Stage(name="doing", kind="active", states=("in progress",)),
    Stage(name="done", kind="done", states=("closed",)),
)
CONFIG = FlowConfig(
    streams=(
        StreamConfig(name="web", stages=STAGES, sle="5d"),
        StreamConfig(name="ops", stages=STAGES),
    )
)


def series(registry: CollectorRegistry) -> Series:
    """Sample name -> {label set: value}, from the text a scrape returns."""
    found: Series = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return found


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


def fresh_ingester(tmp_path: Path) -> Series:
    registry = CollectorRegistry(auto_describe=True)
    Ingester(Settings(data_dir=tmp_path), registry)
    return series(registry)


def fresh_worker(held: bool = True) -> Series:
    """A worker just recovered with nothing stored; `held`: it holds every facts partition."""
    state = WorkerState(config=CONFIG, registry=CollectorRegistry(auto_describe=True))
    state.processor = restore_streams(CONFIG, (), [0] if held else [], partitions=1).processor
    return series(state.registry)


def test_ingester_shows_every_source_and_outcome_at_zero(tmp_path: Path) -> None:
    webhooks = fresh_ingester(tmp_path)["flowgauge_webhooks_total"]
    expected = {
        labels(source=source, outcome=outcome): 0.0
        for source, outcome in itertools.product(REGISTRY, WEBHOOK_OUTCOMES)
    }
    assert webhooks == expected


def test_worker_counters_start_at_zero_for_every_known_label() -> None:
    got = fresh_worker()
    assert got["flowgauge_events_total"] == {labels(outcome=o): 0.0 for o in EVENT_OUTCOMES}
    assert got["flowgauge_deliveries_total"] == {
        labels(source=s, outcome=o): 0.0 for s, o in itertools.product(REGISTRY, DELIVERY_OUTCOMES)
    }
    assert got["flowgauge_dead_letters_total"] == {
        labels(source=s): 0.0 for s in DEAD_LETTER_SOURCES
    }
    assert got["flowgauge_reread_messages_total"] == {labels(role=r): 0.0 for r in TOPIC_ROLES}
    assert set(DEAD_LETTER_SOURCES) == {*REGISTRY, "raw", "events", "facts"}
    assert got["flowgauge_facts_total"] == {labels(outcome=o): 0.0 for o in FACT_OUTCOMES}


def test_worker_shows_each_configured_stream_and_stage_at_zero() -> None:
    got = fresh_worker()
    open_stages = [(s.name, stage.name) for s in CONFIG.streams for stage in STAGES[:-1]]
    for name in ("flowgauge_wip_items", "flowgauge_blocked_items", "flowgauge_bottleneck"):
        assert got[name] == {labels(stream=s, stage=st): 0.0 for s, st in open_stages}, name
    # SLE breaches: the streams with an `sle` only (the others have no SLE to breach)
    assert got["flowgauge_sle_breach_items"] == {
        labels(stream="web", stage=st): 0.0 for st in ("todo", "doing")
    }
    for name in ("flowgauge_throughput_items", "flowgauge_unmapped_state_events"):
        assert got[name] == {labels(stream=s): 0.0 for s in ("web", "ops")}, name
    kinds = ("active", "wait", "blocked")
    assert got["flowgauge_stage_seconds"] == {
        labels(stream=s.name, stage=stage.name, kind=k): 0.0
        for s in CONFIG.streams
        for stage in STAGES
        for k in kinds
    }
    assert set(got["flowgauge_stage_signal"].values()) == {0.0}
    assert len(got["flowgauge_stage_signal"]) == len(open_stages) * 4  # four signals per stage
    assert got["flowgauge_worker_ready"] == {labels(): 0.0}
