"""A GitLab-like REST API v4 on 127.0.0.1 (real HTTP), answering as GitLab documents it.

`GET /api/v4/projects/:id` (URL-encoded path; 404 `{"message": "404 Project Not Found"}`),
`/projects/:id/issues` and `/merge_requests` (`updated_after`, `order_by=created_at`,
`sort=asc`), per object `/resource_state_events`, `/resource_label_events`,
`/resource_milestone_events`, `/notes`, `/commits`, an issue's `/links` (not paginated), and
`/projects/:id/deployments` (`updated_after` with `order_by=updated_at`).

Offset pagination as GitLab does it: `page` / `per_page` (capped), `X-Page`, `X-Per-Page`,
`X-Next-Page` (empty on the last page), `X-Total`, and a `Link` header; `link_only` drops the
`X-` headers (as GitLab does past 10,000 rows), so only `Link` tells the next page.
`PRIVATE-TOKEN` (or an OAuth `Authorization: Bearer`) checked: 401
`{"message": "401 Unauthorized"}`. Faults on demand: 429 with `Retry-After`, a page that is not a
list, a 500 outage.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlparse

from gitlab_api import (
    api_deployment,
    api_object,
    commits,
    links,
    notes,
    resource_events,
    updated,
)
from gitlab_world import PATH, PROJECT, World

Answer = tuple[int, Any, dict[str, str]]


@dataclass
class FakeGitLab:
    world: World
    token: str = "good-token"
    page_size: int = 7  # the cap on per_page for the top-level lists
    sub_page: int = 2  # and for each object's events, notes and commits
    link_only: bool = False
    throttle: int = 0  # answer this many next list requests with 429 Retry-After: 1
    garbage: bool = False  # the issues list answers an object, not a list
    outage_after: int | None = None  # top-level pages served before answering 500s
    lists: int = 0
    updated_after: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, url: str, headers: Any) -> Answer:
        parsed = urlparse(url)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        bearer = headers.get("Authorization") == f"Bearer {self.token}"
        if headers.get("PRIVATE-TOKEN") != self.token and not bearer:
            return 401, {"message": "401 Unauthorized"}, {}
        base = f"/api/v4/projects/{quote(PATH, safe='')}"
        path = parsed.path
        if path in (base, f"/api/v4/projects/{PROJECT['id']}"):
            return 200, PROJECT, {}
        if not path.startswith(base + "/"):
            return 404, {"message": "404 Project Not Found"}, {}
        parts = path[len(base) + 1 :].split("/")
        if len(parts) == 1 and parts[0] in ("issues", "merge_requests", "deployments"):
            return self._top(parts[0], query, path)
        if len(parts) == 3 and parts[0] in ("issues", "merge_requests"):
            kind = "issue" if parts[0] == "issues" else "merge_request"
            item = next(
                (i for i in self.world.items if i.kind == kind and str(i.iid) == parts[1]), None
            )
            if item is None:
                return 404, {"message": "404 Not found"}, {}
            if parts[2] == "links" and kind == "issue":  # not paginated
                return 200, links(self.world, item), {}
            rows = self._sub(parts[2], item)
            if rows is None:
                return 404, {"message": "404 Not found"}, {}
            return self._page(rows, query, path, self.sub_page)
        return 404, {"message": "404 Not found"}, {}

    def _sub(self, what: str, item: Any) -> list[Any] | None:
        if what.startswith("resource_"):
            return resource_events(item, what)
        make: dict[str, Callable[[Any], list[Any]]] = {"notes": notes, "commits": commits}
        return make[what](item) if what in make else None

    def _top(self, what: str, query: dict[str, str], path: str) -> Answer:
        with self.lock:
            if self.throttle > 0:
                self.throttle -= 1
                return 429, {"message": "Retry later"}, {"Retry-After": "1"}
            if self.outage_after is not None and self.lists >= self.outage_after:
                return 500, {"message": "500 Internal Server Error"}, {}
            self.lists += 1
            self.updated_after.append(query.get("updated_after", ""))
        if self.garbage and what == "issues":
            return 200, {"message": "not a list"}, {}
        since = datetime.fromisoformat(query["updated_after"])
        if what == "deployments":
            assert query.get("order_by") == "updated_at"  # GitLab refuses updated_after without
            rows = [api_deployment(d) for d in self.world.deployments if d.finished >= since]
        else:
            kind = "issue" if what == "issues" else "merge_request"
            chosen = [i for i in self.world.items if i.kind == kind and updated(i) >= since]
            rows = [api_object(i) for i in sorted(chosen, key=lambda i: (i.created, i.iid))]
        return self._page(rows, query, path, self.page_size)

    def _page(self, rows: list[Any], query: dict[str, str], path: str, cap: int) -> Answer:
        page = int(query.get("page", "1"))
        size = min(int(query.get("per_page", "20")), cap)
        chunk = rows[(page - 1) * size : page * size]
        last = page * size >= len(rows)
        extra: dict[str, str] = {}
        if not last:
            following = urlencode({**query, "page": page + 1})
            extra["Link"] = f'<http://gitlab.example.com{path}?{following}>; rel="next"'
        if not self.link_only:
            extra.update(
                {
                    "X-Page": str(page),
                    "X-Per-Page": str(size),
                    "X-Next-Page": "" if last else str(page + 1),
                    "X-Total": str(len(rows)),
                }
            )
        return 200, chunk, extra


def _handler(fake: FakeGitLab) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, data, extra = fake.answer(self.path, self.headers)
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def serving(fake: FakeGitLab) -> Iterator[str]:
    """The fake's base URL while it serves, on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
