"""What every tool's local API server shares: threaded HTTP on a free loopback port, the request
log, the count of listing pages served, and the faults each tool's API shows on demand.

A tool's fake (fake_<tool>.py) subclasses `LocalAPI` and keeps only what is that tool's: its
routes and JSON shapes, its paging, how it reads credentials and the words of its errors. The
shared faults are those the import contract tests for every tool (test_import_contract.py): a
429 with `Retry-After: 1`, a refusal of wrong credentials, a 500 outage after some pages, and a
page that is not what the API returns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body (a str is sent as it is), headers


def login_page(text: str) -> Answer:
    """A page that is not the API's: the login page a proxy or a wrong `--url` answers."""
    return 200, f"<html><body>{text}</body></html>", {"Content-Type": "text/html"}


@dataclass(frozen=True)
class Request:
    """One request as a fake reads it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def arg(self, name: str, default: str) -> str:
        """The first value of a query parameter."""
        return self.query.get(name, [default])[0]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(kw_only=True)
class LocalAPI:
    """A tool's API server: subclasses say who is let in (`authorized`) and what each path
    answers (`route`), and call `listing()` before serving a page of their main list."""

    throttle: int = 0  # answer this many next listing requests with 429 Retry-After: 1
    outage_after: int | None = None  # listing pages served before answering 500s
    garbage: bool = False  # the listing answers NOT_THE_API
    pages: int = 0  # listing pages served
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path), in order
    base: str = ""  # the base URL while serving
    lock: threading.Lock = field(default_factory=threading.Lock)

    CONTENT_TYPE: ClassVar[str] = "application/json"
    PUBLIC: ClassVar[frozenset[str]] = frozenset()  # paths answered without credentials
    REFUSED: ClassVar[Any] = {"message": "401 Unauthorized"}
    THROTTLED: ClassVar[Any] = {"message": "Rate limit exceeded"}
    OUTAGE: ClassVar[Any] = {"message": "Internal server error"}
    NOT_THE_API: ClassVar[Answer] = (200, {"message": "not a list"}, {})

    def authorized(self, headers: Message) -> bool:
        raise NotImplementedError

    def route(self, request: Request) -> Answer:
        raise NotImplementedError

    def refused(self) -> Answer:
        return 401, self.REFUSED, {}

    def answer(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append((request.method, request.path))
        if request.path not in self.PUBLIC and not self.authorized(request.headers):
            return self.refused()
        return self.route(request)

    def listing(self) -> Answer | None:
        """Count one page of the main list, or the fault due instead: the 429s asked for, the
        outage once `outage_after` pages are served, the page that is not the API's."""
        with self.lock:
            if self.throttle > 0:
                self.throttle -= 1
                return 429, self.THROTTLED, {"Retry-After": "1"}
            if self.outage_after is not None and self.pages >= self.outage_after:
                return 500, self.OUTAGE, {}
            self.pages += 1
        return self.NOT_THE_API if self.garbage else None


def _handler(fake: LocalAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stall

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parsed = urlparse(self.path)
            request = Request(method, parsed.path, parse_qs(parsed.query), self.headers, body)
            status, data, extra = fake.answer(request)
            raw = data.encode() if isinstance(data, str) else json.dumps(data).encode()
            extra = dict(extra)
            self.send_response(status)
            self.send_header("Content-Type", extra.pop("Content-Type", fake.CONTENT_TYPE))
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
def serving(fake: LocalAPI) -> Iterator[str]:
    """The fake's base URL while it serves, on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake.base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
