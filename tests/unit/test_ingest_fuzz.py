"""Issue 7, "Hostile input": whatever arrives, the ingester answers a documented status with a
JSON body, refuses big bodies without reading them, compares signatures in constant time, and
never shows a secret.

The ingester runs in-process on real loopback HTTP (aiohttp's TestServer, its loop in a thread
so raw sockets can talk to it too) with an unreachable broker: every accepted delivery goes to
its spool, which is the path a hostile request reaches during an outage as well.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaConnectionError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from flowgauge.exposition import WEBHOOK_OUTCOMES
from flowgauge.ingest.app import SERVER_OPTIONS, Ingester
from flowgauge.ingest.forwarder import Producer
from flowgauge.settings import Settings
from flowgauge.signing import hmac_hex
from flowgauge.sources import REGISTRY

T = TypeVar("T")
SOURCES = tuple(REGISTRY)
SECRETS = {name: f"s3cret-{name}-7f1c9a" for name in SOURCES}
LIMIT = 64 * 1024
SIGNATURE = {  # header, prefix of the hex HMAC-SHA256 of the body (gitlab: the token itself)
    "generic": ("x-flowgauge-signature", "sha256="),
    "github": ("x-hub-signature-256", "sha256="),
    "jira": ("x-hub-signature", "sha256="),
    "plane": ("x-plane-signature", ""),
    "linear": ("linear-signature", ""),
}
DOCUMENTED = {202, 400, 401, 404, 405, 413, 503}


async def unreachable() -> Producer:
    raise KafkaConnectionError("no broker in the unit tier")


async def no_topics() -> None:
    raise KafkaConnectionError("no broker in the unit tier")


@dataclass
class Served:
    loop: asyncio.AbstractEventLoop
    client: TestClient[Any, Any]
    ingester: Ingester

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def port(self) -> int:
        port = self.client.server.port
        assert port is not None
        return port

    def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        async def go() -> tuple[int, str, bytes]:
            async with self.client.request(method, path, data=body, headers=headers) as r:
                return r.status, r.headers.get("Content-Type", ""), await r.read()

        return self.run(go())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    secrets: dict[str, Any] = {f"{name}_secret": secret for name, secret in SECRETS.items()}
    config = Settings(
        data_dir=tmp_path,
        max_body_bytes=LIMIT,
        allow_unsigned=False,
        kafka="127.0.0.1:9",
        **secrets,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    ingester = Ingester(config, CollectorRegistry(), start_producer=unreachable, ensure=no_topics)

    async def start() -> TestClient[Any, Any]:
        server = TestServer(ingester.app())
        await server.start_server(**SERVER_OPTIONS)  # TestServer() ignores runner options
        client: TestClient[Any, Any] = TestClient(server)
        await client.start_server()
        return client

    s = Served(loop, asyncio.run_coroutine_threadsafe(start(), loop).result(30), ingester)
    try:
        yield s
    finally:
        s.run(s.client.close())
        s.run(loop.shutdown_default_executor())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def signed(source: str, body: bytes) -> dict[str, str]:
    secret = SECRETS[source].encode()
    if source == "gitlab":
        return {"X-Gitlab-Token": SECRETS[source]}
    header, prefix = SIGNATURE[source]
    return {header: prefix + hmac_hex(secret, body)}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=15,
)
GENERIC_EVENT = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=10),
        "type": st.sampled_from(["created", "state", "moved", ""]),
        "item": st.text(max_size=10),
        "at": st.sampled_from(["2026-11-01T10:00:00Z", "2026-11-01T10:00:00", "yesterday"]),
    }
)
VALID_GENERIC = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.text("abcdef0123456789", min_size=1, max_size=8),
            "type": st.just("created"),
            "item": st.text("ABCXYZ-123", min_size=1, max_size=8),
            "at": st.just("2026-11-01T10:00:00+02:00"),
        }
    ),
    min_size=1,
    max_size=3,
).map(lambda v: json.dumps(v).encode())
BODY = st.one_of(
    VALID_GENERIC,
    st.binary(max_size=600),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.lists(GENERIC_EVENT, max_size=3).map(lambda v: json.dumps(v).encode()),
)
HEADER_VALUE = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("éü€ "), max_size=60
)
HEADER_NAME = st.sampled_from(
    [
        "X-GitHub-Event",
        "X-GitHub-Delivery",
        "X-Gitlab-Event",
        "X-Gitlab-Token",
        "webhook-signature",
        "webhook-timestamp",
        "webhook-id",
        "X-Atlassian-Webhook-Identifier",
        "X-Plane-Event",
        "Linear-Delivery",
        "Linear-Timestamp",
        "X-Flowgauge-Delivery",
        "X-Hub-Signature",
        "X-Hub-Signature-256",
        "X-Flowgauge-Signature",
        "X-Plane-Signature",
        "Linear-Signature",
        "X-Whatever",
    ]
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def assert_documented(status: int, content_type: str, body: bytes) -> dict[str, Any]:
    assert status in DOCUMENTED, (status, body)
    assert content_type.startswith("application/json"), (status, content_type, body)
    parsed = json.loads(body)
    if status >= 400:
        assert isinstance(parsed["error"], str) and isinstance(parsed["message"], str)
    for secret in SECRETS.values():
        assert secret.encode() not in body
    return dict(parsed)


@FUZZ
@given(
    source=st.just("generic") | st.sampled_from([*SOURCES, "nosuch", "GitHub"]),
    method=st.sampled_from(["POST", "POST", "POST", "POST", "GET", "PUT"]),
    body=BODY,
    headers=st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=6),
    sign=st.sampled_from([True, True, True, False]),
)
def test_any_request_gets_a_documented_status_and_a_json_body(
    served: Served,
    source: str,
    method: str,
    body: bytes,
    headers: dict[str, str],
    sign: bool,
) -> None:
    if sign and source in SECRETS:
        headers = {**headers, **signed(source, body)}
    status, content_type, raw = served.request(method, f"/webhooks/{source}", body, headers)
    event(f"status {status}")
    assert_documented(status, content_type, raw)
    if status == 202:
        assert sign and source in SECRETS


@pytest.mark.parametrize("source", SOURCES)
def test_undecodable_signature_bytes_are_a_401_not_a_crash(served: Served, source: str) -> None:
    header = {"gitlab": "X-Gitlab-Token"}.get(source, SIGNATURE.get(source, ("", ""))[0])
    raw = raw_exchange(
        served.port,
        f"POST /webhooks/{source} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n".encode()
        + header.encode()
        + b": sha256=\xff\xfe\xe9\r\nConnection: close\r\n\r\n{}",
    )
    assert raw.startswith(b"HTTP/1.1 401"), raw[:200]
    assert b'"unauthorized"' in raw


def test_every_source_compares_signatures_in_constant_time(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        calls.append(1)
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    now_ms = int(time.time() * 1000)
    for source in SOURCES:
        body = json.dumps({"webhookTimestamp": now_ms, "action": "x"}).encode()
        wrong = {k: v[:-4] + "0000" for k, v in signed(source, body).items()}
        before = len(calls)
        status, content_type, raw = served.request("POST", f"/webhooks/{source}", body, wrong)
        assert status == 401, (source, raw)
        assert len(calls) > before, f"{source}: signature not compared with hmac.compare_digest"
        assert_documented(status, content_type, raw)
        # The expected signature is never echoed: it would sign the attacker's body for them.
        assert signed(source, body).popitem()[1].encode() not in raw


def raw_exchange(port: int, request: bytes, body: Iterable[bytes] = ()) -> bytes:
    """Send a request (and then `body` chunks while the server lets us); return what it said."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        try:
            for chunk in body:
                sock.sendall(chunk)
        except OSError:  # reset / broken pipe: the server closed, as it should
            pass
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except OSError:
            pass
        return received


class Counted:
    """Body chunks of 64 KiB up to `total` bytes, counting what the socket took."""

    def __init__(self, total: int, chunked: bool = False) -> None:
        self.total, self.chunked, self.sent = total, chunked, 0

    def __iter__(self) -> Iterator[bytes]:
        block = b"x" * 65536
        while self.sent < self.total:
            self.sent += len(block)
            yield (b"10000\r\n" + block + b"\r\n") if self.chunked else block


HUGE = 256 * 1024 * 1024


@pytest.mark.parametrize("framing", ["content-length", "chunked", "understated content-length"])
def test_a_huge_body_is_refused_without_being_read(served: Served, framing: str) -> None:
    headers = {
        "content-length": f"Content-Length: {HUGE}\r\n",
        "chunked": "Transfer-Encoding: chunked\r\n",
        "understated content-length": "Content-Length: 10\r\n",
    }[framing]
    body = Counted(HUGE, chunked=framing == "chunked")
    sig = "X-Flowgauge-Signature: sha256=00\r\n"
    start = f"POST /webhooks/generic HTTP/1.1\r\nHost: x\r\n{sig}{headers}\r\n".encode()
    answer = raw_exchange(served.port, start, body)
    assert body.sent < HUGE // 4, f"the server read {body.sent} bytes of a refused body"
    if framing == "understated content-length":
        # The surplus is parsed as a next request: aiohttp's parser refuses it (400, its own
        # text body: no handler runs) or our 401 comes first. Either way the reading stops.
        assert answer[9:12] in (b"400", b"401"), answer[:300]
        return
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert b"application/json" in head and b"Connection: close" in head
    assert json.loads(rest)["error"] == "too_large"


def test_no_secret_in_logs_metrics_or_errors(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for source in SOURCES:
        body = json.dumps([{"id": "e", "type": "created", "item": "i", "at": "now"}]).encode()
        for headers in ({}, signed(source, body), {"X-Gitlab-Token": "nope"}):
            status, content_type, raw = served.request("POST", f"/webhooks/{source}", body, headers)
            assert_documented(status, content_type, raw)
    status, _, metrics = served.request("GET", "/metrics", b"", {})
    assert status == 200 and b"flowgauge_spool_depth_records" in metrics
    assert b"flowgauge_spool_oldest_age_seconds" in metrics
    for secret in SECRETS.values():
        assert secret not in caplog.text
        assert secret.encode() not in metrics
        assert secret not in repr(served.ingester.settings)


def test_every_outcome_counts_in_a_declared_series(served: Served) -> None:
    """What the ingester answers lands in the series it exposed at 0 from the start: no outcome
    appears that was not declared (`WEBHOOK_OUTCOMES`), and each counts its requests."""
    good = json.dumps({"id": "e1", "type": "created", "item": "i", "at": "2026-11-01T10:00:00Z"})
    requests = [
        ("generic", good.encode(), True, "accepted"),
        ("github", b'{"zen": "Keep it simple.", "hook_id": 1}', True, "ignored"),
        ("jira", b"{}", False, "unauthorized"),
        ("plane", b"not json", True, "invalid"),
        ("linear", b"x" * (LIMIT + 1), True, "too_large"),
    ]
    for source, body, sign, _ in requests:
        headers = {**signed(source, body), "X-GitHub-Event": "ping"} if sign else {}
        served.request("POST", f"/webhooks/{source}", body, headers)
    _, _, text = served.request("GET", "/metrics", b"", {})
    counted = {
        (sample.labels["source"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
        if sample.name == "flowgauge_webhooks_total"
    }
    assert set(counted) == set(itertools.product(SOURCES, WEBHOOK_OUTCOMES))
    assert {key for key, value in counted.items() if value} == {
        (source, outcome) for source, _, _, outcome in requests
    }
    assert sum(counted.values()) == len(requests)


def test_ready_on_the_spool_alone(served: Served) -> None:
    status, _, body = served.request("GET", "/readyz", b"", {})
    assert status == 200, body
    assert json.loads(body)["broker"] == "away"


def test_everything_binds_to_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INGEST_BIND", "METRICS_BIND", "BROKER_BIND"):
        monkeypatch.delenv(f"FLOWGAUGE_{name}", raising=False)
    defaults = Settings()
    for bind in (defaults.ingest_bind, defaults.metrics_bind, defaults.broker_bind):
        assert bind.startswith("127.0.0.1:"), bind


ATHERIS_HARNESS = """
import sys, tempfile, zlib
from pathlib import Path
import atheris

with atheris.instrument_imports():
    from flowgauge.ingest.segment import MAGIC, read_record
    from flowgauge.ingest.spool import Spool, SpoolError

def one(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / f"seg-{0:020d}.log").write_bytes(MAGIC + data)
        try:
            spool = Spool(Path(d), max_bytes=1 << 20)
        except SpoolError:
            return
        try:
            for record in spool.peek(10_000):
                assert record.seq < spool.next_seq
            spool.append(b"after")
            assert spool.peek(10_000)[-1].payload == b"after"
        finally:
            spool.close()

atheris.Setup(sys.argv, one)
atheris.Fuzz()
"""


def test_atheris_on_spool_recovery(tmp_path: Path) -> None:
    """Coverage-guided fuzzing (atheris, a dev dependency) of the bytes a crash can leave in a
    segment: any content opens as a valid prefix of records or is refused with SpoolError, and
    the spool stays writable."""
    harness = tmp_path / "harness.py"
    harness.write_text(ATHERIS_HARNESS)
    result = subprocess.run(
        [sys.executable, str(harness), "-runs=3000", "-max_total_time=60"],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
