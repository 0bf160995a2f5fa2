"""Data trust at the ingester: the latest event time per source and the last hour's delays.

`DelayWindow` and `Freshness` against a naive oracle (hypothesis), and the real ingester on
loopback HTTP with an injected clock (its spool stands in for the absent broker): a delivery's
events move its source's gauges on `/metrics`, the window forgets after an hour."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaConnectionError
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from flowgauge.engine.snapshot import quantile_label
from flowgauge.ingest.app import SERVER_OPTIONS, Ingester
from flowgauge.ingest.forwarder import Producer
from flowgauge.ingest.freshness import DELAY_QUANTILES, DelayWindow, Freshness
from flowgauge.model import FlowEvent, to_micros
from flowgauge.settings import Settings
from flowgauge.signing import sha256_signature
from flowgauge.sources import REGISTRY

S = 1_000_000  # micros per second
SPAN = 60 * S  # a one-minute window keeps the examples small


def oracle(samples: list[tuple[int, int]], now: int, cap: int) -> dict[str, float]:
    """The definition: delays of arrivals in (now - span, now], the latest `cap` of them."""
    kept = [delay for arrival, delay in samples if now - SPAN < arrival <= now][-cap:]
    if not kept:
        return {}
    values = np.quantile(np.array(sorted(kept), dtype=np.int64), DELAY_QUANTILES)
    return {quantile_label(q): float(v) / S for q, v in zip(DELAY_QUANTILES, values, strict=True)}


arrivals = st.lists(
    st.tuples(st.integers(0, 5 * S), st.integers(-10 * S, 3600 * S)), max_size=60
).map(lambda xs: sorted(xs, key=lambda x: x[0]))  # arrivals come in time order


@given(arrivals, st.integers(1, 80), st.lists(st.integers(0, 200 * S), max_size=5))
def test_delay_window_is_the_oracle_at_every_scrape(
    samples: list[tuple[int, int]], cap: int, scrapes: list[int]
) -> None:
    window = DelayWindow(SPAN, cap)
    fed: list[tuple[int, int]] = []
    for arrival, delay in samples:
        window.add(arrival, delay)
        fed.append((arrival, delay))
    for now in sorted(s + (samples[-1][0] if samples else 0) for s in scrapes):
        window.expire(now)
        assert window.quantiles() == pytest.approx(oracle(fed, now, cap), rel=1e-12, abs=1e-9)
        assert len(window) == len([a for a, _ in fed if now - SPAN < a <= now][-cap:])


def event(eid: str, at: datetime) -> FlowEvent:
    return FlowEvent(id=eid, type="created", item=f"generic:{eid}", at=at)


BASE = datetime(2026, 11, 1, tzinfo=UTC)


@given(st.lists(st.lists(st.integers(0, 10_000), min_size=0, max_size=4), max_size=8), st.data())
def test_latest_event_time_is_the_max_whatever_the_order_of_deliveries(
    deliveries: list[list[int]], data: st.DataObject
) -> None:
    batches = [
        [event(f"{d}-{i}", BASE + timedelta(seconds=s)) for i, s in enumerate(b)]
        for d, b in enumerate(deliveries)
    ]
    results = []
    for order in (batches, data.draw(st.permutations(batches))):
        fresh = Freshness(["generic", "jira"])
        for n, batch in enumerate(order):
            fresh.observe("generic", batch, to_micros(BASE) + n * S)
        results.append(fresh.latest_seconds())
    times = [s for b in deliveries for s in b]
    expected = {"generic": (BASE + timedelta(seconds=max(times))).timestamp()} if times else {}
    assert results == [expected, expected]


def test_delays_are_exposed_per_source_with_counts_at_zero() -> None:
    fresh = Freshness(["generic", "jira"], span_micros=3600 * S)
    now = to_micros(BASE + timedelta(hours=2))
    events = [event(f"e{i}", BASE + timedelta(hours=2, seconds=-i)) for i in (1, 2, 3, 10)]
    fresh.observe("generic", events, now)
    got = fresh.delays(now)
    assert got["jira"] == (0, {})
    count, quantiles = got["generic"]
    assert count == 4
    # delays 1, 2, 3, 10 s: 0.5 -> 2.5; 0.85 -> h = 2.55 -> 3 + 0.55 * 7; 0.95 -> h = 2.85; 1 -> 10
    assert quantiles == pytest.approx({"0.5": 2.5, "0.85": 6.85, "0.95": 8.95, "1": 10.0})
    assert fresh.delays(now + 3600 * S) == {"generic": (0, {}), "jira": (0, {})}  # an hour on


# -- the real ingester, on loopback HTTP, with an injected clock -----------------------------


async def unreachable() -> Producer:
    raise KafkaConnectionError("no broker in the unit tier")


async def no_topics() -> None:
    raise KafkaConnectionError("no broker in the unit tier")


def scrape(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_the_ingester_exposes_what_it_accepted(tmp_path: Path) -> None:
    now = [BASE + timedelta(hours=3)]
    secret = "s3cret"
    settings = Settings(data_dir=tmp_path, generic_secret=secret)
    ingester = Ingester(
        settings,
        CollectorRegistry(auto_describe=True),
        clock=lambda: now[0],
        start_producer=unreachable,
        ensure=no_topics,
    )
    body = orjson.dumps(
        [
            {"id": "a", "type": "created", "item": "A", "at": "2026-11-01T02:59:50+00:00"},
            {"id": "b", "type": "created", "item": "B", "at": "2026-11-01T02:00:00+00:00"},
        ]
    )
    headers = {"X-Flowgauge-Signature": sha256_signature(secret.encode(), body)}

    async def run() -> list[dict[str, Any]]:
        client = TestClient(TestServer(ingester.app(), **SERVER_OPTIONS))
        await client.start_server()
        try:
            fresh = scrape(await (await client.get("/metrics")).text())
            answer = await client.post("/webhooks/generic", data=body, headers=headers)
            assert answer.status == 202, await answer.text()
            bad = await client.post("/webhooks/generic", data=b"[]", headers=headers)
            assert bad.status == 401  # a refused delivery moves nothing
            after = scrape(await (await client.get("/metrics")).text())
            now[0] += timedelta(hours=1)  # the window forgets; the latest time stays
            later = scrape(await (await client.get("/metrics")).text())
            return [fresh, after, later]
        finally:
            await client.close()

    fresh, after, later = asyncio.run(run())
    count = "flowgauge_event_delay_events"
    assert fresh[count] == {(("source", s),): 0.0 for s in REGISTRY}
    assert "flowgauge_source_last_event_timestamp_seconds" not in fresh
    assert after["flowgauge_source_last_event_timestamp_seconds"] == {
        (("source", "generic"),): datetime(2026, 11, 1, 2, 59, 50, tzinfo=UTC).timestamp()
    }
    assert after[count][(("source", "generic"),)] == 2.0
    # delays 10 s and 3600 s: 0.85 -> 10 + 0.85 * 3590, 0.95 -> 10 + 0.95 * 3590
    delays = {dict(k)["quantile"]: v for k, v in after["flowgauge_event_delay_seconds"].items()}
    assert delays == pytest.approx({"0.5": 1805.0, "0.85": 3061.5, "0.95": 3420.5, "1": 3600.0})
    assert later[count][(("source", "generic"),)] == 0.0
    assert "flowgauge_event_delay_seconds" not in later
    assert (
        later["flowgauge_source_last_event_timestamp_seconds"]
        == (after["flowgauge_source_last_event_timestamp_seconds"])
    )
