"""The shared client: what the server asks us to wait, and retries over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import pytest
from local_api import Answer, LocalAPI, Request, serving

from flowgauge.importers.http import Client, ImportFailed, Policy, server_wait

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": " 0 "}, 0.0),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"}, 20.0),  # an HTTP date, 20 s after NOW
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}, 30.0),
        ({"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(int(NOW) + 30)}, None),
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_server_wait(headers: dict[str, str], wait: float | None) -> None:
    assert server_wait(headers, now=NOW) == wait


@dataclass
class Script(LocalAPI):
    """Answers in order: (status, body, headers); the last one repeats."""

    answers: list[Answer] = field(default_factory=lambda: [(200, {}, {})])
    calls: int = 0

    def authorized(self, headers: Message) -> bool:
        return True

    def route(self, request: Request) -> Answer:
        self.calls += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def scripted() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serving(script) as url:
        yield script, url


def fetch(url: str, attempts: int = 4) -> Any:
    async def go() -> Any:
        client = Client(
            "tool",
            url,
            headers={},
            auth=None,
            credentials_hint="set FLOWGAUGE_TOOL_TOKEN",
            policy=Policy(attempts=attempts, initial=0.01, maximum=0.02, longest_wait=5),
        )
        try:
            return (await client.json("GET", "/x"))[0]
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_transient_failures_are_retried(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.answers = [(503, {}, {}), (502, {}, {}), (200, {"ok": 1}, {})]
    assert fetch(url) == {"ok": 1} and script.calls == 3


def test_too_many_failures_give_up_naming_the_source(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.answers = [(500, {}, {})]
    with pytest.raises(
        ImportFailed, match=r"^tool: GET .*/x answered 500 \(gave up after 2 tries\)"
    ):
        fetch(url, attempts=2)
    assert script.calls == 2


def test_a_403_with_an_exhausted_budget_is_a_rate_limit_not_bad_credentials(
    scripted: tuple[Script, str],
) -> None:
    script, url = scripted
    script.answers = [
        (403, {}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}),
        (200, {"ok": 2}, {}),
    ]
    assert fetch(url) == {"ok": 2}
    script.answers = [(403, {"message": "Bad credentials"}, {})]
    with pytest.raises(ImportFailed, match=r"refused the credentials .*FLOWGAUGE_TOOL_TOKEN"):
        fetch(url)


def test_a_wait_longer_than_the_policy_allows_is_an_error_not_a_hang(
    scripted: tuple[Script, str],
) -> None:
    script, url = scripted
    script.answers = [(429, {}, {"retry-after": "3600"})]
    with pytest.raises(ImportFailed, match="asked to wait 3600s"):
        fetch(url)
    assert script.calls == 1


def test_other_client_errors_are_not_retried(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.answers = [(400, {"errorMessages": ["The value 'X' does not exist"]}, {})]
    with pytest.raises(ImportFailed, match=r"answered 400: .*does not exist"):
        fetch(url)
    assert script.calls == 1
