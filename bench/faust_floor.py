"""What Faust itself costs per event on this broker: the floor under the pipeline's figure.

Two minimal agents read the very records the pipeline benchmark writes, with the worker's own
Faust settings (`stream.topology.faust_settings`, the Tansu workarounds applied):

* `iterate`: `async for key, value in stream.items(): pass` - Faust's per-message consumption;
* `table`: the same plus one table write per event of a ~500-byte value (what the timelines
  agent writes: a stored timeline), i.e. one changelog record per event.

The pipeline can be no faster than `table` as long as the state is one absolute value per key
written per event (the design `../shared/notes/faust-on-tansu.md` found to heal every time).
Run by `bench.run`; `python -m bench.faust_floor worker` is the subprocess.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import faust

from bench.common import Stack, item_event, wait_until
from flowgauge.engine.timeline import Timeline
from flowgauge.model import FlowEvent
from flowgauge.settings import Settings
from flowgauge.stream import tansu_workarounds
from flowgauge.stream.topology import faust_settings


def _stored_value() -> bytes:
    events = [
        FlowEvent.model_validate(
            {**item_event("floor", 1, step, stream="delivery"), "source": "generic"}
        )
        for step in range(6)
    ]
    return Timeline.from_events(events).to_bytes()


def worker() -> None:
    """The subprocess: consume `<prefix>-raw` until BENCH_FLOOR_EVENTS, write the seconds."""
    settings = Settings()
    mode, expected = os.environ["BENCH_FLOOR_MODE"], int(os.environ["BENCH_FLOOR_EVENTS"])
    out = Path(os.environ["BENCH_FLOOR_OUT"])
    if settings.embedded_broker:
        tansu_workarounds.apply()
    conf = faust_settings(settings)
    Path(conf["datadir"]).mkdir(parents=True, exist_ok=True)
    app = faust.App(f"{settings.topic_prefix}-floor-{mode}", **conf)
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    topic = app.topic(f"{settings.topic_prefix}-raw", partitions=settings.partitions, **raw)
    table = app.Table(
        "floor", default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes
    )
    value = _stored_value()
    state = {"count": 0, "first": 0.0}

    @app.agent(topic, name="floor")
    async def floor(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for key, _ in stream.items():
            if state["count"] == 0:
                state["first"] = time.perf_counter()
            state["count"] += 1
            if mode == "table":
                table[key] = value
            if state["count"] == expected:
                seconds = time.perf_counter() - state["first"]
                out.write_text(json.dumps({"seconds": seconds, "events": expected}))
            yield None

    faust.Worker(
        app, loglevel="WARNING", quiet=True, redirect_stdouts=False
    ).execute_from_commandline()


def floor_run(bootstrap: str, workdir: Path, prefix: str, events: int, mode: str) -> float:
    """events/s of the minimal agent over the `events` records already on `<prefix>-raw`."""
    out = workdir / f"floor-{mode}.json"
    stack = Stack(
        bootstrap,
        workdir / f"floor-{mode}",
        prefix=prefix,
        extra_env={
            "BENCH_FLOOR_MODE": mode,
            "BENCH_FLOOR_EVENTS": str(events),
            "BENCH_FLOOR_OUT": str(out),
        },
    )
    try:
        stack.spawn("floor", "worker", "bench.faust_floor")
        if not wait_until(out.exists, max(120.0, events / 500), interval=0.2):
            return float("nan")
        time.sleep(0.1)  # the file is written in one call; let it land
        return float(events / json.loads(out.read_text())["seconds"])
    finally:
        stack.stop_all()


if __name__ == "__main__":
    worker()
