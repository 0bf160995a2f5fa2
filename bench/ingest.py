"""The ingester under a bounded load: signed 1 KB generic webhooks over loopback.

The load generator is one asyncio aiohttp client with a fixed number of requests in flight,
a fixed request count and a time cap. It shares the machine's two cores with the ingester and
the broker, so the ingester's own CPU time is reported too (requests per CPU-second is what one
process could do with a core to itself).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.common import Stack, cpu_seconds, percentile, sign, wait_until

BODY_BYTES = 1024


def body(n: int) -> bytes:
    """A 1,024-byte JSON array of generic events (ids unique per request, at most 512 chars)."""
    events: list[dict[str, Any]] = []
    step = 0
    while True:
        event = {
            "id": f"ing-{n}-{step}",
            "type": "state",
            "item": f"ing-{n % 10_000}",
            "at": f"2026-09-01T{step:02d}:00:00+00:00",
            "state": "In Progress",
        }
        if len(orjson.dumps([*events, event])) > BODY_BYTES:
            break
        events.append(event)
        step += 1
    while (missing := BODY_BYTES - len(orjson.dumps(events))) > 0:
        events[-1]["id"] += "x" * missing  # a few hundred bytes at most: within the id limit
    return orjson.dumps(events)


async def _load(url: str, total: int, concurrency: int, cap_s: float) -> dict[str, Any]:
    bodies = [(b, sign(b)) for b in (body(n) for n in range(total))]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    next_index = 0
    deadline = time.perf_counter() + cap_s
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal next_index
            while next_index < total and time.perf_counter() < deadline:
                raw, signature = bodies[next_index]
                next_index += 1
                headers = {"X-Flowgauge-Signature": signature, "Content-Type": "application/json"}
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=raw, headers=headers) as response:
                        await response.read()
                        statuses[response.status] += 1
                except aiohttp.ClientError:
                    statuses[0] += 1
                    continue
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "per_s": statuses[202] / elapsed,
        "p50_s": percentile(latencies, 0.5),
        "p99_s": percentile(latencies, 0.99),
        "statuses": dict(statuses),
        "elapsed_s": elapsed,
    }


def ingest(
    bootstrap: str, workdir: Path, total: int, concurrency: int, runs: int
) -> list[dict[str, Any]]:
    stack = Stack(bootstrap, workdir / "ingest")
    results = []
    try:
        stack.spawn("ingest", "ingest")
        wait_until(lambda: stack.ready("ingest"), 60)
        url = stack.url("/webhooks/generic", "ingest")
        asyncio.run(_load(url, min(500, total), concurrency, 30))  # warm-up, not counted
        pid = stack.pid("ingest")
        for _ in range(runs):
            cpu0 = cpu_seconds(pid)
            result = asyncio.run(_load(url, total, concurrency, 120))
            result["ingester_cpu_s"] = cpu_seconds(pid) - cpu0
            result["per_cpu_s"] = result["requests"] / max(result["ingester_cpu_s"], 1e-9)
            results.append(result)
    finally:
        stack.stop_all()
    return results
