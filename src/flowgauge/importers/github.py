"""`flowgauge import github`: a repository's issues, pull requests and deployments.

REST API v3 (`--url`, default https://api.github.com; GitHub Enterprise Server:
`https://HOST/api/v3`), pages followed by their `Link: <...>; rel="next"` header:

1. `GET /repos/{repo}/issues?state=all&since=...&sort=created&direction=asc` (issues and pull
   requests updated since `--since`), and for each one its `GET /repos/{repo}/issues/{n}/timeline`;
   for a pull request also `GET /repos/{repo}/pulls/{n}` (draft, head, merge) and, when merged,
   `GET /repos/{repo}/pulls/{n}/commits` (commit times for DORA).
2. `GET /repos/{repo}/deployments` (newest first, until older than `--since`), each with its
   `GET /repos/{repo}/deployments/{id}/statuses`.

Credentials: `FLOWGAUGE_GITHUB_TOKEN`, sent as a bearer token. Rate limits (429, or 403 with
`Retry-After` or an exhausted `X-RateLimit-Remaining`, GitHub's secondary limits) are waited out by
`http.Client`. The cursor of a page is its phase and path (`issues|/repos/...`), so a rerun
continues at the page it stopped at.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flowgauge.importers.base import ItemHistory, Page
from flowgauge.importers.github_history import deployment_deliveries, item_deliveries
from flowgauge.importers.http import Client, ImportFailed, Policy
from flowgauge.sources._common import timestamp
from flowgauge.sources.base import PayloadError

SOURCE = "github"
DEFAULT_URL = "https://api.github.com"
CREDENTIALS = (
    "set FLOWGAUGE_GITHUB_TOKEN to a token that can read the repository: a fine-grained token "
    "with read access to Issues, Pull requests, Deployments and Metadata (and Contents for pull "
    "request commits), or a classic token with `repo` (`public_repo` for public repositories)"
)
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
PER_PAGE = 100


def client(url: str, env: Mapping[str, str], policy: Policy | None = None) -> Client:
    token = env.get("FLOWGAUGE_GITHUB_TOKEN")
    if not token:
        raise ImportFailed(f"github: no credentials: {CREDENTIALS}")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    return Client(
        SOURCE, url, headers=headers, auth=None, credentials_hint=CREDENTIALS, policy=policy
    )


def next_link(link: str | None, base_url: str) -> str | None:
    """The `rel="next"` URL of a `Link` header, as a path under the base URL; None: last page."""
    found = _NEXT.search(link or "")
    if found is None:
        return None
    url = found[1]
    if url.startswith(base_url):
        return url[len(base_url) :]
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class GitHubImporter:
    """Pages of issues and pull requests (each with its timeline), then pages of deployments."""

    source = SOURCE

    def __init__(self, api: Client, repo: str, since: datetime, *, concurrency: int = 8) -> None:
        if not _REPO.fullmatch(repo):
            raise ImportFailed(f"github: --repo must be OWNER/NAME, not {repo!r}")
        self.api = api
        self.repo = repo
        self.since = since
        self._limit = asyncio.Semaphore(concurrency)

    async def aclose(self) -> None:
        await self.api.aclose()

    def _first(self, phase: str) -> str:
        if phase == "issues":
            stamp = self.since.strftime("%Y-%m-%dT%H:%M:%SZ")
            query = f"state=all&since={stamp}&sort=created&direction=asc&per_page={PER_PAGE}"
            return f"issues|/repos/{self.repo}/issues?{query}"
        return f"deployments|/repos/{self.repo}/deployments?per_page={PER_PAGE}"

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        if cursor is None:
            missing = f"repository {self.repo} not found, or the token cannot see it"
            await self.api.json("GET", f"/repos/{self.repo}", missing=missing)
        current = cursor or self._first("issues")
        while True:
            phase, _, path = current.partition("|")
            values, link = await self._list(path)
            upcoming: str | None
            if phase == "issues":
                items = await asyncio.gather(*(self._item(v) for v in values))
                following = next_link(link, self.api.base_url)
                upcoming = f"issues|{following}" if following else self._first("deployments")
            else:
                recent = [v for v in values if self._recent(v)]
                items = await asyncio.gather(*(self._deployment(v) for v in recent))
                following = next_link(link, self.api.base_url)
                done = following is None or len(recent) < len(values)
                upcoming = None if done else f"deployments|{following}"
            yield Page(cursor=current, items=list(items), next=upcoming)
            if upcoming is None:
                return
            current = upcoming

    async def _list(self, path: str) -> tuple[list[Any], str | None]:
        """One page of a list endpoint and its `Link` header."""
        async with self._limit:
            answer, headers = await self.api.json("GET", path)
        if not isinstance(answer, list):
            raise ImportFailed(
                f"github: {self.api.base_url}{path} did not answer a JSON list: "
                "not what GitHub's REST API returns (is --url the API's base URL?)"
            )
        return answer, headers.get("link")

    async def _all(self, path: str) -> list[Any]:
        """Every page of a list endpoint."""
        found: list[Any] = []
        following: str | None = path
        while following is not None:
            values, link = await self._list(following)
            found.extend(values)
            following = next_link(link, self.api.base_url)
        return found

    async def _item(self, value: Any) -> ItemHistory:
        item = _obj(value, "an issue of /issues")
        number = item.get("number")
        key = f"{self.repo}#{number}"
        base = f"/repos/{self.repo}"
        timeline = await self._all(f"{base}/issues/{number}/timeline?per_page={PER_PAGE}")
        pull: dict[str, Any] | None = None
        commits: list[Any] = []
        if isinstance(item.get("pull_request"), dict):
            async with self._limit:
                answer, _ = await self.api.json("GET", f"{base}/pulls/{number}")
            pull = _obj(answer, f"{base}/pulls/{number}")
            if pull.get("merged_at"):
                commits = await self._all(f"{base}/pulls/{number}/commits?per_page={PER_PAGE}")
        try:
            return ItemHistory(key, item_deliveries(self.repo, item, timeline, pull, commits))
        except PayloadError as exc:
            raise ImportFailed(f"github: {key}: not what the API returns: {exc}") from None

    def _recent(self, value: Any) -> bool:
        created = _obj(value, "a deployment of /deployments").get("created_at")
        try:
            return timestamp(created, "deployment.created_at") >= self.since
        except PayloadError as exc:
            raise ImportFailed(f"github: {self.repo} deployments: {exc}") from None

    async def _deployment(self, value: Any) -> ItemHistory:
        deployment = _obj(value, "a deployment of /deployments")
        number = deployment.get("id")
        path = f"/repos/{self.repo}/deployments/{number}/statuses?per_page={PER_PAGE}"
        statuses = await self._all(path)
        key = f"{self.repo}/deployments/{number}"
        try:
            return ItemHistory(key, deployment_deliveries(self.repo, deployment, statuses))
        except PayloadError as exc:
            raise ImportFailed(f"github: {key}: not what the API returns: {exc}") from None


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ImportFailed(f"github: {where} is not a JSON object: not what GitHub's API returns")
    return value
