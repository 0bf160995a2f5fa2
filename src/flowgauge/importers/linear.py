"""`flowgauge import linear`: a team's issues and their history, from Linear's GraphQL API.

`POST {url}/graphql` with the API key in `Authorization` (a personal API key, sent as is). The
team is checked first (`teams(filter: {key: {eq: KEY}})`); then `issues(filter: {team, updatedAt
>= since}, includeArchived: true)`, paged by `pageInfo { hasNextPage endCursor }`, each issue with
its first page of `history`, the rest fetched through `issue(id) { history(after:) }`.

Rate limits (Linear's docs, "Rate limiting"): a limited request answers a GraphQL error with code
`RATELIMITED` (or HTTP 429); the `X-RateLimit-Requests-*` and `X-RateLimit-Complexity-*` headers
say what is left of the hour's budgets and when each resets (epoch ms), `X-Complexity` what the
last query cost. We wait for the reset when limited, and before a query the budget left cannot pay.
Page sizes keep each query under Linear's 10,000-point cap on one query's complexity (objects 1
point, scalars 0.1, a connection multiplies by its `first`, whatever it returns): 20 issues x (10
history entries of ~14 points + 50 labels) is about 4,200; a history page of 100 about 1,400. The
hourly complexity budget (250,000 points for an API key) then sets the pace: about 1,200 issues an
hour with short histories, fewer with long ones (~14 points an entry).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from flowgauge.importers.base import ItemHistory, Page
from flowgauge.importers.http import Client, ImportFailed, Policy, Transient
from flowgauge.importers.linear_history import HISTORY_FIELDS, ISSUE_FIELDS, check
from flowgauge.importers.linear_history import issue_deliveries as deliveries
from flowgauge.sources._native import dig
from flowgauge.sources.base import PayloadError

SOURCE = "linear"
DEFAULT_URL = "https://api.linear.app"
PATH = "/graphql"
CREDENTIALS = (
    "set FLOWGAUGE_LINEAR_API_KEY to a Linear personal API key with read access "
    "(Settings > Account > Security & access > Personal API keys)"
)

TEAMS = "query Team($key: String!) { teams(filter: {key: {eq: $key}}) { nodes { id key name } } }"
ISSUES = f"""
query Issues($team: String!, $since: DateTimeOrDuration!, $after: String, $first: Int!) {{
  issues(first: $first, after: $after, includeArchived: true, orderBy: createdAt,
         filter: {{team: {{key: {{eq: $team}}}}, updatedAt: {{gte: $since}}}}) {{
    nodes {{ {ISSUE_FIELDS}
      history(first: 10) {{ nodes {{ {HISTORY_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
HISTORY = f"""
query History($id: String!, $after: String) {{
  issue(id: $id) {{
    history(first: 100, after: $after) {{
      nodes {{ {HISTORY_FIELDS} }} pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""


class LinearClient(Client):
    """The polite client, reading Linear's own rate limit signals too."""

    def judge(self, response: httpx.Response) -> Transient | ImportFailed | None:
        """GraphQL errors come with 200 or 400: RATELIMITED is retried after the reset, a
        refused key names what to set."""
        if response.status_code not in (200, 400) or b'"errors"' not in response.content:
            return None
        code = _error_code(_json(response))
        url = f"{self.base_url}{PATH}"
        if code == "RATELIMITED":
            return Transient(f"{url} answered RATELIMITED", reset_wait(response.headers))
        if code == "AUTHENTICATION_ERROR":
            return ImportFailed(f"linear: {url} refused the API key: {CREDENTIALS}")
        return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_code(answer: Any) -> str | None:
    errors = dig(answer, "errors")
    if isinstance(errors, list) and errors:
        code = dig(errors[0], "extensions", "code")
        return code if isinstance(code, str) else "GRAPHQL_ERROR"
    return None


def reset_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to the latest reset of an exhausted budget (requests or complexity), else None."""
    now = time.time() if now is None else now
    waits = []
    for budget in ("requests", "complexity"):
        remaining = headers.get(f"x-ratelimit-{budget}-remaining")
        reset = headers.get(f"x-ratelimit-{budget}-reset")
        if remaining is None or reset is None or not reset.strip().isdigit():
            continue
        cost = headers.get("x-complexity", "0") if budget == "complexity" else "0"
        needed = max(1, int(cost)) if cost.strip().isdigit() else 1
        if remaining.strip().lstrip("-").isdigit() and int(remaining) < needed:
            waits.append(max(0.0, int(reset) / 1000 - now))
    return max(waits) if waits else None


def client(url: str, env: Mapping[str, str], policy: Policy | None = None) -> Client:
    key = env.get("FLOWGAUGE_LINEAR_API_KEY")
    if not key:
        raise ImportFailed(f"linear: no credentials: {CREDENTIALS}")
    return LinearClient(
        SOURCE,
        url,
        headers={"Authorization": key, "Content-Type": "application/json"},
        auth=None,
        credentials_hint=CREDENTIALS,
        policy=policy or Policy(),
    )


class LinearImporter:
    """Pages of a team's issues, each with its whole history rendered as webhook deliveries."""

    source = SOURCE

    def __init__(
        self, api: Client, team: str, since: datetime, *, page_size: int = 20, concurrency: int = 4
    ) -> None:
        self.api = api
        self.team = team
        self.since = since
        self.page_size = page_size
        self._limit = asyncio.Semaphore(concurrency)

    async def aclose(self) -> None:
        await self.api.aclose()

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        teams = await self._query(TEAMS, {"key": self.team})
        if not _nodes(dig(teams, "teams"), "teams"):
            raise ImportFailed(
                f"linear: no team with the key {self.team!r} (--team takes the key, e.g. ENG)"
            )
        while True:
            variables = {
                "team": self.team,
                "since": self.since.isoformat(),
                "after": cursor,
                "first": self.page_size,
            }
            connection = dig(await self._query(ISSUES, variables), "issues")
            issues = _nodes(connection, "issues")
            items = await asyncio.gather(*(self._item(node) for node in issues))
            following = _next(connection, "issues")
            yield Page(cursor=cursor, items=list(items), next=following)
            if following is None or not issues:
                return
            cursor = following

    async def _query(self, query: str, variables: dict[str, Any]) -> Any:
        """The `data` of a GraphQL answer; errors become one clear ImportFailed."""
        answer, headers = await self.api.json(
            "POST", PATH, body={"query": query, "variables": variables}
        )
        code = _error_code(answer)
        if code is not None:
            message = dig(answer, "errors")[0]
            text = dig(message, "message") if isinstance(message, dict) else message
            raise ImportFailed(f"linear: {self.api.base_url}{PATH}: {code}: {text}")
        data = dig(answer, "data")
        if not isinstance(data, dict):
            raise ImportFailed(
                f"linear: {self.api.base_url}{PATH} did not answer a GraphQL result: is --url "
                "Linear's API URL (https://api.linear.app)?"
            )
        wait = reset_wait(headers)
        if wait:  # the budget left cannot pay for another query like this one: wait it out
            if wait > self.api.policy.longest_wait:
                raise ImportFailed(f"linear: the rate limit budget resets in {wait:.0f}s")
            await asyncio.sleep(wait)
        return data

    async def _item(self, node: Any) -> ItemHistory:
        try:
            issue = check(node)
        except PayloadError as exc:
            raise ImportFailed(
                f"linear: {self.api.base_url}{PATH}: not a Linear issue: {exc}"
            ) from None
        key = str(issue["identifier"])
        history = list(_nodes(issue.get("history"), f"{key}.history"))
        after = _next(issue.get("history"), f"{key}.history")
        async with self._limit:
            while after is not None:
                answer = await self._query(HISTORY, {"id": issue["id"], "after": after})
                connection = dig(answer, "issue", "history")
                history.extend(_nodes(connection, f"{key}.history"))
                after = _next(connection, f"{key}.history")
        try:
            return ItemHistory(key, deliveries(issue, history))
        except PayloadError as exc:
            raise ImportFailed(f"linear: issue {key}: not what the API returns: {exc}") from None


def _nodes(connection: Any, what: str) -> list[Any]:
    nodes = dig(connection, "nodes")
    if not isinstance(nodes, list):
        raise ImportFailed(f"linear: {what}: no 'nodes' list: not what Linear's API returns")
    return nodes


def _next(connection: Any, what: str) -> str | None:
    info = dig(connection, "pageInfo")
    if not isinstance(info, dict):
        raise ImportFailed(f"linear: {what}: no 'pageInfo': not what Linear's API returns")
    cursor = info.get("endCursor")
    return cursor if info.get("hasNextPage") is True and isinstance(cursor, str) else None
