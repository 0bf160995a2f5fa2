"""`flowgauge import jira`: issues and their changelogs, Jira Cloud or Data Center.

Cloud (`deploymentType` Cloud in `/rest/api/2/serverInfo`): `POST /rest/api/3/search/jql`, paged
by `nextPageToken`, then each issue's `GET /rest/api/3/issue/{id}/changelog` (startAt /
maxResults / isLast). Data Center: `GET /rest/api/2/search?expand=changelog`, paged by startAt /
total. Status categories (for incidents) come from `/status`. A former parent the changelog names
by issue id only is looked up once (`GET /rest/api/{3|2}/issue/{id}?fields=summary`) for its key.
Credentials: email + API token (basic auth, Cloud) or the token alone (bearer: a Data Center
personal access token).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from flowgauge.importers.base import ItemHistory, Page
from flowgauge.importers.http import Client, ImportFailed, Policy
from flowgauge.importers.jira_history import FIELDS, issue_deliveries, parent_ids
from flowgauge.sources._native import dig
from flowgauge.sources.base import PayloadError

SOURCE = "jira"
CREDENTIALS = (
    "set FLOWGAUGE_JIRA_EMAIL and FLOWGAUGE_JIRA_API_TOKEN (Jira Cloud: your Atlassian account "
    "email and an API token), or FLOWGAUGE_JIRA_API_TOKEN alone (a Data Center personal access "
    "token, sent as a bearer token)"
)
_ORDER = re.compile(r"\border\s+by\b", re.IGNORECASE)


def client(url: str, env: Mapping[str, str], policy: Policy | None = None) -> Client:
    token = env.get("FLOWGAUGE_JIRA_API_TOKEN")
    if not token:
        raise ImportFailed(f"jira: no credentials: {CREDENTIALS}")
    email = env.get("FLOWGAUGE_JIRA_EMAIL")
    auth = httpx.BasicAuth(email, token) if email else None
    headers = {} if email else {"Authorization": f"Bearer {token}"}
    return Client(
        SOURCE,
        url,
        headers=headers,
        auth=auth,
        credentials_hint=CREDENTIALS,
        policy=policy or Policy(),
    )


def bounded_jql(jql: str, since: datetime) -> str:
    """The user's JQL, restricted to issues updated since `since`, oldest first (stable pages)."""
    parts = _ORDER.split(jql, maxsplit=1)
    where = parts[0].strip()
    order = parts[1].strip() if len(parts) > 1 else "created ASC, key ASC"
    bound = f'updated >= "{since:%Y-%m-%d %H:%M}"'
    return f"({where}) AND {bound} ORDER BY {order}" if where else f"{bound} ORDER BY {order}"


class JiraImporter:
    """Pages of issues, each with its whole changelog rendered as webhook deliveries."""

    source = SOURCE

    def __init__(self, api: Client, jql: str, *, page_size: int = 50, concurrency: int = 8) -> None:
        self.api = api
        self.jql = jql
        self.page_size = page_size
        self._limit = asyncio.Semaphore(concurrency)
        #: issue id -> the look-up of its key (former parents the changelog names by id)
        self._parent_keys: dict[str, asyncio.Future[str]] = {}

    async def aclose(self) -> None:
        await self.api.aclose()

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        info, _ = await self.api.json("GET", "/rest/api/2/serverInfo")
        cloud = _obj(info, "/rest/api/2/serverInfo").get("deploymentType") == "Cloud"
        version = "3" if cloud else "2"
        categories = await self._categories(version)
        fetch = self._cloud_page if cloud else self._dc_page
        estimate = await self._approximate_count() if cloud else None
        while True:
            issues, following, total = await fetch(cursor)
            total = total if total is not None else estimate
            items = await asyncio.gather(*(self._item(i, categories, cloud) for i in issues))
            yield Page(cursor=cursor, items=list(items), next=following, total=total)
            if following is None:
                return
            cursor = following

    async def _categories(self, version: str) -> dict[str, str]:
        path = f"/rest/api/{version}/status"
        statuses, _ = await self.api.json("GET", path)
        if not isinstance(statuses, list):
            raise ImportFailed(f"jira: {path} is not a list of statuses")
        found: dict[str, str] = {}
        for status in statuses:
            name, key = dig(status, "name"), dig(status, "statusCategory", "key")
            if isinstance(name, str) and isinstance(key, str):
                found[name] = key
        return found

    async def _approximate_count(self) -> int | None:
        """Cloud's estimate of the issues the JQL selects (for the progress bar's ETA only)."""
        body = {"jql": _ORDER.split(self.jql, maxsplit=1)[0].strip()}
        try:
            answer, _ = await self.api.json(
                "POST", "/rest/api/3/search/approximate-count", body=body
            )
        except ImportFailed:  # a site without it: no ETA, nothing else changes
            return None
        count = dig(answer, "count")
        return count if isinstance(count, int) else None

    async def _cloud_page(self, cursor: str | None) -> tuple[list[Any], str | None, int | None]:
        path = "/rest/api/3/search/jql"
        body: dict[str, Any] = {"jql": self.jql, "maxResults": self.page_size, "fields": FIELDS}
        if cursor is not None:
            body["nextPageToken"] = cursor
        page = _obj((await self.api.json("POST", path, body=body))[0], path)
        issues = _list(page.get("issues"), path, "issues")
        token = page.get("nextPageToken")
        last = page.get("isLast") is True or not isinstance(token, str) or not token or not issues
        return issues, None if last else token, None

    async def _dc_page(self, cursor: str | None) -> tuple[list[Any], str | None, int | None]:
        path = "/rest/api/2/search"
        start = int(cursor or 0)
        params = {
            "jql": self.jql,
            "startAt": start,
            "maxResults": self.page_size,
            "expand": "changelog",
            "fields": ",".join(FIELDS),
        }
        page = _obj((await self.api.json("GET", path, params=params))[0], path)
        issues = _list(page.get("issues"), path, "issues")
        total = page.get("total")
        if not isinstance(total, int):
            raise ImportFailed(f"jira: {path} is not a Jira search page: no 'total'")
        following = start + len(issues)
        return issues, str(following) if issues and following < total else None, total

    async def _item(self, issue: Any, categories: dict[str, str], cloud: bool) -> ItemHistory:
        issue = _obj(issue, "an issue of /search")
        key = str(issue.get("key"))
        if cloud:
            histories = await self._changelog(str(issue.get("id")))
        else:
            histories = _list(dig(issue, "changelog", "histories"), key, "changelog.histories")
        fields = issue.get("fields")
        parents = await self._keys_of(parent_ids(histories, fields or {}), cloud)
        try:
            return ItemHistory(key, issue_deliveries(issue, histories, categories, parents))
        except PayloadError as exc:
            raise ImportFailed(f"jira: issue {key}: not what the API returns: {exc}") from None

    async def _keys_of(self, ids: set[str], cloud: bool) -> dict[str, str]:
        """The keys of these issues (former parents), each looked up once per import even when
        several issues of a page name it at the same time."""
        for issue_id in ids - self._parent_keys.keys():
            self._parent_keys[issue_id] = asyncio.ensure_future(self._key_of(issue_id, cloud))
        return {i: await self._parent_keys[i] for i in sorted(ids)}

    async def _key_of(self, issue_id: str, cloud: bool) -> str:
        """An issue's key; an issue that is gone (404) keeps its id, the parent events name."""
        path = f"/rest/api/{3 if cloud else 2}/issue/{issue_id}"
        try:
            async with self._limit:
                found, _ = await self.api.json("GET", path, params={"fields": "summary"})
        except ImportFailed as exc:
            if " answered 404" not in str(exc):
                raise
            return issue_id
        key = dig(found, "key")
        return key if isinstance(key, str) else issue_id

    async def _changelog(self, issue_id: str) -> list[Any]:
        path = f"/rest/api/3/issue/{issue_id}/changelog"
        found: list[Any] = []
        async with self._limit:
            while True:
                params = {"startAt": len(found), "maxResults": 100}
                page = _obj((await self.api.json("GET", path, params=params))[0], path)
                values = _list(page.get("values"), path, "values")
                found.extend(values)
                last, total = page.get("isLast"), page.get("total")
                if last is None:  # older servers: the total says
                    last = not isinstance(total, int) or len(found) >= total
                if last or not values:
                    return found


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ImportFailed(f"jira: {where} did not answer a JSON object: is --url Jira's base URL?")
    return value


def _list(value: Any, where: str, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ImportFailed(f"jira: {where}: no '{name}' list: not what Jira's API returns")
    return value
