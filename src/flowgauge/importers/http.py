"""The HTTP side of every importer: one client with auth, rate limits, retries and clear errors.

Providers differ in how they page and authenticate, not in how a polite client behaves: wait what
the server says (`Retry-After`, or `X-RateLimit-Reset` once `X-RateLimit-Remaining` is 0, which
is how GitHub and GitLab signal their limits), back off exponentially on transient failures
(connection errors, 429, 5xx), and turn everything else into an `ImportFailed` that names the
source, the URL and what to do. Retries are tenacity's; HTTP is httpx's.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

#: Statuses worth another try: rate limited, or the server (or a proxy) failing for now.
TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})


class ImportFailed(Exception):
    """The import cannot go on: the message names the source and what to do."""


class Transient(Exception):
    """A failure that another try may cure; `wait` is what the server asked for, if it did."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class Policy:
    """How patient to be: attempts per request, the backoff's bounds, the longest wait obeyed."""

    attempts: int = 8
    initial: float = 1.0
    maximum: float = 60.0
    longest_wait: float = 900.0


def server_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: `Retry-After` (seconds or an HTTP date), else the
    reset time of an exhausted `X-RateLimit-*` budget (epoch seconds); None if it says nothing."""
    now = time.time() if now is None else now
    after = headers.get("retry-after")
    if after:
        if after.strip().isdigit():
            return float(after.strip())
        try:
            return max(0.0, email.utils.parsedate_to_datetime(after).timestamp() - now)
        except (TypeError, ValueError):
            pass
    # GitHub's names, then GitLab's (`RateLimit-Remaining` / `RateLimit-Reset`)
    remaining = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")
    reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
    if remaining is not None and remaining.strip() == "0" and reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


class Client:
    """An httpx client for one source: its base URL, its credentials, its retry policy."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        headers: Mapping[str, str],
        auth: httpx.Auth | None,
        credentials_hint: str,
        policy: Policy | None = None,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.credentials_hint = credentials_hint
        self.policy = policy or Policy()
        self._backoff = wait_exponential_jitter(
            multiplier=self.policy.initial, max=self.policy.maximum, jitter=self.policy.initial
        )
        self.requests = 0
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Accept": "application/json", "User-Agent": "flowgauge-import", **headers},
            auth=auth,
            timeout=httpx.Timeout(60.0, connect=10.0),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        body: Any = None,
        missing: str | None = None,
    ) -> tuple[Any, httpx.Headers]:
        """The decoded JSON answer and its headers, after the retries the policy allows;
        `missing`: what a 404 means here (else a 404 is reported as any other status)."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Transient),
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(method, path, params, body, missing)
        except Transient as exc:
            tries = self.policy.attempts
            raise ImportFailed(f"{self.source}: {exc} (gave up after {tries} tries)") from None
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, Transient) and exc.wait is not None:
            if exc.wait > self.policy.longest_wait:
                raise ImportFailed(f"{self.source}: {exc}: asked to wait {exc.wait:.0f}s")
            return exc.wait
        return float(self._backoff(state))

    def judge(self, response: httpx.Response) -> Transient | ImportFailed | None:
        """The tool's own word on an answer, before HTTP's: a `Transient` to retry (a rate limit
        in a GraphQL error), an `ImportFailed` to stop, None to read the status as HTTP says.
        A tool's client overrides it; statuses and `Retry-After` are read for every tool."""
        return None

    async def _once(
        self, method: str, path: str, params: Any, body: Any, missing: str | None = None
    ) -> tuple[Any, httpx.Headers]:
        url = f"{self.base_url}{path}"
        self.requests += 1
        try:
            response = await self._http.request(method, path, params=params, json=body)
        except httpx.TransportError as exc:
            raise Transient(f"cannot reach {url}: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        verdict = self.judge(response)
        if verdict is not None:
            raise verdict
        wait = server_wait(response.headers)
        if status in TRANSIENT or (status == 403 and wait is not None):
            raise Transient(f"{method} {url} answered {status}", wait)
        if status in (401, 403):
            raise ImportFailed(
                f"{self.source}: {url} refused the credentials (HTTP {status}): "
                f"{self.credentials_hint}"
            )
        if status == 404 and missing is not None:
            raise ImportFailed(f"{self.source}: {missing} ({method} {url} answered 404)")
        if status >= 400:
            raise ImportFailed(
                f"{self.source}: {method} {url} answered {status}: {_brief(response)}"
            )
        try:
            return response.json(), response.headers
        except ValueError:
            raise ImportFailed(
                f"{self.source}: {url} did not answer JSON ({_brief(response)}): "
                "is --url the tool's base URL?"
            ) from None


def _brief(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200] or "(empty body)"
