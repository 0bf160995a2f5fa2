"""Zeros from the start: a fresh `/metrics` (worker and ingester) shows every series whose label
values are known in advance at 0, before any request or event (Prometheus' instrumentation
advice: boards show 0 rather than "No data", and `rate()` works from the first scrape).

The exposition is the real one (`generate_latest` over the registry the process serves), parsed
with prometheus_client's own parser.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flowgauge.engine.processor import Processor
from flowgauge.exposition import (
    DEAD_LETTER_SOURCES,
    DELIVERY_OUTCOMES,
    EVENT_OUTCOMES,
    FACT_OUTCOMES,
    TOPIC_ROLES,
    WEBHOOK_OUTCOMES,
    render,
)
from flowgauge.ingest.app import Ingester
from flowgauge.model import FlowConfig, FlowEvent, Stage, StreamConfig
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


def test_handoffs_blocked_reasons_and_distribution_are_exposed_as_the_engine_gives_them() -> None:
    """Issue 20's families: one item done (two handoffs, blocked for two reasons), one item in
    progress (blocked for a dependency), through the very renderer /metrics serves."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)

    def e(id_: str, type_: str, at: int, item: str, **more: str) -> FlowEvent:
        data = {"id": id_, "type": type_, "item": item, "at": t0 + timedelta(seconds=at)}
        return FlowEvent.model_validate({**data, "stream": "web", **more})

    events = [
        e("a1", "created", 0, "a", item_type="bug", assignee="ana", team="pay", parent="E-1"),
        e("a2", "state", 10, "a", state="in progress"),
        e("a3", "blocked", 12, "a", reason="dependency"),
        e("a4", "blocked", 14, "a", reason="approval"),
        e("a5", "unblocked", 16, "a", reason="dependency"),
        e("a6", "state", 18, "a", assignee="bo", team="core"),
        e("a7", "state", 20, "a", assignee="", team="core"),
        e("a8", "state", 22, "a", assignee="cy"),
        e("a9", "state", 30, "a", state="closed"),
        e("b1", "created", 0, "b", item_type="feature"),
        e("b2", "state", 5, "b", state="in progress", team="pay"),
        e("b3", "blocked", 6, "b", reason="dependency"),
    ]
    config = FlowConfig(streams=(StreamConfig(name="web", stages=STAGES, window="1d"),))
    now = int((t0 + timedelta(seconds=40)).timestamp()) * 1_000_000
    got: Series = {}
    for family in text_string_to_metric_families(
        render(Processor.from_events(config, events).snapshot(now)).decode()
    ):
        for sample in family.samples:
            got.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    assert got["flowgauge_handoffs_per_item"] == {
        labels(stream="web", kind=k, quantile=q): n
        for k, n in (("assignee", 2.0), ("team", 1.0))
        for q in ("0.5", "0.85", "0.95")
    }
    assert got["flowgauge_blocked_reason_seconds"] == {
        labels(stream="web", reason="dependency"): 4.0,
        labels(stream="web", reason="approval"): 16.0,
    }
    assert got["flowgauge_blocked_reason_items"] == {labels(stream="web", reason="dependency"): 1.0}
    assert got["flowgauge_distribution_wip_items"] == {
        labels(stream="web", dimension="item_type", value="feature"): 1.0,
        labels(stream="web", dimension="team", value="pay"): 1.0,
        labels(stream="web", dimension="parent", value="none"): 1.0,
    }
    assert got["flowgauge_distribution_throughput_items"] == {
        labels(stream="web", dimension="item_type", value="bug"): 1.0,
        labels(stream="web", dimension="team", value="core"): 1.0,
        labels(stream="web", dimension="parent", value="E-1"): 1.0,
    }


def test_a_fresh_worker_shows_no_breakdown_sample() -> None:
    """Their label values come from events: nothing is known in advance, no sample."""
    got = fresh_worker()
    for name in ("flowgauge_handoffs_per_item", "flowgauge_blocked_reason_items"):
        assert name not in got
