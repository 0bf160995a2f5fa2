"""Benchmarks that need the real broker and a real worker subprocess.

* throughput: deliveries written straight onto the raw topic (no HTTP), timed until the worker's
  `flowgauge_events_total{outcome="applied"}` reaches their count; the ceiling is a plain
  aiokafka consumer reading the very same raw topic (`getmany`, no decoding) right after.
* recovery: a worker holding N items is killed with SIGKILL; seconds until the next one answers
  `/readyz` and shows all N items again on `/metrics`.
* freshness: a steady load through the ingester; probe events time webhook sent -> gauge moved.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition
from prometheus_client import CollectorRegistry

from bench.common import (
    RESULTS,
    Stack,
    cpu_seconds,
    delivery_bytes,
    interleaved,
    item_event,
    item_grouped,
    percentile,
    raw_key,
    rss_bytes,
    sample,
    sign,
    stages_config,
    wait_until,
)
from bench.faust_floor import floor_run
from flowgauge.engine.item import StreamPlan, derive
from flowgauge.engine.stored import cached, fingerprint
from flowgauge.engine.timeline import Timeline
from flowgauge.keys import partition_for, stream_facts_key
from flowgauge.model import FlowEvent, to_micros
from flowgauge.model.loader import load_config
from flowgauge.stream.facts import item_fact, sent_key
from flowgauge.stream.state import WorkerState

PARTITIONS = 4  # the worker's default (Settings.partitions)
PROBE_TIMEOUT = 15.0  # seconds a freshness probe waits for the gauge
#: Seconds between a probe's looks at `/metrics`. A scrape of the freshness stack (2,000 items)
#: costs the worker ~4 ms of CPU (`scrape_cost`); at the former 10 ms the probe itself took
#: ~28 % of the worker's core while it waited, more than the load it measures beside it. A look
#: every 50 ms can only overstate a latency, by less than 50 ms.
PROBE_POLL = 0.05


async def produce(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes]] | list[tuple[bytes, bytes, int]]
) -> float:
    """Write (key, value[, partition]) records as fast as the producer pipelines them; seconds."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024
    )
    await producer.start()
    t0 = time.perf_counter()
    try:
        pending = []
        for key, value, *partition in records:
            home = partition[0] if partition else None
            pending.append(await producer.send(topic, key=key, value=value, partition=home))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - t0


async def consume_ceiling(bootstrap: str, topic: str, expected: int) -> float:
    """Plain aiokafka: read `expected` records of `topic` from the start; records/s."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        fetch_max_wait_ms=100,  # Tansu answers max_wait 0 with nothing
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        t0 = time.perf_counter()
        deadline = t0 + 120
        while seen < expected and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            seen += sum(len(records) for records in batches.values())
        elapsed = time.perf_counter() - t0
    finally:
        await consumer.stop()
    return seen / elapsed if seen >= expected else float("nan")


def _start_worker(stack: Stack, timeout: float = 120) -> float:
    """Spawn the worker; seconds until /readyz answers 200 (nan when it never did)."""
    t0 = time.perf_counter()
    stack.spawn("worker", "worker", stack.worker_module)
    ok = wait_until(stack.ready, timeout, interval=0.1)
    return time.perf_counter() - t0 if ok else float("nan")


class PySpy:
    """`py-spy record` attached to a PID, stopped with SIGINT (it then writes its output)."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(out),
                "--duration",
                "600",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> Path | None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.out if self.out.exists() else None


def throughput_run(
    bootstrap: str,
    workdir: Path,
    items: int,
    per_item: int,
    run: int,
    profile: bool = False,
    env: dict[str, str] | None = None,
    floors: bool = False,
    grouped: bool = False,
) -> dict[str, Any]:
    """`grouped`: one record per item holding its whole history (else one event per record,
    interleaved across items, as live webhooks arrive)."""
    stack = Stack(bootstrap, workdir / f"tp{run}", extra_env=env or {})
    out: dict[str, Any] = {"items": items, "events": items * per_item, "grouped": grouped}
    try:
        out["cold_start_s"] = _start_worker(stack)
        out["empty_rss"] = rss_bytes(stack.pid("worker"))
        bodies: Iterable[dict[str, Any] | list[dict[str, Any]]] = (
            item_grouped(f"r{run}", items, per_item)
            if grouped
            else interleaved(f"r{run}", items, per_item)
        )
        records = [(raw_key(body, n), delivery_bytes(body, n)) for n, body in enumerate(bodies)]
        spy = PySpy(stack.pid("worker"), RESULTS / f"worker-py-spy-{run}.txt") if profile else None
        cpu0 = cpu_seconds(stack.pid("worker"))
        t0 = time.perf_counter()
        out["produce_s"] = asyncio.run(produce(bootstrap, f"{stack.prefix}-raw", records))
        expected = items * per_item
        budget = max(120.0, expected / 500)
        done = wait_until(lambda: stack.applied() >= expected, budget, interval=0.5)
        elapsed = time.perf_counter() - t0
        out["worker_cpu_share"] = (cpu_seconds(stack.pid("worker")) - cpu0) / elapsed
        if spy is not None:
            path = spy.stop()
            out["profile"] = str(path) if path else None
        out["applied"] = stack.applied()
        out["pipeline_per_s"] = expected / elapsed if done else float("nan")
        out["worker_rss"] = rss_bytes(stack.pid("worker"))
        stack.stop("worker")
        # The ceiling reads the same records; in events/s a record counts its events, so for
        # item-grouped records the ratio compares events with events.
        records_per_s = asyncio.run(consume_ceiling(bootstrap, f"{stack.prefix}-raw", len(records)))
        out["ceiling_records_per_s"] = records_per_s
        out["ceiling_per_s"] = records_per_s * expected / len(records)
        if floors:  # Faust alone on the same records (bench/faust_floor.py)
            for mode in ("iterate", "table"):
                out[f"floor_{mode}_per_s"] = floor_run(
                    bootstrap, workdir / f"tp{run}", stack.prefix, len(records), mode
                ) * (expected / len(records))
    finally:
        stack.stop_all()
    return out


# ------------------------------------------------------------------------------ recovery


async def _prefill_changelog(bootstrap: str, prefix: str, items: int) -> None:
    """Write what a worker's two table changelogs hold after `items` open items of 3 events each.

    The same keys and values the agents write, on the partitions they write them to: the
    timelines (`Timeline.to_bytes` with the derived facts, engine/stored.py) and each partition's
    "facts sent" marker (under the worker's config, `facts.sent_marker`), and the stream stage's
    facts (stream/facts.py) on the stream's facts partition, so both recovered tables are the
    ones the pipeline would build.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(f"{prefix}-{table}-changelog", PARTITIONS, 1)
                for table in ("timelines", "streamfacts")
            ],
            timeout_ms=10_000,
        )
    finally:
        await admin.close()
    stream = load_config(None).stream("delivery")
    plan = StreamPlan.of(stream)
    print_ = fingerprint(stream.name, plan)
    marker = WorkerState(load_config(None), CollectorRegistry()).marker  # as the agents write it
    records = [(sent_key(p), marker, p) for p in range(PARTITIONS)]
    facts: list[tuple[bytes, bytes, int]] = []
    facts_home = partition_for(stream_facts_key("delivery"), PARTITIONS)
    for item in range(items):
        events = [FlowEvent.model_validate(
            {**item_event("rc", item, step, stream="delivery"), "item": f"generic:rc-{item}",
             "source": "generic"}) for step in range(3)]  # fmt: skip
        timeline = Timeline.from_events(events, "delivery")
        entry = cached(print_, to_micros(events[-1].at), derive(timeline, stream, plan))
        key = f"i|delivery|generic:rc-{item}"
        home = partition_for(f"i|generic:rc-{item}".encode(), PARTITIONS)  # keys.py
        records.append((key.encode(), timeline.to_bytes(entry), home))
        facts.append((key.encode(), item_fact(key, len(events), entry), facts_home))
    await produce(bootstrap, f"{prefix}-timelines-changelog", records)
    await produce(bootstrap, f"{prefix}-streamfacts-changelog", facts)


def _items_shown(stack: Stack) -> float:
    try:
        text = stack.metrics()
    except OSError:
        return -1
    total = 0.0
    for stage in ("backlog", "development", "review", "testing"):
        total += sample(text, "flowgauge_wip_items", f'stage="{stage}"') or 0.0
    return total


def recovery(
    bootstrap: str, workdir: Path, items: int, kills: int, store: str = "memory"
) -> dict[str, Any]:
    """`store`: the worker's table store (FLOWGAUGE_STORE), memory or rocksdb."""
    stack = Stack(bootstrap, workdir / f"recovery-{store}", extra_env={"FLOWGAUGE_STORE": store})
    out: dict[str, Any] = {
        "items": items,
        "store": store,
        "ready_s": [],
        "metrics_s": [],
        "rss": [],
    }
    try:
        t0 = time.perf_counter()
        asyncio.run(_prefill_changelog(bootstrap, stack.prefix, items))
        out["prefill_s"] = time.perf_counter() - t0
        budget = max(180.0, items / 2000)
        out["first_start_s"] = _start_worker(stack, budget)
        wait_until(lambda: _items_shown(stack) >= items, budget, interval=0.5)
        out["shown_before"] = _items_shown(stack)
        out["rss"].append(rss_bytes(stack.pid("worker")))
        scrapes = []
        for _ in range(5):
            t0 = time.perf_counter()
            stack.metrics()
            scrapes.append(time.perf_counter() - t0)
        out["http_scrape_s"] = scrapes
        for _ in range(kills):
            stack.stop("worker", sig=signal.SIGKILL)
            t0 = time.perf_counter()
            stack.spawn("worker", "worker")
            ready = wait_until(stack.ready, budget, interval=0.1)
            out["ready_s"].append(time.perf_counter() - t0 if ready else float("nan"))
            shown = wait_until(lambda: _items_shown(stack) >= items, budget, interval=0.1)
            out["metrics_s"].append(time.perf_counter() - t0 if shown else float("nan"))
            out["rss"].append(rss_bytes(stack.pid("worker")))
        out["shown_after"] = _items_shown(stack)
    finally:
        stack.stop_all()
    return out


# ----------------------------------------------------------------------------- freshness


async def _freshness(stack: Stack, seconds: float, rate: int) -> dict[str, Any]:
    """`rate` events/s (one per webhook) for `seconds`; probes timed until the gauge moves."""
    url = stack.url("/webhooks/generic", "ingest")
    metrics_url = stack.url("/metrics")
    latencies: list[float] = []
    timeouts: list[int] = []
    statuses: Counter[int] = Counter()
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(event: dict[str, Any]) -> None:
            body = orjson.dumps(event)
            headers = {"X-Flowgauge-Signature": sign(body), "Content-Type": "application/json"}
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    statuses[response.status] += 1
                    await response.read()
            except aiohttp.ClientError:
                statuses[0] += 1

        async def load() -> int:
            sent = 0
            tasks: set[asyncio.Task[None]] = set()
            start = time.perf_counter()
            items = max(1, rate * 2)
            while time.perf_counter() < stop_at:
                due = int((time.perf_counter() - start) * rate)
                while sent < due and len(tasks) < 256:
                    event = item_event("fl", sent % items, sent // items)
                    task = asyncio.create_task(post(event))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    sent += 1
                await asyncio.sleep(0.005)
            if tasks:
                await asyncio.wait(tasks, timeout=30)
            return sent

        async def probe_count() -> float:
            async with session.get(metrics_url) as response:
                text = await response.read()
            return sample(text, "flowgauge_wip_items", 'stream="probe"', 'stage="waiting"') or 0.0

        async def probes() -> None:
            n = 0
            await asyncio.sleep(2)  # let the load settle
            while time.perf_counter() < stop_at - 3:
                n += 1
                event = {
                    "id": f"probe-{n}",
                    "type": "created",
                    "item": f"probe-{n}",
                    "at": "2026-09-01T00:00:00+00:00",
                    "stream": "probe",
                }
                t0 = time.perf_counter()
                await post(event)
                deadline = t0 + PROBE_TIMEOUT
                while True:
                    if await probe_count() >= n:
                        latencies.append(time.perf_counter() - t0)
                        break
                    if time.perf_counter() > deadline:  # counted at the timeout: a lower bound
                        latencies.append(PROBE_TIMEOUT)
                        timeouts.append(n)
                        break
                    await asyncio.sleep(PROBE_POLL)
                await asyncio.sleep(0.2)

        sent, _ = await asyncio.gather(load(), probes())
    return {
        "sent": sent,
        "rate_sent": sent / seconds,
        "statuses": dict(statuses),
        "probes": len(latencies),
        "probe_timeouts": len(timeouts),
        "p50_s": percentile(latencies, 0.5),
        "p99_s": percentile(latencies, 0.99),
        "max_s": max(latencies) if latencies else float("nan"),
    }


def _fresh_config(workdir: Path) -> Path:
    """The freshness bench's config (five stages and a probe stream), written under `workdir`."""
    config = workdir / "fresh.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    config.write_text(stages_config(5, probe=True))
    return config


def freshness(
    bootstrap: str, workdir: Path, seconds: float, rate: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Webhook sent -> gauge moved, under a steady load of `rate` webhooks/s."""
    config = _fresh_config(workdir)
    stack = Stack(bootstrap, workdir / "fresh", config=config, extra_env=env or {})
    try:
        stack.spawn("ingest", "ingest")
        wait_until(lambda: stack.ready("ingest"), 60)
        _start_worker(stack)
        t0 = time.perf_counter()
        out = asyncio.run(_freshness(stack, seconds, rate))
        out["applied"] = stack.applied()
        out["applied_per_s"] = out["applied"] / (time.perf_counter() - t0)
    finally:
        stack.stop_all()
    return out


def scrape_cost(bootstrap: str, workdir: Path, items: int, scrapes: int = 200) -> dict[str, Any]:
    """The worker's CPU per `/metrics` scrape in the freshness bench's config, holding `items`
    items of 3 events: what a probe that looks at `/metrics` costs the worker it measures.
    Idle-corrected: the worker's CPU over as long again with no scrape is taken off."""
    config = _fresh_config(workdir)
    stack = Stack(bootstrap, workdir / "scrape", config=config)
    try:
        _start_worker(stack)
        bodies = list(interleaved("sc", items, 3))
        records = [(raw_key(body, n), delivery_bytes(body, n)) for n, body in enumerate(bodies)]
        asyncio.run(produce(bootstrap, f"{stack.prefix}-raw", records))
        wait_until(lambda: stack.applied() >= items * 3, max(120.0, items / 100), 0.5)
        pid = stack.pid("worker")
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        size = sum(len(stack.metrics()) for _ in range(scrapes)) / scrapes
        busy, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - t0
        cpu1 = cpu_seconds(pid)
        time.sleep(wall)
        idle = cpu_seconds(pid) - cpu1
    finally:
        stack.stop_all()
    return {
        "items": items,
        "scrapes": scrapes,
        "bytes": size,
        "worker_cpu_ms_per_scrape": (busy - idle) / scrapes * 1e3,
        "wall_ms_per_scrape": wall / scrapes * 1e3,
    }
