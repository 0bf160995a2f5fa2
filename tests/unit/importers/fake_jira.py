"""A Jira-like REST server on 127.0.0.1 (real HTTP), answering as Jira Cloud or Data Center do.

Endpoints and shapes from Atlassian's REST API documentation: `GET /rest/api/2/serverInfo`
(`deploymentType`), `GET /rest/api/{2,3}/status`, Cloud's `POST /rest/api/3/search/jql`
(`nextPageToken`, absent on the last page, and `isLast`),
`POST /rest/api/3/search/approximate-count` (`count`) and `GET /rest/api/3/issue/{id}/changelog`
(startAt / maxResults / total / isLast / values), Data Center's `GET /rest/api/2/search` with
`expand=changelog` (startAt / maxResults / total, `changelog.histories`), and
`GET /rest/api/{2,3}/issue/{id}` for the epics (404 for an issue that does not exist). Faults on
demand: 429 with `Retry-After`, 401 for wrong credentials, a page that is not Jira's, a 500
outage.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from jira_world import CATEGORY, EPICS, Issue, api_histories, api_issue

UNAUTHENTICATED = {
    "errorMessages": [
        "You are not authenticated. Authentication required to perform this operation."
    ],
    "errors": {},
}


@dataclass
class FakeJira:
    issues: list[Issue]
    edition: str = "Cloud"  # or "DataCenter"
    authorization: str = "Bearer good-token"
    page_size: int = 5  # the server's cap on maxResults, as Jira caps it
    changelog_page: int = 3
    throttle: int = 0  # answer this many next search requests with 429 Retry-After: 1
    garbage: bool = False  # search answers an HTML page
    outage_after: int | None = None  # search pages served before answering 500s
    deleted_epics: frozenset[str] = frozenset()  # epic ids answered 404 (deleted since)
    requests: list[tuple[str, str]] = field(default_factory=list)
    searches: int = 0
    jql: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ordered(self) -> list[Issue]:
        return sorted(self.issues, key=lambda i: (i.created, i.key))

    def search_cloud(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        start = int(str(body.get("nextPageToken") or "tok-0").removeprefix("tok-"))
        size = min(int(body.get("maxResults", 50)), self.page_size)
        issues = self.ordered()[start : start + size]
        page: dict[str, Any] = {"issues": [api_issue(i) for i in issues]}
        if start + size < len(self.issues):
            page["nextPageToken"] = f"tok-{start + size}"
            page["isLast"] = False
        else:
            page["isLast"] = True  # and no nextPageToken (JRACLOUD-92184)
        return 200, page, {}

    def search_dc(self, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        start = int(query.get("startAt", ["0"])[0])
        size = min(int(query.get("maxResults", ["50"])[0]), self.page_size)
        issues = self.ordered()[start : start + size]
        with_changelog = "changelog" in query.get("expand", [""])[0]
        return (
            200,
            {
                "expand": "names,schema",
                "startAt": start,
                "maxResults": size,
                "total": len(self.issues),
                "issues": [api_issue(i, with_changelog) for i in issues],
            },
            {},
        )

    def changelog(
        self, issue_id: str, query: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        issue = next((i for i in self.issues if str(i.id) == issue_id), None)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist"], "errors": {}}, {}
        values = api_histories(issue)
        start = int(query.get("startAt", ["0"])[0])
        size = min(int(query.get("maxResults", ["100"])[0]), self.changelog_page)
        return (
            200,
            {
                "self": f"/rest/api/3/issue/{issue_id}/changelog?maxResults={size}&startAt={start}",
                "maxResults": size,
                "startAt": start,
                "total": len(values),
                "isLast": start + size >= len(values),
                "values": values[start : start + size],
            },
            {},
        )

    def epic(self, issue_id: str) -> tuple[int, Any, dict[str, str]]:
        key = EPICS.get(issue_id)
        if key is None or issue_id in self.deleted_epics:
            return (
                404,
                {"errorMessages": ["Issue does not exist or you do not have permission"]},
                {},
            )
        fields = {"summary": f"epic {key}"}
        return 200, {"id": issue_id, "key": key, "self": f"/issue/{issue_id}", "fields": fields}, {}

    def answer(
        self, method: str, url: str, headers: Any, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        parsed = urlparse(url)
        path, query = parsed.path, parse_qs(parsed.query)
        with self.lock:
            self.requests.append((method, path))
        if path == "/rest/api/2/serverInfo":
            kind = {"Cloud": "Cloud", "DataCenter": "DataCenter"}[self.edition]
            return 200, {"baseUrl": "http://jira", "version": "9.12.0", "deploymentType": kind}, {}
        if headers.get("Authorization") != self.authorization:
            return 401, UNAUTHENTICATED, {}
        if path in ("/rest/api/2/status", "/rest/api/3/status"):
            return (
                200,
                [
                    {"id": str(n), "name": s, "statusCategory": {"key": c}}
                    for n, (s, c) in enumerate(CATEGORY.items())
                ],
                {},
            )
        cloud = self.edition == "Cloud"
        if (cloud and method == "POST" and path == "/rest/api/3/search/jql") or (
            not cloud and method == "GET" and path == "/rest/api/2/search"
        ):
            return self._search(cloud, query, body)
        if cloud and method == "POST" and path == "/rest/api/3/search/approximate-count":
            return 200, {"count": len(self.issues)}, {}
        if (
            cloud
            and method == "GET"
            and path.startswith("/rest/api/3/issue/")
            and path.endswith("/changelog")
        ):
            return self.changelog(path.split("/")[5], query)
        version = "3" if cloud else "2"
        if method == "GET" and path.startswith(f"/rest/api/{version}/issue/"):
            return self.epic(path.split("/")[5])
        return 404, {"errorMessages": [f"no {method} {path}"], "errors": {}}, {}

    def _search(
        self, cloud: bool, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            if self.throttle > 0:
                self.throttle -= 1
                return 429, {"errorMessages": ["Rate limit exceeded."]}, {"Retry-After": "1"}
            if self.outage_after is not None and self.searches >= self.outage_after:
                return 500, {"errorMessages": ["Internal server error"]}, {}
            self.searches += 1
        if self.garbage:
            return (
                200,
                "<html><body>Log in to continue</body></html>",
                {"Content-Type": "text/html"},
            )
        if cloud:
            data = json.loads(body)
            self.jql.append(data.get("jql", ""))
            return self.search_cloud(data)
        self.jql.append(query.get("jql", [""])[0])
        return self.search_dc(query)


def _handler(fake: FakeJira) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, data, extra = fake.answer(method, self.path, self.headers, body)
            raw = data.encode() if isinstance(data, str) else json.dumps(data).encode()
            self.send_response(status)
            self.send_header(
                "Content-Type", extra.pop("Content-Type", "application/json;charset=UTF-8")
            )
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def serving(fake: FakeJira) -> Iterator[str]:
    """The fake's base URL while it serves, on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
