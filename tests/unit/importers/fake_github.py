"""A GitHub-like REST server on 127.0.0.1 (real HTTP), answering as api.github.com does.

Endpoints and shapes from GitHub's REST API documentation: `GET /repos/{o}/{r}`,
`/issues?state=all&since=&sort=created&direction=asc` (pull requests listed with a `pull_request`
stub), `/issues/{n}/timeline`, `/pulls/{n}`, `/pulls/{n}/commits`, `/deployments` (newest first)
and `/deployments/{id}/statuses` (newest first); lists paged by `per_page` / `page` with a `Link`
header (`rel="next"`, `rel="last"`), absent on the last page. Faults on demand: 429 with
`Retry-After`, a secondary rate limit (403 with `x-ratelimit-remaining: 0` and
`x-ratelimit-reset`), 401 "Bad credentials" for a wrong token, 404 for another repository, a page
that is not a list, a 500 outage (all but the secondary limit are local_api.py's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import Message
from typing import Any, ClassVar
from urllib.parse import urlencode

from github_api import api_commits, api_issue, api_pull, api_timeline, updated
from github_world import REPO, Deployment, Item, World, api_deployment, api_status, gh_time
from local_api import Answer, LocalAPI, Request, serving

__all__ = ["FakeGitHub", "serving"]

BAD_CREDENTIALS = {
    "message": "Bad credentials",
    "documentation_url": "https://docs.github.com/rest",
    "status": "401",
}
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


@dataclass
class FakeGitHub(LocalAPI):
    history: World
    token: str = "good-token"
    page_cap: int = 7  # the server's cap on per_page (GitHub's is 100)
    timeline_cap: int = 4
    secondary: int = 0  # answer this many next issue lists with 403, x-ratelimit-remaining: 0
    _indexes: tuple[dict[int, Item], dict[int, Deployment]] | None = None

    CONTENT_TYPE: ClassVar[str] = "application/json; charset=utf-8"
    REFUSED: ClassVar[Any] = BAD_CREDENTIALS
    THROTTLED: ClassVar[Any] = {"message": "API rate limit exceeded"}
    OUTAGE: ClassVar[Any] = {"message": "Server Error"}
    NOT_THE_API: ClassVar[Answer] = (200, {"message": "this is not a list"}, {})

    def authorized(self, headers: Message) -> bool:
        return headers.get("Authorization") == f"Bearer {self.token}"

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
            if self.secondary > 0:
                self.secondary -= 1
                reset = str(int(time.time()) + 2)
                limited = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
                return 403, {"message": "You have exceeded a secondary rate limit."}, limited
        fault = self.listing()
        if fault is not None:
            return fault
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

    def route(self, request: Request) -> Answer:
        path, query = request.path, request.query
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
