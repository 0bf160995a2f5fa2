"""The real broker for the integration tier, once per session, and stacks of real processes.

Broker, in order of preference: the one named by FLOWGAUGE_KAFKA; Apache Kafka through
testcontainers when a Docker engine answers; else the embedded broker (Tansu), started here and
stopped by PID. Workers and ingesters run as real subprocesses speaking real HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from stackkit import Broker, Stack, free_port

from flowgauge.stream.embedded_broker import EmbeddedBroker


def _docker_answers() -> bool:
    """True when a Docker engine answers (then testcontainers runs Apache Kafka)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not Path(host[len("unix://") :]).exists():
        return False
    import docker

    try:
        client = docker.from_env(timeout=2)
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except docker.errors.DockerException:
        return False
    finally:
        client.close()


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


@pytest.fixture
def stack(broker: Broker, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(broker=broker, workdir=tmp_path)
    try:
        yield s
    finally:
        s.stop_all()
