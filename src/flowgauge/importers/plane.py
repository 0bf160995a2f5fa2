"""`flowgauge import plane`: a project's work items and their activities, from Plane's REST API.

`--project SLUG/PROJECT_ID` (the workspace slug from the URL, `app.plane.so/<slug>/...`, and the
project's id). With the API key in `X-API-Key`: `GET /api/v1/workspaces/{slug}/projects/{id}/`
(the project must exist), then `.../work-items/` and each work item's `.../activities/`, both paged
by `cursor` (`next_cursor`, while `next_page_results`). Plane's API has no documented "updated
since" filter: every work item is read, and those not updated since `--since` are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from flowgauge.importers.base import ItemHistory, Page
from flowgauge.importers.http import Client, ImportFailed, Policy
from flowgauge.importers.plane_history import check, work_item_deliveries
from flowgauge.sources._common import timestamp
from flowgauge.sources.base import PayloadError

SOURCE = "plane"
DEFAULT_URL = "https://api.plane.so"
CREDENTIALS = (
    "set FLOWGAUGE_PLANE_API_KEY to a Plane API key (Profile settings > Personal access tokens) "
    "of a member of the project"
)


def client(url: str, env: Mapping[str, str], policy: Policy | None = None) -> Client:
    key = env.get("FLOWGAUGE_PLANE_API_KEY")
    if not key:
        raise ImportFailed(f"plane: no credentials: {CREDENTIALS}")
    return Client(
        SOURCE,
        url,
        headers={"X-API-Key": key},
        auth=None,
        credentials_hint=CREDENTIALS,
        policy=policy or Policy(),
    )


def parse_project(selector: str) -> tuple[str, str]:
    """`SLUG/PROJECT_ID` -> (slug, project id), or ImportFailed saying what to give."""
    slug, _, project = selector.strip().strip("/").partition("/")
    if not slug or not project or "/" in project:
        raise ImportFailed(
            f"plane: --project {selector!r}: give WORKSPACE_SLUG/PROJECT_ID "
            "(the slug as in app.plane.so/<slug>/, the project's id)"
        )
    return slug, project


class PlaneImporter:
    """Pages of a project's work items, each with its activities rendered as webhooks."""

    source = SOURCE

    def __init__(
        self,
        api: Client,
        selector: str,
        since: datetime,
        *,
        page_size: int = 100,
        concurrency: int = 4,
    ) -> None:
        self.api = api
        self.slug, self.project = parse_project(selector)
        self.since = since
        self.page_size = page_size
        self._limit = asyncio.Semaphore(concurrency)
        self._base = f"/api/v1/workspaces/{self.slug}/projects/{self.project}"

    async def aclose(self) -> None:
        await self.api.aclose()

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        await self._project()
        path = f"{self._base}/work-items/"
        while True:
            page = await self._get(path, cursor)
            results = _results(page, path)
            chosen = [check_item(x, path) for x in results]
            recent = [x for x in chosen if _updated(x) >= self.since]
            items = await asyncio.gather(*(self._item(x) for x in recent))
            following = _next(page)
            total = (
                page.get("total_results") if isinstance(page.get("total_results"), int) else None
            )
            yield Page(cursor=cursor, items=list(items), next=following, total=total)
            if following is None or not results:
                return
            cursor = following

    async def _project(self) -> None:
        path = f"{self._base}/"
        try:
            await self.api.json("GET", path)
        except ImportFailed as exc:
            if " answered 404" in str(exc):
                raise ImportFailed(
                    f"plane: no project {self.project!r} in workspace {self.slug!r} "
                    f"({self.api.base_url}{path} answered 404)"
                ) from None
            raise

    async def _get(self, path: str, cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"per_page": self.page_size}
        if cursor is not None:
            params["cursor"] = cursor
        answer, _ = await self.api.json("GET", path, params=params)
        if not isinstance(answer, dict):
            raise ImportFailed(f"plane: {self.api.base_url}{path} did not answer a JSON object")
        return answer

    async def _item(self, item: dict[str, Any]) -> ItemHistory:
        key = str(item["id"])
        path = f"{self._base}/work-items/{key}/activities/"
        activities: list[Any] = []
        cursor: str | None = None
        async with self._limit:
            while True:
                page = await self._get(path, cursor)
                activities.extend(_results(page, path))
                cursor = _next(page)
                if cursor is None:
                    break
        try:
            return ItemHistory(key, work_item_deliveries(item, self.project, activities))
        except PayloadError as exc:
            raise ImportFailed(f"plane: work item {key}: not what the API returns: {exc}") from None


def check_item(value: Any, path: str) -> dict[str, Any]:
    try:
        return check(value)
    except PayloadError as exc:
        raise ImportFailed(f"plane: {path}: not a Plane work item: {exc}") from None


def _updated(item: dict[str, Any]) -> datetime:
    try:
        return timestamp(item.get("updated_at") or item.get("created_at"), "work_item.updated_at")
    except PayloadError as exc:
        raise ImportFailed(f"plane: work item {item.get('id')}: {exc}") from None


def _results(page: dict[str, Any], path: str) -> list[Any]:
    results = page.get("results")
    if not isinstance(results, list):
        raise ImportFailed(f"plane: {path}: no 'results' list: not what Plane's API returns")
    return results


def _next(page: dict[str, Any]) -> str | None:
    cursor = page.get("next_cursor")
    more = page.get("next_page_results") is True
    return cursor if more and isinstance(cursor, str) and cursor else None
