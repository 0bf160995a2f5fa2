"""A Linear-like GraphQL server on 127.0.0.1 (real HTTP), answering as Linear's API does.

`POST /graphql` with `{query, variables}`; the API key alone in `Authorization`. It answers the
three queries the importer sends (told apart by their root field, `teams`, `issues`, `issue`) in
the documented shapes: connections of `nodes` with `pageInfo { hasNextPage endCursor }` (opaque
cursors), issues filtered by team key and `updatedAt >= since`, history newest first. Rate limit
headers on every answer (`X-RateLimit-Requests-*`, `X-RateLimit-Complexity-*` with resets in epoch
ms, `X-Complexity`). Faults on demand: the `RATELIMITED` GraphQL error (HTTP 400, as Linear
answers it) with its reset header, a 429 with `Retry-After`, 401 with `AUTHENTICATION_ERROR` for a
wrong key, an exhausted complexity budget, a page that is not Linear's, a 500 outage (the 429,
the refusal, the outage and the page are local_api.py's, in Linear's words).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any, ClassVar

from linear_world import TEAM, Issue, api_history, api_issue
from local_api import Answer, LocalAPI, Request, login_page, serving

__all__ = ["FakeLinear", "serving"]


def _cursor(n: int) -> str:
    return base64.b64encode(f"cursor:{n}".encode()).decode()


def _offset(cursor: Any) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0


def error(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}], "data": None}


@dataclass
class FakeLinear(LocalAPI):
    issues: list[Issue]
    key: str = "lin_api_good"
    page_size: int = 5  # the server's cap on `first`
    history_page: int = 3  # the first history page nested in `issues` is cut here
    ratelimited: int = 0  # answer this many next issues queries with RATELIMITED
    budget_low: int = 0  # say the complexity budget is spent on this many next answers
    auth_status: int = 401  # what a wrong key gets (Linear has answered both 401 and 400)
    teams_asked: list[str] = field(default_factory=list)

    THROTTLED: ClassVar[Any] = error("Too many requests", "RATELIMITED")
    OUTAGE: ClassVar[Any] = {"errors": [{"message": "Internal server error"}]}
    NOT_THE_API: ClassVar[Answer] = login_page("Log in to Linear")

    def authorized(self, headers: Message) -> bool:
        return headers.get("Authorization") == self.key

    def refused(self) -> Answer:
        message = "Authentication required, not authenticated"
        return self.auth_status, error(message, "AUTHENTICATION_ERROR"), {}

    def headers(self) -> dict[str, str]:
        reset = str(int((time.time() + 1) * 1000))
        remaining = "0" if self.budget_low > 0 else "2999000"
        self.budget_low = max(0, self.budget_low - 1)
        return {
            "X-RateLimit-Requests-Limit": "1500",
            "X-RateLimit-Requests-Remaining": "1499",
            "X-RateLimit-Requests-Reset": reset,
            "X-RateLimit-Complexity-Limit": "3000000",
            "X-RateLimit-Complexity-Remaining": remaining,
            "X-RateLimit-Complexity-Reset": reset,
            "X-Complexity": "1200",
        }

    def route(self, request: Request) -> Answer:
        if request.method != "POST" or request.path != "/graphql":
            return 404, {"error": f"no {request.method} {request.path}"}, {}
        sent = request.json()
        query, variables = sent["query"], sent.get("variables") or {}
        with self.lock:
            extra = self.headers()
        if "teams(" in query:
            self.teams_asked.append(variables["key"])
            nodes = [TEAM] if variables["key"] == TEAM["key"] else []
            return 200, {"data": {"teams": {"nodes": nodes}}}, extra
        if "issues(" in query:
            return self._issues(variables, extra)
        if "issue(" in query:
            return self._history(variables, extra)
        return 400, error("Cannot query this field", "GRAPHQL_VALIDATION_FAILED"), extra

    def _issues(self, variables: dict[str, Any], extra: dict[str, str]) -> Answer:
        with self.lock:
            if self.ratelimited > 0:
                self.ratelimited -= 1
                reset = {"X-RateLimit-Requests-Remaining": "0"}
                return 400, error("Rate limit exceeded", "RATELIMITED"), {**extra, **reset}
        fault = self.listing()
        if fault is not None:
            return fault
        since = datetime.fromisoformat(variables["since"])
        chosen = sorted(
            (i for i in self.issues if _updated(i) >= since and variables["team"] == TEAM["key"]),
            key=lambda i: (i.created, i.id),
        )
        start = _offset(variables.get("after"))
        size = min(int(variables.get("first") or 50), self.page_size)
        page = chosen[start : start + size]
        nodes = []
        for issue in page:
            history = api_history(issue)
            node = api_issue(issue)
            more = len(history) > self.history_page
            node["history"] = {
                "nodes": history[: self.history_page],
                "pageInfo": {
                    "hasNextPage": more,
                    "endCursor": _cursor(self.history_page) if history else None,
                },
            }
            nodes.append(node)
        more = start + size < len(chosen)
        info = {"hasNextPage": more, "endCursor": _cursor(start + len(page)) if page else None}
        return 200, {"data": {"issues": {"nodes": nodes, "pageInfo": info}}}, extra

    def _history(self, variables: dict[str, Any], extra: dict[str, str]) -> Answer:
        issue = next((i for i in self.issues if i.id == variables["id"]), None)
        if issue is None:
            return 200, error("Entity not found: Issue", "INVALID_INPUT"), extra
        history = api_history(issue)
        start = _offset(variables.get("after"))
        page = history[start : start + 2]
        info = {"hasNextPage": start + 2 < len(history), "endCursor": _cursor(start + len(page))}
        connection = {"nodes": page, "pageInfo": info}
        return 200, {"data": {"issue": {"history": connection}}}, extra


def _updated(issue: Issue) -> datetime:
    return issue.archived or (issue.changes[-1].at if issue.changes else issue.created)
