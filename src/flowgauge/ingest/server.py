"""`flowgauge ingest`: run the ingester in the foreground.

The broker is not needed to start: the ingester accepts into its spool at once, and its
forwarder creates the topics and drains the spool as soon as the broker answers. So an ingester
restarted during a broker outage still takes webhooks and loses nothing of what it held.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

from flowgauge.ingest.app import SERVER_OPTIONS, Ingester
from flowgauge.ingest.spool import SpoolError
from flowgauge.settings import Settings, split_hostport

log = logging.getLogger(__name__)


class Throttle(logging.Filter):
    """Let each aiokafka message through once per `interval` seconds.

    While the broker is away aiokafka logs every failed reconnect, several a second; the
    forwarder already says once that deliveries are being spooled, and the spool gauges say how
    much. Other loggers pass untouched.
    """

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval, self.clock = interval, clock
        self._last: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka"):
            return True
        key, now = (record.name, record.msg), self.clock()
        if now - self._last.get(key, -self.interval) < self.interval:
            return False
        self._last[key] = now
        return True


def run(settings: Settings) -> None:
    """Serve until signalled; exit with a message if the spool cannot be opened."""
    throttle = Throttle()
    for handler in logging.getLogger().handlers:
        handler.addFilter(throttle)
    ingester = Ingester(settings, CollectorRegistry(auto_describe=True))
    host, port = split_hostport(settings.ingest_bind)
    log.info("ingester on http://%s/webhooks/{source}", settings.ingest_bind)
    try:
        web.run_app(
            ingester.app(),
            host=host,
            port=port,
            access_log=None,
            print=None,
            handle_signals=True,
            shutdown_timeout=5.0,
            **SERVER_OPTIONS,
        )
    except SpoolError as exc:
        sys.exit(f"flowgauge ingest: cannot open the spool: {exc}")
