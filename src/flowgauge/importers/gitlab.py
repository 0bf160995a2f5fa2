"""`flowgauge import gitlab`: a project's issues, merge requests and deployments (REST API v4).

`GET /api/v4/projects/:id` (the project, by its URL-encoded path), then, each paged by offset
(`page` / `per_page`, the next page in `X-Next-Page`, else a `Link: rel="next"` URL):
`/projects/:id/issues` and `/merge_requests` (`updated_after`, oldest first), each object's
`resource_state_events`, `resource_label_events`, `resource_milestone_events` and `notes`
(system notes name assignee changes), an issue's `links` (its blocking issues), a merged merge
request's `commits` (its head's commit time, for DORA), and `/projects/:id/deployments`
(`updated_after`, by `updated_at`). Each object becomes the hooks GitLab sent
(importers/gitlab_history.py). Credentials: a personal, group or project access token with
`read_api`, sent as `PRIVATE-TOKEN`; a value `Bearer <token>` (an OAuth token) is sent as
`Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from flowgauge.importers.base import Delivery, ItemHistory, Page
from flowgauge.importers.gitlab_history import hook_time, item_deliveries, subject_of
from flowgauge.importers.http import Client, ImportFailed, Policy
from flowgauge.sources._common import timestamp
from flowgauge.sources._native import dig, opt_text
from flowgauge.sources.base import PayloadError

SOURCE = "gitlab"
DEFAULT_URL = "https://gitlab.com"
CREDENTIALS = (
    "set FLOWGAUGE_GITLAB_TOKEN to a GitLab access token (personal, group or project) with "
    "the read_api scope"
)
#: What an import reads, in this order; a cursor is `<phase> <page>` or `<phase> ?<query>`.
PHASES = ("issues", "merge_requests", "deployments")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
_FINISHED = frozenset({"success", "failed"})


def client(url: str, env: Mapping[str, str], policy: Policy | None = None) -> Client:
    token = env.get("FLOWGAUGE_GITLAB_TOKEN")
    if not token:
        raise ImportFailed(f"gitlab: no credentials: {CREDENTIALS}")
    bearer = token.removeprefix("Bearer ").strip() if token.startswith("Bearer ") else None
    return Client(
        SOURCE,
        url,
        headers={"Authorization": f"Bearer {bearer}"} if bearer else {"PRIVATE-TOKEN": token},
        auth=None,
        credentials_hint=CREDENTIALS,
        policy=policy or Policy(),
    )


def next_page(headers: Mapping[str, str]) -> str | None:
    """The next page as a cursor tail: `X-Next-Page`'s number, else the `Link` next URL's query."""
    number = (headers.get("x-next-page") or "").strip()
    if number:
        return number
    link = _NEXT.search(headers.get("link") or "")
    return "?" + urlsplit(link[1]).query if link else None


def _page_params(tail: str) -> dict[str, str]:
    return dict(parse_qsl(tail[1:])) if tail.startswith("?") else {"page": tail}


class GitLabImporter:
    """Pages of issues, then merge requests, then deployments, each rendered as its hooks."""

    source = SOURCE

    def __init__(
        self,
        api: Client,
        project: str,
        since: datetime,
        *,
        page_size: int = 100,
        concurrency: int = 8,
    ) -> None:
        self.api = api
        self.project = project
        self.since = since
        self.page_size = page_size
        self._limit = asyncio.Semaphore(concurrency)
        self._base = f"/api/v4/projects/{quote(project, safe='')}"

    async def aclose(self) -> None:
        await self.api.aclose()

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        project = await self._project()
        phase, _, tail = (cursor or "").partition(" ")
        if phase not in PHASES or not tail:  # no cursor (or not one of ours): from the start
            phase, tail = PHASES[0], "1"
        while True:
            objects, following = await self._list(phase, tail)
            items = await asyncio.gather(*(self._item(phase, project, o) for o in objects))
            here = f"{phase} {tail}"
            if following is None and phase == PHASES[-1]:
                yield Page(cursor=here, items=list(items), next=None)
                return
            if following is None:  # the next phase, from its first page
                phase, following = PHASES[PHASES.index(phase) + 1], "1"
            yield Page(cursor=here, items=list(items), next=f"{phase} {following}")
            tail = following

    async def _project(self) -> dict[str, Any]:
        try:
            found, _ = await self.api.json("GET", self._base)
        except ImportFailed as exc:
            if " answered 404" in str(exc):
                raise ImportFailed(
                    f"gitlab: project {self.project} not found at {self.api.base_url} (or the "
                    "token cannot see it): --project is the path, GROUP/NAME"
                ) from None
            raise
        if not isinstance(found, dict) or not opt_text(found.get("path_with_namespace")):
            raise ImportFailed(f"gitlab: {self.api.base_url}{self._base} is not a GitLab project")
        return found

    async def _list(self, phase: str, tail: str) -> tuple[list[Any], str | None]:
        """One page of a phase's objects and the tail of the next page (None: the last)."""
        params: dict[str, Any] = {
            "updated_after": self.since.isoformat(),
            "per_page": self.page_size,
            "sort": "asc",
            "order_by": "updated_at" if phase == "deployments" else "created_at",
        }
        if phase == "issues":
            params["scope"] = "all"
        params.update(_page_params(tail))
        path = f"{self._base}/{phase}"
        found, headers = await self.api.json("GET", path, params=params)
        return _list(found, self.api.base_url + path), next_page(headers)

    async def _all(self, path: str) -> list[Any]:
        """Every page of a per-object list."""
        found: list[Any] = []
        tail: str | None = "1"
        async with self._limit:
            while tail is not None:
                params = {"per_page": 100, **_page_params(tail)}
                page, headers = await self.api.json("GET", path, params=params)
                found.extend(_list(page, self.api.base_url + path))
                tail = next_page(headers)
        return found

    async def _item(self, phase: str, project: dict[str, Any], obj: Any) -> ItemHistory:
        if not isinstance(obj, dict):
            raise ImportFailed(f"gitlab: an entry of {phase} is not an object: {obj!r:.100}")
        if phase == "deployments":
            key = f"deployment/{obj.get('id')}"
            return ItemHistory(key, _deployment(project, obj))
        kind = "issue" if phase == "issues" else "merge_request"
        path = f"{self._base}/{phase}/{obj.get('iid')}"
        key = f"{'#' if kind == 'issue' else '!'}{obj.get('iid')}"
        reads = [
            self._all(f"{path}/{what}")
            for what in (
                "resource_state_events",
                "resource_label_events",
                "resource_milestone_events",
                "notes",
            )
        ]
        states, labels, milestones, notes = await asyncio.gather(*reads)
        head, links = None, None
        if kind == "issue":
            links = await self._blockers(path, project, obj)
        if kind == "merge_request" and obj.get("state") == "merged":
            head = next((c for c in await self._all(f"{path}/commits") if _is(c, obj)), None)
        try:
            subject = subject_of(kind, project, obj, head)
            history = item_deliveries(subject, obj, (states, labels, milestones, notes))
        except PayloadError as exc:
            raise ImportFailed(f"gitlab: {kind} {key}: not what the API returns: {exc}") from None
        return ItemHistory(key, history + ([links] if links else []))

    async def _blockers(
        self, path: str, project: dict[str, Any], issue: dict[str, Any]
    ) -> Delivery | None:
        """The issue's "is blocked by" links as an `issue_links` delivery (sources/_gitlab_links.py:
        GitLab has no hook for them); None when nothing blocks it."""
        async with self._limit:
            found, _ = await self.api.json("GET", f"{path}/links")
        blockers = [
            {k: link.get(k) for k in ("link_created_at", "state", "closed_at", "updated_at")}
            for link in _list(found, f"{self.api.base_url}{path}/links")
            if isinstance(link, dict) and link.get("link_type") == "is_blocked_by"
        ]
        if not blockers:
            return None
        body = {
            "object_kind": "issue_links",
            "project": {"path_with_namespace": project["path_with_namespace"]},
            "object_attributes": {"iid": issue.get("iid")},
            "blocked_by": blockers,
        }
        return ({}, body)


def _is(commit: Any, mr: dict[str, Any]) -> bool:
    return isinstance(commit, dict) and commit.get("id") == mr.get("sha")


def _deployment(project: dict[str, Any], deployment: dict[str, Any]) -> list[Delivery]:
    """A finished deployment as its Deployment Hook (others give no event: none)."""
    status = opt_text(deployment.get("status"))
    if status not in _FINISHED:
        return []
    sha = opt_text(deployment.get("sha")) or opt_text(dig(deployment, "deployable", "commit", "id"))
    finished = dig(deployment, "deployable", "finished_at") or deployment.get("updated_at")
    try:
        changed = hook_time(_time(finished))
    except PayloadError as exc:
        raise ImportFailed(f"gitlab: deployment {deployment.get('id')}: {exc}") from None
    web = opt_text(project.get("web_url")) or ""
    body = {
        "object_kind": "deployment",
        "status": status,
        "status_changed_at": changed,
        "deployment_id": deployment.get("id"),
        "deployable_id": dig(deployment, "deployable", "id"),
        "environment": dig(deployment, "environment", "name"),
        "environment_tier": dig(deployment, "environment", "tier"),
        "project": {"path_with_namespace": project["path_with_namespace"]},
        "short_sha": sha[:8] if sha else None,
        "commit_url": f"{web}/-/commit/{sha}" if sha else None,
    }
    return [({}, body)]


def _time(value: Any) -> datetime:
    return timestamp(value, "deployment finished_at")


def _list(value: Any, url: str) -> list[Any]:
    if not isinstance(value, list):
        raise ImportFailed(f"gitlab: {url} did not answer a JSON list: not GitLab's REST API?")
    return value
