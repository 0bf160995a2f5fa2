"""`scripts/kafka-up` and `kafka-down` themselves: restarts keep the log, bad set-ups fail fast.

Each bad set-up must end in a bounded time with an exit code and a message that says what to fix,
never a hang: no java, Maven unreachable, a port taken, a node that exits or never gets ready.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from kafkakit import SCRIPTS, KafkaCluster

pytestmark = [pytest.mark.integration]
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="no java on PATH")


def kafka_up(directory: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "kafka-up"), str(directory), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


async def _write(bootstrap: str, topic: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(n):
            await producer.send_and_wait(topic, f"v{i}".encode(), partition=0)
    finally:
        await producer.stop()


async def _count(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


@needs_java
def test_a_second_kafka_up_restarts_the_node_on_its_log(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "k")
    try:
        first = cluster.up()
        asyncio.run(_write(first, "kept", 25))
        cluster.down()
        pid_files = list((tmp_path / "k").glob("node-*/pid"))
        assert not pid_files, "kafka-down removes the PID files of what it stopped"
        assert cluster.up() == first, "same ports"
        assert asyncio.run(_count(first, "kept")) == 25
    finally:
        cluster.down()


def test_no_java_says_so(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    run = kafka_up(tmp_path / "k", env={**os.environ, "PATH": str(bin_dir)}, timeout=30)
    assert run.returncode == 2, run
    assert "java is not on PATH" in run.stderr


@needs_java
def test_maven_unreachable_says_so(tmp_path: Path) -> None:
    """An empty jar cache and a Maven whose only repository refuses connections."""
    home = tmp_path / "home"
    (home / ".m2").mkdir(parents=True)
    (home / ".m2" / "settings.xml").write_text(
        "<settings><localRepository>" + str(tmp_path / "repo") + "</localRepository>"
        "<mirrors><mirror><id>dead</id><mirrorOf>*</mirrorOf>"
        "<url>http://127.0.0.1:9/maven2</url></mirror></mirrors></settings>"
    )
    env = {
        **os.environ,
        "FLOWGAUGE_KAFKA_CACHE": str(tmp_path / "cache"),
        "MAVEN_OPTS": f"-Duser.home={home}",
    }
    run = kafka_up(tmp_path / "k", env=env, timeout=300)
    assert run.returncode == 2, run
    assert "Maven could not fetch org.apache.kafka:kafka_2.13" in run.stderr
    assert not (tmp_path / "k").exists(), "nothing half-made"


@needs_java
def test_a_taken_port_says_which(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "k")
    bootstrap = cluster.up()
    cluster.down()
    port = int(bootstrap.rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        run = kafka_up(tmp_path / "k")
    assert run.returncode == 2, run
    assert f"port 127.0.0.1:{port} of node 1 is taken" in run.stderr


@needs_java
def test_a_node_that_exits_prints_its_log_tail(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "k")
    cluster.up()
    cluster.down()
    properties = tmp_path / "k" / "node-1" / "server.properties"
    properties.write_text(
        properties.read_text().replace("process.roles=", "process.roles=nonsense,")
    )
    run = kafka_up(tmp_path / "k")
    assert run.returncode == 1, run
    assert "node 1 exited" in run.stderr
    assert "stdout.log (last 30 lines)" in run.stderr


@needs_java
def test_a_node_never_ready_is_a_bounded_wait_with_its_log(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "k")
    cluster.up()
    cluster.down()
    run = kafka_up(tmp_path / "k", "--timeout", "0.3")
    assert run.returncode == 1, run
    assert "did not list all 1 brokers within 0.3s" in run.stderr
    assert "server.log (last 30 lines)" in run.stderr
    assert not list((tmp_path / "k").glob("node-*/pid")), "the node it started is stopped again"
