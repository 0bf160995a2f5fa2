"""Where an accepted delivery goes: straight to the broker, or to the spool and later forwarded.

The ingester answers 202 only once a delivery is durable. While the broker answers and the spool
is empty, that means `acks=all` from the broker. Otherwise the delivery is appended to the spool
and fsync'd (concurrent requests share one fsync: group commit), and a background task forwards
the spool to the topics in order, acknowledging records only after the broker did. While the
spool is not empty new deliveries are spooled too, so a delivery never overtakes an older one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiokafka.errors import KafkaError

from flowgauge.ingest.spool import Spool, SpoolError, SpoolFull
from flowgauge.stream.topics import Topics

log = logging.getLogger(__name__)

RAW, DEADLETTER = 0, 1  # the topic role of a spooled record
_ROLE_KEY = struct.Struct(">BH")
#: What a broker round trip can raise when the broker is away or was just restarted empty.
BROKER_ERRORS = (KafkaError, OSError, TimeoutError, RuntimeError)


class Producer(Protocol):
    """The part of `AIOKafkaProducer` used here (a stub in unit tests)."""

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[Any]: ...

    async def stop(self) -> None: ...


class Unavailable(Exception):
    """The delivery could not be persisted anywhere: the ingester answers 503."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def encode(role: int, key: bytes, value: bytes) -> bytes:
    return _ROLE_KEY.pack(role, len(key)) + key + value


def decode(payload: bytes) -> tuple[int, bytes, bytes]:
    role, key_len = _ROLE_KEY.unpack_from(payload)
    start = _ROLE_KEY.size
    return role, payload[start : start + key_len], payload[start + key_len :]


def _fsync_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Forwarder:
    """Persists deliveries (broker or spool) and drains the spool to the broker in order."""

    def __init__(
        self,
        spool: Spool,
        topics: Topics,
        start_producer: Callable[[], Awaitable[Producer]],
        ensure_topics: Callable[[], Awaitable[None]],
        publish_timeout: float = 3.0,
        batch_records: int = 500,
        backoff: tuple[float, float] = (0.2, 2.0),
    ) -> None:
        self.spool, self.topics = spool, topics
        self._start_producer, self._ensure_topics = start_producer, ensure_topics
        self.publish_timeout, self.batch_records, self.backoff = (
            publish_timeout,
            batch_records,
            backoff,
        )
        self.producer: Producer | None = None
        self.direct = False  # True while deliveries may skip the spool (broker fine, spool empty)
        self._synced = spool.next_seq - 1
        self._sync_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage = False
        self._fresh = True  # the topics must be ensured before the first forward

    @property
    def ready(self) -> bool:
        """Can a delivery be persisted now (`/readyz`)? Into the spool, or straight through."""
        return self.spool.can_accept or (self.direct and self.spool.depth == 0)

    def topic(self, role: int) -> str:
        return self.topics.deadletter if role == DEADLETTER else self.topics.raw

    async def persist(self, role: int, key: bytes, value: bytes) -> str:
        """Make one record durable; return where ("broker" or "spool") or raise Unavailable."""
        if self.direct and self.producer is not None and self.spool.depth == 0:
            try:
                future = await asyncio.wait_for(
                    self.producer.send(self.topic(role), value=value, key=key),
                    self.publish_timeout,
                )
                await asyncio.wait_for(future, self.publish_timeout)
                return "broker"
            except BROKER_ERRORS:
                self._broker_lost()
        await self._append(encode(role, key, value))
        return "spool"

    async def _append(self, payload: bytes) -> None:
        try:
            seq = self.spool.append(payload)
        except SpoolFull as exc:
            raise Unavailable("spool_full", f"{exc}; the broker is away, retry later") from exc
        except SpoolError as exc:
            raise Unavailable("unavailable", "cannot persist the delivery now; retry") from exc
        self._wake.set()
        while self._synced < seq:  # group commit: whoever comes first fsyncs for everyone
            if self._sync_task is None:
                self._sync_task = asyncio.create_task(self._sync())
            try:
                await asyncio.shield(self._sync_task)
            except OSError as exc:
                raise Unavailable("unavailable", "cannot persist the delivery now") from exc

    async def _sync(self) -> None:
        target = self.spool.next_seq - 1
        try:
            fd = self.spool.sync_handle()
            if fd is not None:
                await asyncio.to_thread(_fsync_close, fd)
        except OSError:
            log.error("spool: fsync failed; refusing deliveries until the ingester restarts")
            self.spool.mark_broken()
            raise
        finally:
            self._sync_task = None
        self._synced = max(self._synced, target)

    def _broker_lost(self) -> None:
        self.direct = False
        self._fresh = True  # a restarted broker may have lost the topics: recreate them first
        self._wake.set()
        if not self._outage:
            self._outage = True
            log.warning("broker unavailable: spooling deliveries under %s", self.spool.directory)

    # --- the background task ---------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="spool-forwarder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sync_task is not None:
            with contextlib.suppress(OSError):
                await self._sync_task
        if self.producer is not None:
            with contextlib.suppress(*BROKER_ERRORS):
                await asyncio.wait_for(self.producer.stop(), 5)
        self.spool.close()

    async def _run(self) -> None:
        delay = self.backoff[0]
        while True:
            if self.producer is not None and self.spool.depth == 0 and not self._fresh:
                self.direct = True
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                if self._fresh:
                    await asyncio.wait_for(self._ensure_topics(), 15)
                    self._fresh = False
                if self.producer is None:
                    self.producer = await asyncio.wait_for(self._start_producer(), 15)
                while self.spool.depth:
                    await self._forward_batch(self.producer)
                if self._outage:
                    self._outage = False
                    log.warning("broker back: the spool is forwarded")
                delay = self.backoff[0]
            except (*BROKER_ERRORS, SpoolError) as exc:
                log.debug("forwarding failed: %s", type(exc).__name__)
            except Exception:  # a bug must not end forwarding for good: say so, retry
                log.exception("spool forwarder failed; retrying")
            else:
                continue
            self._broker_lost()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff[1])

    async def _forward_batch(self, producer: Producer) -> None:
        """Send the head of the spool and acknowledge the prefix the broker confirmed."""
        records = self.spool.peek(self.batch_records)
        futures = []
        for record in records:
            role, key, value = decode(record.payload)
            send = producer.send(self.topic(role), value=value, key=key)
            futures.append(await asyncio.wait_for(send, self.publish_timeout * 3))
        results = await asyncio.wait_for(
            asyncio.gather(*futures, return_exceptions=True), self.publish_timeout * 5
        )
        confirmed = None
        for record, result in zip(records, results, strict=True):
            if isinstance(result, BaseException):
                break
            confirmed = record
        if confirmed is not None:
            self.spool.ack(confirmed)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if isinstance(failed, BROKER_ERRORS):
            raise failed
        if failed is not None:
            raise KafkaError(f"send failed: {type(failed).__name__}") from failed
