"""A Plane-like REST server on 127.0.0.1 (real HTTP), answering as Plane's API does.

`X-API-Key` authentication; `GET /api/v1/workspaces/{slug}/projects/{id}/` (404 for another
project), `.../work-items/` and `.../work-items/{id}/activities/`, paged as Plane pages: `per_page`
and a `cursor` of the form `per_page:page:offset`, answers with `results`, `next_cursor`,
`next_page_results`, `total_results`. `X-RateLimit-Remaining` / `X-RateLimit-Reset` on each answer.
Faults on demand (local_api.py's, in Plane's words): 429 with `Retry-After`, 401 for a wrong key,
a page that is not Plane's, a 500 outage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import Message
from typing import Any, ClassVar

from local_api import Answer, LocalAPI, Request, login_page, serving
from plane_world import PROJECT, SLUG, WorkItem, api_activities, api_item

__all__ = ["FakePlane", "serving"]


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
class FakePlane(LocalAPI):
    items: list[WorkItem]
    key: str = "plane_api_good"
    page_size: int = 5
    activity_page: int = 3

    REFUSED: ClassVar[Any] = {"detail": "Given API token is not valid"}
    THROTTLED: ClassVar[Any] = {"error": "Rate limit exceeded"}
    OUTAGE: ClassVar[Any] = {"error": "Internal server error"}
    NOT_THE_API: ClassVar[Answer] = login_page("Sign in to Plane")

    def authorized(self, headers: Message) -> bool:
        return headers.get("X-API-Key") == self.key

    def route(self, request: Request) -> Answer:
        path, query = request.path, request.query
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
        fault = self.listing()
        if fault is not None:
            return fault
        ordered = sorted(self.items, key=lambda i: (i.created, i.id))
        return 200, page_of([api_item(i) for i in ordered], query, self.page_size), limit
