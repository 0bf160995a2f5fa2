"""A GitHub-like REST server on 127.0.0.1 (real HTTP), answering as api.github.com does.

Endpoints and shapes from GitHub's REST API documentation: `GET /repos/{o}/{r}`,
`/issues?state=all&since=&sort=created&direction=asc` (pull requests listed with a `pull_request`
stub), `/issues/{n}/timeline`, `/pulls/{n}`, `/pulls/{n}/commits`, `/deployments` (newest first)
and `/deployments/{id}/statuses` (newest first); lists paged by `per_page` / `page` with a `Link`
header (`rel="next"`, `rel="last"`), absent on the last page. Faults on demand: 429 with
`Retry-After`, a secondary rate limit (403 with `x-ratelimit-remaining: 0` and
`x-ratelimit-reset`), 401 "Bad credentials" for a wrong token, 404 for another repository, a page
that is not a list, a 500 outage.
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
from urllib.parse import parse_qs, urlencode, urlparse

from github_api import api_commits, api_issue, api_pull, api_timeline, updated
from github_world import REPO, Deployment, Item, World, api_deployment, api_status, gh_time

BAD_CREDENTIALS = {
    "message": "Bad credentials",
    "documentation_url": "https://docs.github.com/rest",
    "status": "401",
}
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
Answer = tuple[int, Any, dict[str, str]]


@dataclass
class FakeGitHub:
    history: World
    token: str = "good-token"
    page_cap: int = 7  # the server's cap on per_page (GitHub's is 100)
    timeline_cap: int = 4
    throttle: int = 0  # answer this many next issue-list requests with 429 Retry-After: 1
    secondary: int = 0  # ... with 403 and an exhausted x-ratelimit-remaining
    garbage: bool = False  # the issue list answers an object, not a list
    outage_after: int | None = None  # issue-list pages served before answering 500s
    listings: int = 0
    requests: list[str] = field(default_factory=list)
    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _indexes: tuple[dict[int, Item], dict[int, Deployment]] | None = None

    def page(self, path: str, query: dict[str, list[str]], values: list[Any], cap: int) -> Answer:
        size = min(int(query.get("per_page", ["30"])[0]), cap)
        number = int(query.get("page", ["1"])[0])
        chunk = values[(number - 1) * size : number * size]
        last = max(1, -(-len(values) // size))
        headers: dict[str, str] = {}
        if number < last:
            flat = {k: v[0] for k, v in query.items()}
            links = [
                f'<{self.base}{path}?{urlencode({**flat, "page": number + 1})}>; rel="next"',
                f'<{self.base}{path}?{urlencode({**flat, "page": last})}>; rel="last"',
            ]
            headers["Link"] = ", ".join(links)
        return 200, chunk, headers

    def issues(self, path: str, query: dict[str, list[str]]) -> Answer:
        with self.lock:
            if self.throttle > 0:
                self.throttle -= 1
                return 429, {"message": "API rate limit exceeded"}, {"Retry-After": "1"}
            if self.secondary > 0:
                self.secondary -= 1
                reset = str(int(time.time()) + 2)
                limited = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
                return 403, {"message": "You have exceeded a secondary rate limit."}, limited
            if self.outage_after is not None and self.listings >= self.outage_after:
                return 500, {"message": "Server Error"}, {}
            self.listings += 1
        if self.garbage:
            return 200, {"message": "this is not a list"}, {}
        since = query.get("since", [""])[0]
        items = sorted(self.history.items, key=lambda i: (i.created, i.number))
        chosen = [api_issue(i) for i in items if gh_time(updated(i)) >= since]
        return self.page(path, query, chosen, self.page_cap)

    def indexes(self) -> tuple[dict[int, Item], dict[int, Deployment]]:
        """Items by number and deployments by id (built once: the world does not change)."""
        if self._indexes is None:
            self._indexes = (
                {i.number: i for i in self.history.items},
                {d.id: d for d in self.history.deployments},
            )
        return self._indexes

    def answer(self, path: str, query: dict[str, list[str]], headers: Any) -> Answer:
        with self.lock:
            self.requests.append(path)
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, BAD_CREDENTIALS, {}
        prefix = f"/repos/{REPO}"
        if path == prefix:
            return 200, {"id": 1296269, "full_name": REPO, "private": False}, {}
        if not path.startswith(prefix + "/"):
            return 404, NOT_FOUND, {}
        parts = path[len(prefix) + 1 :].split("/")
        by_number, deployments = self.indexes()
        if parts == ["issues"]:
            return self.issues(path, query)
        if len(parts) == 3 and parts[0] == "issues" and parts[2] == "timeline":
            item = by_number.get(int(parts[1]))
            if item is None:
                return 404, NOT_FOUND, {}
            return self.page(path, query, api_timeline(item), self.timeline_cap)
        if parts[0] == "pulls" and len(parts) in (2, 3):
            item = by_number.get(int(parts[1]))
            if item is None or not item.pull:
                return 404, NOT_FOUND, {}
            if len(parts) == 2:
                return 200, api_pull(item), {}
            return self.page(path, query, api_commits(item), 2)
        if parts == ["deployments"]:
            newest = sorted(self.history.deployments, key=lambda d: (d.created, d.id), reverse=True)
            return self.page(path, query, [api_deployment(d) for d in newest], self.page_cap)
        if len(parts) == 3 and parts[0] == "deployments" and parts[2] == "statuses":
            found = deployments.get(int(parts[1]))
            if found is None:
                return 404, NOT_FOUND, {}
            statuses = [api_status(found, i, s, at) for i, s, at in reversed(found.statuses)]
            return self.page(path, query, statuses, self.page_cap)
        return 404, NOT_FOUND, {}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stall

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            status, data, extra = fake.answer(parsed.path, parse_qs(parsed.query), self.headers)
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def serving(fake: FakeGitHub) -> Iterator[str]:
    """The fake's base URL while it serves, on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake.base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
