"""In-process benchmarks of `flowgauge.engine`: per-event cost, memory per item, scrape cost.

No broker, no Faust: this is the work the worker's two agents do per event (normalize, then
decode -> timeline -> table value -> processor), and the state the worker holds per item (the
memory store's bytes value plus the processor's facts). Memory runs in a fresh subprocess per
size (`python -m bench.engine state N`), so each figure is a clean resident-size difference.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

from bench.common import (
    RESULTS,
    delivery_bytes,
    interleaved,
    item_event,
    median,
    rss_bytes,
    stages_config,
)
from flowgauge.engine.processor import Processor
from flowgauge.engine.timeline import Timeline
from flowgauge.exposition import render
from flowgauge.model import FlowConfig, FlowEvent
from flowgauge.model.delivery import Delivery
from flowgauge.model.loader import load_config, parse_config
from flowgauge.stream.facts import item_fact
from flowgauge.stream.pipeline import encode_event, normalize_delivery
from flowgauge.stream.recovery import without_cyclic_gc
from flowgauge.stream.stage import restore_streams


def _normalize(raw: bytes, config: FlowConfig) -> list[tuple[bytes, bytes]]:
    """What the normalize agent does with one raw record (minus Faust and the producer)."""
    result = normalize_delivery(Delivery.from_bytes(raw), config)
    return [(key.encode(), encode_event(event)) for key, event in result.events]


def _apply(key: bytes, value: bytes, table: dict[bytes, bytes], processor: Processor) -> None:
    """What the timelines agent does with one event (`Handlers.apply` in stream/handlers.py)."""
    event = FlowEvent.model_validate_json(value)
    current = table.get(key)
    timeline = Timeline.from_bytes(current) if current else Timeline.from_events(())
    updated = timeline.add(event)
    if updated is None:
        return
    table[key] = updated.to_bytes(processor.apply(key.decode(), updated))


def per_event(items: int, per_item: int, runs: int, profile: bool = False) -> dict[str, Any]:
    """events/s of the normalize logic and of the timelines logic, separately, median of runs."""
    config = load_config(None)
    norm_rates: list[float] = []
    apply_rates: list[float] = []
    for run in range(runs):
        raws = [delivery_bytes(e, n) for n, e in enumerate(interleaved(f"e{run}", items, per_item))]
        t0 = time.perf_counter()
        keyed = [kv for raw in raws for kv in _normalize(raw, config)]
        t1 = time.perf_counter()
        table: dict[bytes, bytes] = {}
        processor = Processor(config)
        for key, value in keyed:
            _apply(key, value, table, processor)
        t2 = time.perf_counter()
        norm_rates.append(len(raws) / (t1 - t0))
        apply_rates.append(len(keyed) / (t2 - t1))
    out: dict[str, Any] = {
        "events": items * per_item,
        "items": items,
        "normalize_per_s": median(norm_rates),
        "apply_per_s": median(apply_rates),
    }
    out["both_per_s"] = 1 / (1 / out["normalize_per_s"] + 1 / out["apply_per_s"])
    if profile:
        out["profile"] = _profile_engine(config, items, per_item)
    return out


def _profile_engine(config: FlowConfig, items: int, per_item: int) -> str:
    from pyinstrument import Profiler

    raws = [delivery_bytes(e, n) for n, e in enumerate(interleaved("p", items, per_item))]
    profiler = Profiler(interval=0.0005)
    profiler.start()
    table: dict[bytes, bytes] = {}
    processor = Processor(config)
    for raw in raws:
        for key, value in _normalize(raw, config):
            _apply(key, value, table, processor)
    profiler.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    text: str = profiler.output_text(unicode=False, color=False, show_all=False)
    (RESULTS / "engine-profile.txt").write_text(text)
    return text


# ------------------------------------------------------------------- memory, scrape cost


def open_item_events(item: int, stages: int) -> list[FlowEvent]:
    """An open item in one of the non-done stages: created, backlog, then its stage."""
    at = 1_788_000_000 + (item % 100_000) * 60
    stage = item % (stages - 1)
    raw = [
        {"type": "created", "item_type": "bug" if item % 5 == 0 else "feature"},
        {"type": "state", "state": "State 0"},
        {"type": "state", "state": f"State {stage}"},
    ]
    events = []
    for step, fields in enumerate(raw):
        data = {
            "id": f"m-{item}-{step}",
            "item": f"generic:m-{item}",
            "at": f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(at + step * 3600))}+00:00",
            "source": "generic",
            "stream": "delivery",
            **fields,
        }
        events.append(FlowEvent.model_validate(data))
    return events


def state_run(n: int, stages: int, scrapes: int, exact: bool = False) -> dict[str, Any]:
    """Hold `n` open items as the worker does; RSS per item; then time full `/metrics` renders.

    The table holds what the timelines agent writes: `Timeline.to_bytes()`, an `orjson.dumps`
    result. With `exact` it holds an exact-size copy instead (what a recovered worker holds:
    the bytes aiokafka read from the changelog), which shows what orjson's buffer costs.
    """
    config = parse_config(stages_config(stages), "<bench>")
    # warm every code path once, so lazily built things are in the baseline, not per item
    warm = Processor(config)
    warm.apply("i|delivery|warm", Timeline.from_events(open_item_events(0, stages), "delivery"))
    render(warm.snapshot(time.time_ns() // 1000))
    del warm
    gc.collect()
    before = rss_bytes(os.getpid())
    table: dict[bytes, bytes] = {}  # faust's memory store: key bytes -> value bytes
    processor = Processor(config)
    t0 = time.perf_counter()
    for item in range(n):
        key = f"i|delivery|generic:m-{item}"
        timeline = Timeline.from_events(open_item_events(item, stages), "delivery")
        value = timeline.to_bytes(processor.apply(key, timeline))  # what the agent writes
        table[key.encode()] = memoryview(value).tobytes() if exact else value
        del timeline
    build_s = time.perf_counter() - t0
    gc.collect()
    after_all = rss_bytes(os.getpid())
    value_bytes = sum(len(k) + len(v) for k, v in table.items())
    out: dict[str, Any] = {
        "items": n,
        "stages": stages,
        "exact": exact,
        "rss_before": before,
        "rss_after": after_all,
        "per_item": (after_all - before) / n,
        "table_payload_per_item": value_bytes / n,
        "build_s": build_s,
    }
    if scrapes:
        times = []
        size = 0
        for _ in range(scrapes):
            t = time.perf_counter()
            body = render(processor.snapshot(time.time_ns() // 1000))
            times.append(time.perf_counter() - t)
            size = len(body)
        out["scrape_s"] = times
        out["scrape_bytes"] = size
        # the table alone: what the memory store costs, measured by dropping the processor
        del processor
        gc.collect()
        out["rss_without_processor"] = rss_bytes(os.getpid())
    return out


# ------------------------------------------------------------------------- rebuild cost


def _open_items(run: str, n: int, steps: int) -> Iterator[tuple[str, Timeline]]:
    """`n` generic items of the default config's `delivery` stream, `steps` events each: their
    state keys and timelines, as the timelines stage holds them."""
    for item in range(n):
        events = [
            FlowEvent.model_validate(
                {**item_event(run, item, step, stream="delivery"), "source": "generic"}
            )
            for step in range(steps)
        ]
        yield f"i|delivery|{run}-{item}", Timeline.from_events(events)


def timeline_codec_run(events: int, repeat: int = 2000) -> dict[str, Any]:
    """us to encode (`Timeline.to_bytes`) and to decode (`from_bytes`) one timeline of `events`
    events, the work the timelines stage does per key and batch; best of 3."""
    _, timeline = next(_open_items("tc", 1, events))
    raw = timeline.to_bytes()
    out: dict[str, Any] = {"events": events, "bytes": len(raw)}
    for name, work in (
        ("encode_us", timeline.to_bytes),
        ("decode_us", lambda: Timeline.from_bytes(raw)),
    ):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(repeat):
                work()
            best = min(best, (time.perf_counter() - t0) / repeat * 1e6)
        out[name] = best
    return out


def rebuild_run(n: int) -> dict[str, Any]:
    """What `rebuild()` does after every recovery: every stored value into a new Processor.

    The values are what the agent writes (timeline + cached facts, engine/stored.py). Timed
    both ways: `Processor.restore` (the worker's path: cached facts, fingerprint matches) and
    re-deriving every timeline (`from_bytes` + `apply`: what a changed config costs).
    """
    config = load_config(None)
    writer = Processor(config)
    values = [
        (key, timeline.to_bytes(writer.apply(key, timeline)))
        for key, timeline in _open_items("rb", n, 3)
    ]
    del writer
    out: dict[str, Any] = {"items": n}
    with without_cyclic_gc():
        t0 = time.perf_counter()
        for _, value in values:  # decoding alone, each timeline dropped as the worker does
            Timeline.from_bytes(value)
        t1 = time.perf_counter()
        processor = Processor(config)
        with processor.loading():
            for key, value in values:
                processor.apply(key, Timeline.from_bytes(value))
        t2 = time.perf_counter()
        del processor
        processor = Processor(config)
        with processor.loading():  # what the worker's rebuild() does
            for key, value in values:
                processor.restore(key, value)
        t3 = time.perf_counter()
    out.update(
        decode_s=t1 - t0, apply_s=(t2 - t1) - (t1 - t0), rederive_s=t2 - t1, rebuild_s=t3 - t2
    )
    return out


def stream_rebuild_run(n: int, runs: int = 3) -> dict[str, Any]:
    """The stream stage's rebuild after every recovery (`stage.restore_streams`): `n` item facts,
    as the timelines stage sends and the facts table stores them, into a new processor; the best
    of `runs`, in process (the worker adds its RocksDB iteration and the group join)."""
    config = load_config(None)
    writer = Processor(config)
    facts = []
    for key, timeline in _open_items("sf", n, 3):
        entry = writer.apply(key, timeline)
        assert entry is not None
        facts.append((key.encode(), item_fact(key, len(timeline.events), entry)))
    del writer
    best = float("inf")
    for _ in range(runs):
        with without_cyclic_gc():
            t0 = time.perf_counter()
            done = restore_streams(config, facts, range(4), 4)
            best = min(best, time.perf_counter() - t0)
        assert done.facts == n and not done.refused
        del done
    return {"facts": n, "rebuild_s": best, "us_per_fact": best / n * 1e6}


def main(argv: list[str]) -> None:
    if argv[:1] == ["state"]:
        n, stages, scrapes = int(argv[1]), int(argv[2]), int(argv[3])
        print(orjson.dumps(state_run(n, stages, scrapes, exact="--exact" in argv)).decode())
    elif argv[:1] == ["rebuild"]:
        print(orjson.dumps(rebuild_run(int(argv[1]))).decode())
    elif argv[:1] == ["timeline-codec"]:
        print(orjson.dumps(timeline_codec_run(int(argv[1]))).decode())
    elif argv[:1] == ["stream-rebuild"]:
        print(orjson.dumps(stream_rebuild_run(int(argv[1]))).decode())
    elif argv[:1] == ["per-event"]:
        items, per_item, runs = int(argv[1]), int(argv[2]), int(argv[3])
        result = per_event(items, per_item, runs, profile="--profile" in argv)
        print(orjson.dumps({k: v for k, v in result.items() if k != "profile"}).decode())
    else:
        raise SystemExit(
            "usage: python -m bench.engine state N STAGES SCRAPES | rebuild N | stream-rebuild N"
            " | timeline-codec EVENTS | per-event ..."
        )


if __name__ == "__main__":
    main(sys.argv[1:])
