"""The worker's HTTP app serves the page, its data and its assets (real aiohttp, real sockets)."""

from __future__ import annotations

import asyncio
from importlib import resources

import orjson
from aiohttp import ClientSession, web
from prometheus_client import CollectorRegistry
from view_history import config, history, processor

from flowgauge.stream.state import STAGES, WorkerState
from flowgauge.stream.worker import metrics_app
from flowgauge.view.model import view


async def _fetch(paths: list[str]) -> dict[str, tuple[int, str, bytes]]:
    state = WorkerState(config=config(), registry=CollectorRegistry(auto_describe=True))
    state.processor = processor(history(3))
    state.recovered.update(STAGES)  # both stages rebuilt: ready
    runner = web.AppRunner(metrics_app(state))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    out: dict[str, tuple[int, str, bytes]] = {}
    try:
        async with ClientSession() as http:
            for path in paths:
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    out[path] = (response.status, response.content_type, await response.read())
    finally:
        await runner.cleanup()
    return out


def test_page_view_and_assets_are_served_from_the_package() -> None:
    got = asyncio.run(
        _fetch(["/", "/api/view", "/static/page.js", "/static/plotly.min.js", "/static/x.js"])
    )
    assert got["/"][:2] == (200, "text/html") and b"static/page.js" in got["/"][2]
    status, kind, body = got["/api/view"]
    assert (status, kind) == (200, "application/json")
    model = orjson.loads(body)
    assert model.pop("ready") is True
    assert model == orjson.loads(orjson.dumps(view(processor(history(3)), 0)))
    plotly = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert got["/static/plotly.min.js"] == (200, "text/javascript", plotly)
    assert got["/static/page.js"][0] == 200 and b"Plotly.react" in got["/static/page.js"][2]
    assert got["/static/x.js"][0] == 404
    for text in (got["/"][2], got["/static/page.js"][2]):
        assert b"http://" not in text and b"https://" not in text  # nothing from the internet
