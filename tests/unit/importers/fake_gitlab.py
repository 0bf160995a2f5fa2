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
`{"message": "401 Unauthorized"}`. Faults on demand (local_api.py's): 429 with `Retry-After`, a
page that is not a list, a 500 outage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

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
from local_api import Answer, LocalAPI, Request, serving

__all__ = ["FakeGitLab", "serving"]


@dataclass
class FakeGitLab(LocalAPI):
    world: World
    token: str = "good-token"
    page_size: int = 7  # the cap on per_page for the top-level lists
    sub_page: int = 2  # and for each object's events, notes and commits
    link_only: bool = False
    updated_after: list[str] = field(default_factory=list)

    REFUSED: ClassVar[Any] = {"message": "401 Unauthorized"}
    THROTTLED: ClassVar[Any] = {"message": "Retry later"}
    OUTAGE: ClassVar[Any] = {"message": "500 Internal Server Error"}
    NOT_THE_API: ClassVar[Answer] = (200, {"message": "not a list"}, {})

    def authorized(self, headers: Message) -> bool:
        bearer = headers.get("Authorization") == f"Bearer {self.token}"
        return headers.get("PRIVATE-TOKEN") == self.token or bearer

    def route(self, request: Request) -> Answer:
        query = {k: v[0] for k, v in request.query.items()}
        base = f"/api/v4/projects/{quote(PATH, safe='')}"
        path = request.path
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
        fault = self.listing()
        if fault is not None:
            return fault
        with self.lock:
            self.updated_after.append(query.get("updated_after", ""))
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
