"""The real broker for the integration tier, once per session, and stacks of real processes.

Broker, in order of preference: the one named by FLOWGAUGE_KAFKA; Apache Kafka started by
`scripts/kafka-up` whenever `java` is on PATH (the production broker, KRaft, one node); else the
embedded broker (Tansu). The tests about the embedded broker itself ask for `tansu`, which is
always Tansu. Every broker started here is stopped by PID at the end of the session.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafkakit import KafkaCluster, kafka_version
from stackkit import Broker, Stack, free_port, missing

from flowgauge.stream.embedded_broker import EmbeddedBroker

_USED: list[str] = []  # what the session ran on, for the summary line


def _planned() -> str:
    if os.environ.get("FLOWGAUGE_KAFKA"):
        return f"the broker named by FLOWGAUGE_KAFKA ({os.environ['FLOWGAUGE_KAFKA']})"
    if shutil.which("java"):
        return f"Apache Kafka {kafka_version()} (KRaft, scripts/kafka-up)"
    return "the embedded broker (Tansu): no java on PATH"


def pytest_report_header() -> str:
    return f"integration broker: {_planned()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _USED:
        terminalreporter.write_line(f"integration broker used: {line}")


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The embedded broker of `flowgauge up` (memory only), for the tests about it."""
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    embedded = EmbeddedBroker("127.0.0.1", free_port(), log_path=log)
    embedded.start()
    _USED.append(f"Tansu (embedded) at {embedded.bootstrap}")
    try:
        yield Broker(embedded.bootstrap, embedded=True, kind="tansu")
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def kafka_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """The session's one-node Apache Kafka (skipped where no java runs it)."""
    if shutil.which("java") is None:
        missing("no java on PATH: Apache Kafka cannot run here")
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka"))
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    named = os.environ.get("FLOWGAUGE_KAFKA")
    if named:
        _USED.append(f"FLOWGAUGE_KAFKA={named}")
        yield Broker(named, embedded=False, kind="named")
        return
    if shutil.which("java") is None:
        if os.environ.get(
            "CI"
        ):  # CI installs java: falling back to Tansu would hide a broken set-up
            missing("no java on PATH: the integration tier cannot run on Apache Kafka")
        yield request.getfixturevalue("tansu")
        return
    cluster: KafkaCluster = request.getfixturevalue("kafka_dir")
    bootstrap = cluster.up()
    _USED.append(f"Apache Kafka {kafka_version()} at {bootstrap}")
    yield Broker(bootstrap, embedded=False, kind=f"kafka-{kafka_version()}")


@pytest.fixture
def stack(broker: Broker, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(broker=broker, workdir=tmp_path)
    try:
        yield s
    finally:
        s.stop_all()
