"""The webhook ingester: verify, check, persist the raw delivery, answer. Nothing more.

It answers 202 only once the broker acknowledged the delivery (`acks=all`), so an accepted
webhook is never lost; normalization happens in the worker, so a config change can be applied
later by replaying the raw topic.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from flowgauge.exposition import IngestMetrics
from flowgauge.model.delivery import Delivery, keep_headers
from flowgauge.settings import Settings
from flowgauge.sources import REGISTRY, PayloadError, SignatureError, Source
from flowgauge.stream.topics import Topics

log = logging.getLogger(__name__)
PRODUCER_KEY = web.AppKey("producer", AIOKafkaProducer)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


class Ingester:
    """Request handling, with the settings, registry, producer and clock injected."""

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.counters = IngestMetrics.create(registry)
        self.clock = clock
        self.topics = Topics.of(settings)
        self.producer: AIOKafkaProducer | None = None

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
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return error(413, "too_large", f"body over {limit} bytes"), "too_large"
        raw = await request.content.read(limit + 1)
        if len(raw) > limit:
            return error(413, "too_large", f"body over {limit} bytes"), "too_large"
        headers = {k.lower(): v for k, v in request.headers.items()}
        refusal = self._verify(source, raw, headers)
        if refusal is not None:
            return error(401, "unauthorized", refusal), "unauthorized"
        delivery = self._delivery(source, raw, headers)
        try:
            body: Any = orjson.loads(raw)
            events = source.normalize(headers, body)
        except (orjson.JSONDecodeError, PayloadError) as exc:
            reason = (
                f"body is not JSON: {exc}" if isinstance(exc, orjson.JSONDecodeError) else str(exc)
            )
            await self._dead_letter(delivery, reason)
            return error(400, "invalid", reason), "invalid"
        try:
            await self._publish(self.topics.raw, delivery.delivery_id, delivery.to_bytes())
        except (KafkaError, OSError) as exc:
            log.warning("cannot persist delivery: %s", type(exc).__name__)
            return error(
                503, "unavailable", "cannot persist the delivery now; retry"
            ), "unavailable"
        outcome = "accepted" if events else "ignored"
        return web.json_response(
            {"status": outcome, "delivery": delivery.delivery_id, "events": len(events)}, status=202
        ), outcome

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
        except SignatureError as exc:
            return str(exc)
        return None

    def _delivery(self, source: Source, raw: bytes, headers: dict[str, str]) -> Delivery:
        try:
            body: Any = orjson.loads(raw)
            delivery_id = source.delivery_id(headers, body)
        except (orjson.JSONDecodeError, PayloadError, AttributeError, TypeError):
            delivery_id = None
        if not delivery_id:  # no id from the platform: the content is the identity
            delivery_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        return Delivery(
            source=source.name,
            headers=keep_headers(headers),
            body=raw.decode("utf-8", "replace"),
            received_at=self.clock().isoformat(),
            delivery_id=delivery_id,
        )

    async def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        record = orjson.dumps(
            {"reason": reason, "source": delivery.source, "delivery": delivery.to_bytes().decode()}
        )
        try:
            await self._publish(self.topics.deadletter, delivery.delivery_id, record)
        except (KafkaError, OSError) as exc:
            log.warning("cannot dead-letter an invalid delivery: %s", type(exc).__name__)

    async def _publish(self, topic: str, key: str, value: bytes) -> None:
        if self.producer is None:
            raise KafkaError("producer not started")
        await self.producer.send_and_wait(topic, key=key.encode(), value=value)

    async def healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(self, _: web.Request) -> web.Response:
        if self.producer is None:
            return web.json_response({"status": "starting"}, status=503)
        try:
            await self.producer.partitions_for(self.topics.raw)
        except (KafkaError, OSError):
            return web.json_response({"status": "broker unavailable"}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics(self, _: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _start(self, _: web.Application) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap,
            acks="all",
            linger_ms=1,
            request_timeout_ms=10_000,
        )
        await self.producer.start()

    async def _stop(self, _: web.Application) -> None:
        if self.producer is not None:
            await self.producer.stop()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_body_bytes + 1)
        app.router.add_post("/webhooks/{source}", self.webhook)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app
