"""Where imported items go: a JSON-lines file, the raw topic, or nowhere (`--dry-run`).

Each item becomes ONE raw record, a bundle of its deliveries (`sources.bundle`), the same record
on the topic and in the file, so `report` and `replay` read the file as they read recorded
webhooks and a running worker absorbs an item's history in one step.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from flowgauge.importers.base import ItemHistory
from flowgauge.importers.http import ImportFailed
from flowgauge.keys import raw_record_key  # the ingester's key for a raw record
from flowgauge.model import FlowEvent
from flowgauge.model.delivery import Delivery
from flowgauge.settings import Settings
from flowgauge.sources import REGISTRY, PayloadError
from flowgauge.sources.bundle import BUNDLE_HEADER, bundle_part, bundle_text
from flowgauge.stream.admin import ensure_topics, started
from flowgauge.stream.topics import Topics


@dataclass(frozen=True)
class ItemRecord:
    """An item's raw record and the events it normalizes to (for counts and the record key)."""

    delivery: Delivery
    events: list[FlowEvent]


#: Bundles stay under Kafka's default record size limit (1 MB); a longer history is split.
MAX_RECORD_BYTES = 900_000


def item_records(
    source: str, item: ItemHistory, max_bytes: int = MAX_RECORD_BYTES
) -> list[ItemRecord]:
    """The bundle record(s) of one item: usually one; an ImportFailed if the source refuses
    what we rendered (an importer bug or an API answer we misread: never half-counted)."""
    records: list[ItemRecord] = []
    parts: list[bytes] = []
    size = 0
    for headers, body in item.deliveries:
        part = bundle_part(headers, body)
        if parts and size + len(part) > max_bytes:
            records.append(_record(source, item.key, len(records), parts))
            parts, size = [], 0
        parts.append(part)
        size += len(part) + 1
    if parts:
        records.append(_record(source, item.key, len(records), parts))
    return records


def _record(source: str, key: str, n: int, parts: list[bytes]) -> ItemRecord:
    delivery = Delivery(
        source=source,
        headers={BUNDLE_HEADER: "1"},
        body=bundle_text(parts),
        received_at="",
        delivery_id=f"import:{source}:{key}" + (f":{n}" if n else ""),
    )
    try:
        events = REGISTRY[source].normalize(delivery.headers, orjson.loads(delivery.body))
    except PayloadError as exc:
        raise ImportFailed(f"{source}: item {key}: not a history we can read: {exc}") from None
    return ItemRecord(delivery.with_events(events), events)  # format 2: normalized once, here


class Sink(Protocol):
    async def write(self, records: list[ItemRecord]) -> None:
        """Durably written when it returns (the checkpoint is saved after it)."""
        ...

    async def close(self) -> None: ...


class DrySink:
    """`--dry-run`: counts only."""

    async def write(self, records: list[ItemRecord]) -> None:
        return None

    async def close(self) -> None:
        return None


class FileSink:
    """JSON lines of delivery records; appended to when resuming, else written afresh.

    Opened at the first write, so a run that fails before its first page (bad credentials, an
    unreachable host) leaves the file of the previous run as it was.
    """

    def __init__(self, path: Path, *, append: bool) -> None:
        self._path = path
        self._mode = "ab" if append else "wb"
        self._handle: IO[bytes] | None = None

    async def write(self, records: list[ItemRecord]) -> None:
        if self._handle is None:
            self._handle = open(self._path, self._mode)  # noqa: SIM115 - closed in close()
        self._handle.write(b"".join(r.delivery.to_bytes() + b"\n" for r in records))
        self._handle.flush()

    async def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


class TopicSink:
    """The raw topic of `FLOWGAUGE_KAFKA` (or the embedded broker), keyed like the ingester."""

    def __init__(self, settings: Settings, source: str) -> None:
        self._settings = settings
        self._source = source
        self._topic = Topics.of(settings).raw
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        try:
            await ensure_topics(self._settings)
            producer = AIOKafkaProducer(
                bootstrap_servers=self._settings.bootstrap,
                acks="all",
                linger_ms=20,
                max_request_size=8 * 1024 * 1024,
            )
            await started(producer)
        except (KafkaError, OSError) as exc:
            raise self._failed("cannot reach", exc) from None
        self._producer = producer

    async def write(self, records: list[ItemRecord]) -> None:
        """Every record acknowledged (acks=all) when it returns, or an ImportFailed."""
        assert self._producer is not None, "start() first"
        try:
            sent = [
                await self._producer.send(
                    self._topic,
                    key=raw_record_key(r.events, r.delivery.delivery_id),
                    value=r.delivery.to_bytes(),
                )
                for r in records
            ]
            await asyncio.gather(*sent)
        except (KafkaError, OSError) as exc:
            raise self._failed("could not write to", exc) from None

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    def _failed(self, what: str, exc: Exception) -> ImportFailed:
        return ImportFailed(
            f"{self._source}: {what} the broker at {self._settings.bootstrap} "
            f"(FLOWGAUGE_KAFKA / FLOWGAUGE_BROKER_BIND): {type(exc).__name__}: {exc}"
        )
