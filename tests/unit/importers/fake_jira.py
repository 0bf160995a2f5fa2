"""A Jira-like REST server on 127.0.0.1 (real HTTP), answering as Jira Cloud or Data Center do.

Endpoints and shapes from Atlassian's REST API documentation: `GET /rest/api/2/serverInfo`
(`deploymentType`), `GET /rest/api/{2,3}/status`, Cloud's `POST /rest/api/3/search/jql`
(`nextPageToken`, absent on the last page, and `isLast`),
`POST /rest/api/3/search/approximate-count` (`count`) and `GET /rest/api/3/issue/{id}/changelog`
(startAt / maxResults / total / isLast / values), Data Center's `GET /rest/api/2/search` with
`expand=changelog` (startAt / maxResults / total, `changelog.histories`), and
`GET /rest/api/{2,3}/issue/{id}` for the epics (404 for an issue that does not exist). The served
and faulted requests (429, 401, 500, a page that is not Jira's) are local_api.py's; the fault
bodies are Jira's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, ClassVar

from jira_world import CATEGORY, EPICS, Issue, api_histories, api_issue
from local_api import Answer, LocalAPI, Request, login_page, serving

__all__ = ["FakeJira", "serving"]

UNAUTHENTICATED = {
    "errorMessages": [
        "You are not authenticated. Authentication required to perform this operation."
    ],
    "errors": {},
}


@dataclass
class FakeJira(LocalAPI):
    issues: list[Issue]
    edition: str = "Cloud"  # or "DataCenter"
    authorization: str = "Bearer good-token"
    page_size: int = 5  # the server's cap on maxResults, as Jira caps it
    changelog_page: int = 3
    deleted_epics: frozenset[str] = frozenset()  # epic ids answered 404 (deleted since)
    jql: list[str] = field(default_factory=list)

    CONTENT_TYPE: ClassVar[str] = "application/json;charset=UTF-8"
    PUBLIC: ClassVar[frozenset[str]] = frozenset({"/rest/api/2/serverInfo"})
    REFUSED: ClassVar[Any] = UNAUTHENTICATED
    THROTTLED: ClassVar[Any] = {"errorMessages": ["Rate limit exceeded."]}
    OUTAGE: ClassVar[Any] = {"errorMessages": ["Internal server error"]}
    NOT_THE_API: ClassVar[Answer] = login_page("Log in to continue")

    def authorized(self, headers: Message) -> bool:
        return headers.get("Authorization") == self.authorization

    def ordered(self) -> list[Issue]:
        return sorted(self.issues, key=lambda i: (i.created, i.key))

    def search_cloud(self, body: dict[str, Any]) -> Answer:
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

    def search_dc(self, query: dict[str, list[str]]) -> Answer:
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

    def changelog(self, issue_id: str, query: dict[str, list[str]]) -> Answer:
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

    def epic(self, issue_id: str) -> Answer:
        key = EPICS.get(issue_id)
        if key is None or issue_id in self.deleted_epics:
            return (
                404,
                {"errorMessages": ["Issue does not exist or you do not have permission"]},
                {},
            )
        fields = {"summary": f"epic {key}"}
        return 200, {"id": issue_id, "key": key, "self": f"/issue/{issue_id}", "fields": fields}, {}

    def route(self, request: Request) -> Answer:
        method, path, query = request.method, request.path, request.query
        if path == "/rest/api/2/serverInfo":
            kind = {"Cloud": "Cloud", "DataCenter": "DataCenter"}[self.edition]
            return 200, {"baseUrl": "http://jira", "version": "9.12.0", "deploymentType": kind}, {}
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
            return self._search(cloud, query, request.body)
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

    def _search(self, cloud: bool, query: dict[str, list[str]], body: bytes) -> Answer:
        fault = self.listing()
        if fault is not None:
            return fault
        if cloud:
            data = json.loads(body)
            self.jql.append(data.get("jql", ""))
            return self.search_cloud(data)
        self.jql.append(query.get("jql", [""])[0])
        return self.search_dc(query)
