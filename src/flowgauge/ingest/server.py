"""`flowgauge ingest`: run the ingester in the foreground."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CollectorRegistry

from flowgauge.ingest.app import Ingester
from flowgauge.settings import Settings, split_hostport
from flowgauge.stream.topics import ensure_topics

log = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    """Create the topics (so the first webhook has somewhere to go), then serve until signalled."""
    asyncio.run(ensure_topics(settings))
    ingester = Ingester(settings, CollectorRegistry(auto_describe=True))
    host, port = split_hostport(settings.ingest_bind)
    log.info("ingester on http://%s/webhooks/{source}", settings.ingest_bind)
    web.run_app(
        ingester.app(),
        host=host,
        port=port,
        access_log=None,
        print=None,
        handle_signals=True,
        shutdown_timeout=5.0,
    )
