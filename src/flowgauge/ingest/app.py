"""The webhook ingester: verify, normalize once, persist the delivery record, answer.

It answers 202 only once the delivery is durable: acknowledged by the broker (`acks=all`), or,
while the broker is away, fsync'd into the local spool that `forwarder.py` drains in order
(docs/reliability.md). The record carries the request and its canonical events (`intake.py`);
routing by the config happens in the worker, so a config change applies to stored history.
Every answer, refusals included, is a JSON body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaProducer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from flowgauge.exposition import IngestMetrics
from flowgauge.exposition.trust import TrustCollector
from flowgauge.ingest.forwarder import DEADLETTER, RAW, Forwarder, Producer, Unavailable
from flowgauge.ingest.freshness import Freshness
from flowgauge.ingest.intake import Intake, failure, refused, take
from flowgauge.ingest.spool import Spool
from flowgauge.model.micros import to_micros
from flowgauge.settings import Settings
from flowgauge.sources import REGISTRY, SignatureError, Source
from flowgauge.stream.admin import ensure_topics, started
from flowgauge.stream.topics import Topics

log = logging.getLogger(__name__)
#: Server options `server.py` and the tests use: with no lingering, a refused body is not
#: drained (aiohttp otherwise reads an unread body for up to 10 s); the connection is closed.
SERVER_OPTIONS: dict[str, Any] = {"lingering_time": 0.0}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def too_large(limit: int) -> web.Response:
    """413, and close the connection: the rest of the body is never read."""
    response = error(413, "too_large", f"body over {limit} bytes")
    response.force_close()
    return response


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """aiohttp's own refusals (404 route, 405 method, ...) as the same JSON error bodies."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
    except Exception:  # a bug: answer honestly, never with a traceback or request data
        log.exception("unexpected error handling %s %s", request.method, request.path)
        return error(500, "internal", "unexpected error; it is logged")


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is over `limit` (never buffering more than that)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(chunks)


class Ingester:
    """Request handling, with the settings, registry, clocks and broker connection injected.

    `start_producer` / `ensure` default to a real `AIOKafkaProducer` and `ensure_topics`; tests
    inject an unreachable broker to run on the spool alone.
    """

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        clock: Callable[[], datetime] = _utcnow,
        *,
        start_producer: Callable[[], Awaitable[Producer]] | None = None,
        ensure: Callable[[], Awaitable[None]] | None = None,
        spool_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.counters = IngestMetrics.create(registry)
        self.clock = clock
        self.freshness = Freshness(REGISTRY)
        registry.register(TrustCollector(self.freshness, lambda: to_micros(self.clock())))
        self.spool_clock = spool_clock
        self.topics = Topics.of(settings)
        self._start_producer = start_producer or self._kafka_producer
        self._ensure = ensure or (lambda: ensure_topics(settings))
        self.forwarder: Forwarder | None = None

    async def webhook(self, request: web.Request) -> web.Response:
        name = request.match_info["source"]
        source = REGISTRY.get(name)
        if source is None:
            return error(
                404, "unknown_source", f"no source {name!r}; one of {', '.join(sorted(REGISTRY))}"
            )
        response, outcome = await self._handle(request, source)
        self.counters.webhooks.labels(name, outcome).inc()
        return response

    async def _handle(self, request: web.Request, source: Source) -> tuple[web.Response, str]:
        raw = await read_body(request, self.settings.max_body_bytes)
        if raw is None:
            return too_large(self.settings.max_body_bytes), "too_large"
        headers = {k.lower(): v for k, v in request.headers.items()}
        arrived = self.clock()
        received_at = arrived.isoformat()
        try:
            refusal = self._verify(source, raw, headers)
        except Exception as exc:  # an adapter bug, not a bad signature: dead-letter, 400
            intake = refused(source, raw, headers, received_at, failure("verify", exc))
        else:
            if refusal is not None:
                return error(401, "unauthorized", refusal), "unauthorized"
            intake = take(source, raw, headers, received_at)
        if intake.error is not None:
            await self._dead_letter(intake)
            return error(400, "invalid", intake.error), "invalid"
        try:
            await self._persist(RAW, *intake.raw_record())
        except Unavailable as exc:
            return error(503, exc.code, exc.message), "unavailable"
        self.freshness.observe(source.name, intake.events, to_micros(arrived))
        outcome = "accepted" if intake.events else "ignored"
        answer = {
            "status": outcome,
            "delivery": intake.delivery.delivery_id,
            "events": len(intake.events),
        }
        return web.json_response(answer, status=202), outcome

    def _verify(self, source: Source, raw: bytes, headers: dict[str, str]) -> str | None:
        secret = self.settings.secret_for(source.name)
        if secret is None:
            if self.settings.allow_unsigned:
                return None
            return (
                f"no secret is configured for {source.name}: set "
                f"FLOWGAUGE_{source.name.upper()}_SECRET (or FLOWGAUGE_ALLOW_UNSIGNED=1 "
                "for a local trial)"
            )
        try:
            source.verify(secret, raw, headers, self.clock())
        except SignatureError as exc:  # the one refusal; anything else raised is a bug (400)
            return str(exc)
        return None

    async def _dead_letter(self, intake: Intake) -> None:
        try:
            await self._persist(DEADLETTER, *intake.dead_letter())
        except Unavailable:
            log.debug("cannot dead-letter an invalid delivery now")

    async def _persist(self, role: int, key: bytes, value: bytes) -> None:
        if self.forwarder is None:
            raise Unavailable("starting", "the ingester is starting; retry")
        await self.forwarder.persist(role, key, value)

    async def healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(self, _: web.Request) -> web.Response:
        """200 while a delivery can be persisted: into the spool, or straight to the broker."""
        forwarder = self.forwarder
        if forwarder is None:
            return web.json_response({"status": "starting"}, status=503)
        state = {
            "broker": "up" if forwarder.direct else "away",
            "spool_records": forwarder.spool.depth,
        }
        if not forwarder.ready:
            return web.json_response({"status": "cannot persist", **state}, status=503)
        return web.json_response({"status": "ready", **state})

    async def metrics(self, _: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _kafka_producer(self) -> Producer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap,
            acks="all",
            linger_ms=1,
            request_timeout_ms=10_000,
        )
        return await started(producer)  # type: ignore[no-any-return]

    async def _start(self, _: web.Application) -> None:
        """Open the spool (recovering what a previous run left) and start forwarding it."""
        spool = Spool(
            self.settings.data_dir / "spool",
            max_bytes=self.settings.spool_max_bytes,
            clock=self.spool_clock,
        )
        self.counters.watch_spool(lambda: spool.depth, lambda: spool.size_bytes, spool.oldest_age)
        self.forwarder = Forwarder(
            spool,
            self.topics,
            self._start_producer,
            self._ensure,
            publish_timeout=self.settings.publish_timeout,
        )
        self.forwarder.start()

    async def _stop(self, _: web.Application) -> None:
        if self.forwarder is not None:
            await self.forwarder.stop()

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.settings.max_body_bytes + 1, middlewares=[json_errors]
        )
        app.router.add_post("/webhooks/{source}", self.webhook)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app
