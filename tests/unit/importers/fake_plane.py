"""A Plane-like REST server on 127.0.0.1 (real HTTP), answering as Plane's API does.

`X-API-Key` authentication; `GET /api/v1/workspaces/{slug}/projects/{id}/` (404 for another
project), `.../work-items/` and `.../work-items/{id}/activities/`, paged as Plane pages: `per_page`
and a `cursor` of the form `per_page:page:offset`, answers with `results`, `next_cursor`,
`next_page_results`, `total_results`. `X-RateLimit-Remaining` / `X-RateLimit-Reset` on each answer.
Faults on demand: 429 with `Retry-After`, 401 for a wrong key, a page that is not Plane's, a 500
outage.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from plane_world import PROJECT, SLUG, WorkItem, api_activities, api_item

Answer = tuple[int, Any, dict[str, str]]


def page_of(values: list[Any], query: dict[str, list[str]], cap: int) -> dict[str, Any]:
    size = min(int(query.get("per_page", ["100"])[0]), cap)
    cursor = query.get("cursor", [f"{size}:0:0"])[0]
    number = int(cursor.split(":")[1])
    start = number * size
    chunk = values[start : start + size]
    more = start + size < len(values)
    return {
        "grouped_by": None,
        "sub_grouped_by": None,
        "total_count": len(values),
        "next_cursor": f"{size}:{number + 1}:0",
        "prev_cursor": f"{size}:{max(number - 1, 0)}:0",
        "next_page_results": more,
        "prev_page_results": number > 0,
        "count": len(chunk),
        "total_pages": -(-len(values) // size),
        "total_results": len(values),
        "extra_stats": None,
        "results": chunk,
    }


@dataclass
class FakePlane:
    items: list[WorkItem]
    key: str = "plane_api_good"
    page_size: int = 5
    activity_page: int = 3
    throttle: int = 0
    garbage: bool = False
    outage_after: int | None = None
    searches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, url: str, headers: Any) -> Answer:
        if headers.get("X-API-Key") != self.key:
            return 401, {"detail": "Given API token is not valid"}, {}
        parsed = urlparse(url)
        path, query = parsed.path, parse_qs(parsed.query)
        limit = {"X-RateLimit-Remaining": "59", "X-RateLimit-Reset": str(int(time.time()) + 60)}
        base = f"/api/v1/workspaces/{SLUG}/projects/{PROJECT}/"
        if not path.startswith(base):
            return 404, {"error": "Project not found"}, limit
        rest = path[len(base) :]
        if rest == "":
            return 200, {"id": PROJECT, "name": "Shop", "identifier": "SHOP"}, limit
        if rest == "work-items/":
            return self._items(query, limit)
        parts = rest.split("/")
        if len(parts) == 4 and parts[0] == "work-items" and parts[2] == "activities":
            item = next((i for i in self.items if i.id == parts[1]), None)
            if item is None:
                return 404, {"error": "Work item not found"}, limit
            return 200, page_of(api_activities(item), query, self.activity_page), limit
        return 404, {"error": "Page not found"}, limit

    def _items(self, query: dict[str, list[str]], limit: dict[str, str]) -> Answer:
        with self.lock:
            if self.throttle > 0:
                self.throttle -= 1
                return 429, {"error": "Rate limit exceeded"}, {"Retry-After": "1"}
            if self.outage_after is not None and self.searches >= self.outage_after:
                return 500, {"error": "Internal server error"}, {}
            self.searches += 1
        if self.garbage:
            return 200, "<html><body>Sign in to Plane</body></html>", {"Content-Type": "text/html"}
        ordered = sorted(self.items, key=lambda i: (i.created, i.id))
        return 200, page_of([api_item(i) for i in ordered], query, self.page_size), limit


def _handler(fake: FakePlane) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, data, extra = fake.answer(self.path, self.headers)
            raw = data.encode() if isinstance(data, str) else json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def serving(fake: FakePlane) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
