"""`flowgauge worker`: the Faust worker with its `/metrics` and `/readyz` endpoint."""

from __future__ import annotations

import asyncio
import gc
import logging

import faust
from aiohttp import web
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from flowgauge import page
from flowgauge.model.loader import load_config
from flowgauge.settings import Settings, split_hostport
from flowgauge.stream import tansu_workarounds
from flowgauge.stream.admin import ensure_topics
from flowgauge.stream.diagnostics import dump_worker
from flowgauge.stream.state import WorkerState
from flowgauge.stream.topology import create_app

log = logging.getLogger(__name__)


def metrics_app(state: WorkerState) -> web.Application:
    """`/metrics` (flow gauges + pipeline counters), `/readyz` (recovered and consuming), `/`."""

    async def metrics(_: web.Request) -> web.Response:
        state.pin_snapshot()  # on the loop: the agents cannot change the engine meanwhile
        body = await asyncio.get_running_loop().run_in_executor(
            None, generate_latest, state.registry
        )
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def readyz(_: web.Request) -> web.Response:
        if state.ready:
            return web.json_response({"status": "ready"})
        return web.json_response({"status": "recovering"}, status=503)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/healthz", healthz)
    page.routes(app, state)  # `/`, the live value stream map, and `/api/view`
    return app


class MetricsServer(Service):
    """Serves `metrics_app` for as long as the Faust app runs."""

    def __init__(self, state: WorkerState, bind: str) -> None:
        super().__init__()
        self.worker_state, self.bind = state, bind
        self.runner: web.AppRunner | None = None

    async def on_start(self) -> None:
        host, port = split_hostport(self.bind)
        self.runner = web.AppRunner(metrics_app(self.worker_state), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, host, port).start()
        log.info("worker metrics on http://%s/metrics", self.bind)

    async def on_stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def build(settings: Settings) -> tuple[faust.App, WorkerState]:
    if settings.embedded_broker:
        tansu_workarounds.apply()
    config = load_config(settings.config)
    state = WorkerState(config=config, registry=CollectorRegistry(auto_describe=True))
    return create_app(settings, state), state


class Worker(faust.Worker):
    """Faust's worker, whose SIGUSR1 dump (every thread and task) also walks the suspended
    async generators, where a task's stack is cut off (`diagnostics.py`)."""

    def _on_sigusr1(self) -> None:
        super()._on_sigusr1()
        self.add_future(self._dump_stream_state())

    async def _dump_stream_state(self) -> None:
        dump_worker(self.app.consumer, self.stderr)


def run(settings: Settings) -> None:
    """Create the topics, then run the worker in the foreground until SIGINT/SIGTERM."""
    if settings.embedded_broker:
        tansu_workarounds.apply()
    asyncio.run(ensure_topics(settings))
    (settings.data_dir / "worker" / settings.worker_id).mkdir(parents=True, exist_ok=True)
    app, state = build(settings)
    server = MetricsServer(state, settings.metrics_bind)  # started and stopped by the Worker
    worker = Worker(app, server, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    # Changelog recovery fills the table with up to millions of values; the cyclic collector
    # would walk that growing heap again and again. The first rebuild re-enables it (and
    # freezes what was recovered): `recovery.without_cyclic_gc`.
    gc.disable()
    worker.execute_from_commandline()
