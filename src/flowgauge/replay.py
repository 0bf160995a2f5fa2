"""`flowgauge replay`: recorded generic events or deliveries, through the ingester or the topic.

To the topic, each record is normalized here (`ingest/intake.py`) exactly as the ingester does,
and what its adapter refuses goes to the dead-letter topic with the reason.
"""

from __future__ import annotations

import asyncio
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from flowgauge.ingest.intake import Intake, take, take_recorded
from flowgauge.records import Record, RecordError, read_records
from flowgauge.settings import Settings
from flowgauge.signing import sha256_signature
from flowgauge.sources import REGISTRY
from flowgauge.stream.admin import ensure_topics, running
from flowgauge.stream.topics import Topics


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 202:
            raise RecordError(f"{url}: answered {response.status}")


def _to_ingester(settings: Settings, records: list[Record], base: str, batch: int) -> None:
    secret = settings.secret_for("generic")
    pending: list[Any] = []

    def flush() -> None:
        body = orjson.dumps(pending)
        headers = {"X-Flowgauge-Signature": sha256_signature(secret, body)} if secret else {}
        _post(f"{base}/webhooks/generic", body, headers)
        pending.clear()

    for done, record in enumerate(records, start=1):
        if record.delivery is not None:
            d = record.delivery
            _post(f"{base}/webhooks/{d.source}", d.body.encode(), dict(d.headers))
        else:
            pending.extend(record.generic or [])
            if len(pending) >= batch:
                flush()
        _progress(done, len(records))
    if pending:
        flush()


def _intake(record: Record) -> Intake:
    """The record as the ingester would put it on the raw topic: normalized once, here."""
    if record.delivery is not None:
        return take_recorded(record.delivery)
    body = orjson.dumps(record.generic)
    return take(REGISTRY["generic"], body, {}, received_at="")


async def _to_topic(settings: Settings, records: list[Record]) -> None:
    await ensure_topics(settings)
    topics = Topics.of(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
    async with running(producer):
        for done, record in enumerate(records, start=1):
            intake = _intake(record)
            if intake.error is None:
                key, value = intake.raw_record()
                await producer.send(topics.raw, key=key, value=value)
            else:
                key, value = intake.dead_letter()
                await producer.send(topics.deadletter, key=key, value=value)
            if done % 500 == 0 or done == len(records):
                await producer.flush()
                _progress(done, len(records))


def replay(settings: Settings, paths: list[Path], to: str, url: str | None, batch: int) -> int:
    try:
        records = list(read_records(paths))
        if to == "topic":
            asyncio.run(_to_topic(settings, records))
        else:
            _to_ingester(settings, records, url or f"http://{settings.ingest_bind}", batch)
    except (RecordError, OSError, urllib.error.URLError) as exc:
        print(f"\nflowgauge replay: {exc}", file=sys.stderr)
        return 1
    print(f"\nreplayed {len(records)} records", file=sys.stderr)
    return 0
