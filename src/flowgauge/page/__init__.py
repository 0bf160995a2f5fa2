"""The worker's live page: `GET /` (the value stream map) and `GET /api/view` (its data).

Everything the page needs ships with the Python install: the HTML, JS and CSS beside this module
(package data) and plotly.js from the installed `plotly` package, so the page works with no
internet. The processor's state is captured in the request handler, on the event loop, because
the agents mutate it on that loop (read from an executor thread, it could be seen half-applied);
the view is then built from the capture (immutable facts) in an executor thread, so the walk over
every item does not stall the loop. Clients asking within `FRESH_SECONDS` of the last build share
it: many open pages cost one build.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Protocol

import orjson
from aiohttp import web

from flowgauge.engine.processor import Processor
from flowgauge.view.model import build, capture

STATIC = resources.files(__package__) / "static"
FRESH_SECONDS = 1.0  # the page asks every 3 s
ASSETS = {  # name -> content type, served from STATIC
    "page.js": "text/javascript",
    "page.css": "text/css",
}


class PageState(Protocol):
    """What the page reads of the worker's state (stream/app.py `WorkerState`)."""

    @property
    def processor(self) -> Processor: ...

    @property
    def clock(self) -> Callable[[], int]: ...

    @property
    def ready(self) -> bool: ...


@cache
def plotly_js() -> bytes:
    """plotly.min.js as bundled in the installed plotly package (no CDN)."""
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()


@cache
def asset(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def routes(app: web.Application, state: PageState) -> None:
    """Add `/`, `/api/view` and the page's static assets to the worker's HTTP app."""

    async def index(_: web.Request) -> web.Response:
        return web.Response(body=asset("index.html"), content_type="text/html", charset="utf-8")

    lock = asyncio.Lock()
    last: list[tuple[float, bytes]] = []  # (monotonic time of the build, body)

    async def api_view(_: web.Request) -> web.Response:
        async with lock:
            if not last or time.monotonic() - last[0][0] > FRESH_SECONDS:
                captured = capture(state.processor, state.clock())  # on the loop: see above
                model = await asyncio.get_running_loop().run_in_executor(None, build, captured)
                model["ready"] = state.ready
                last[:] = [(time.monotonic(), orjson.dumps(model))]
            body = last[0][1]
        return web.Response(
            body=body, content_type="application/json", headers={"Cache-Control": "no-store"}
        )

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "plotly.min.js":
            body, kind = plotly_js(), "text/javascript"
        elif name in ASSETS:
            body, kind = asset(name), ASSETS[name]
        else:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type=kind, headers={"Cache-Control": "max-age=3600"})

    app.router.add_get("/", index)
    app.router.add_get("/api/view", api_view)
    app.router.add_get("/static/{name}", static)
