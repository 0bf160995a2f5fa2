"""The real broker for the integration tier, once per session, and stacks of real processes.

Broker, in order of preference: the one named by FLOWGAUGE_KAFKA; Apache Kafka through
testcontainers when a Docker engine answers; else the embedded broker (Tansu), started here and
stopped by PID. Workers and ingesters run as real subprocesses speaking real HTTP.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flowgauge.stream.embedded_broker import EmbeddedBroker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    embedded: bool


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    named = os.environ.get("FLOWGAUGE_KAFKA")
    if named:
        yield Broker(named, embedded=False)
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer  # pragma: no cover - needs Docker

        with KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka:
            yield Broker(kafka.get_bootstrap_server(), embedded=False)
        return
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    embedded = EmbeddedBroker("127.0.0.1", free_port(), log_path=log)
    embedded.start()
    try:
        yield Broker(embedded.bootstrap, embedded=True)
    finally:
        embedded.stop()


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll `predicate` until truthy; fail the test (never hang) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Stack:
    """One isolated flowgauge deployment (own topics, group, ports) on the shared broker."""

    broker: Broker
    workdir: Path
    config: Path | None = None
    secret: str = "test-secret"
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    ingest_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWGAUGE_")}
        env.update({
            "FLOWGAUGE_KAFKA": self.broker.bootstrap,
            "FLOWGAUGE_EMBEDDED_BROKER": "1" if self.broker.embedded else "0",
            "FLOWGAUGE_TOPIC_PREFIX": self.prefix,
            "FLOWGAUGE_INGEST_BIND": f"127.0.0.1:{self.ingest_port}",
            "FLOWGAUGE_DATA_DIR": str(self.workdir),
            "FLOWGAUGE_GENERIC_SECRET": self.secret,
            "PYTHONWARNINGS": "ignore",
        })
        if self.config is not None:
            env["FLOWGAUGE_CONFIG"] = str(self.config)
        env.update(extra)
        return env

    def _spawn(self, name: str, command: str, **extra: str) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "flowgauge", command], env=self.env(**extra),
            stdout=log, stderr=subprocess.STDOUT)

    def start_ingester(self) -> None:
        self._spawn("ingest", "ingest")
        wait_until(lambda: self.ready(f"http://127.0.0.1:{self.ingest_port}/readyz"), 60,
                   what="ingester /readyz")

    def start_worker(self, name: str = "worker", wait: bool = True) -> None:
        port = self.metrics_ports.setdefault(name, free_port())
        self._spawn(name, "worker", FLOWGAUGE_METRICS_BIND=f"127.0.0.1:{port}",
                    FLOWGAUGE_WORKER_ID=name)
        if wait:
            wait_until(lambda: self.ready(f"{self.metrics_url(name)[:-8]}/readyz"), 90,
                       what=f"{name} /readyz")

    def ready(self, url: str) -> bool:
        try:
            return http_get(url)[0] == 200
        except OSError:
            return False

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    def metrics_url(self, name: str = "worker") -> str:
        return f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"

    def metrics(self, name: str = "worker") -> str:
        return http_get(self.metrics_url(name))[1].decode()

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def stack(broker: Broker, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(broker=broker, workdir=tmp_path)
    try:
        yield s
    finally:
        s.stop_all()
