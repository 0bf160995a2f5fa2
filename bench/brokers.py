"""The brokers a benchmark runs on: Apache Kafka (scripts/kafka-up, the production broker) first,
the embedded Tansu of `flowgauge up` second. Each is fresh per section and stopped by PID."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from bench.common import EMBEDDED, ROOT, cpu_seconds, free_port
from flowgauge.stream.embedded_broker import EmbeddedBroker

KINDS = ("kafka", "tansu")
SCRIPTS = ROOT / "scripts"


def kafka_version() -> str:
    match = re.search(r'^KAFKA_VERSION = "([^"]+)"', (SCRIPTS / "kafka-up").read_text(), re.M)
    return match.group(1) if match else "?"


def label(kind: str) -> str:
    return f"Apache Kafka {kafka_version()}" if kind == "kafka" else "Tansu (embedded)"


class Broker:
    """`with Broker(workdir, kind) as bootstrap:` one fresh broker of that kind."""

    def __init__(self, workdir: Path, kind: str = "kafka") -> None:
        if kind not in KINDS:
            raise ValueError(f"broker kind {kind!r} not in {KINDS}")
        self.kind, self.workdir = kind, workdir
        self.embedded: EmbeddedBroker | None = None
        self.kafka_dir = workdir / f"kafka-{free_port()}"
        self.bootstrap = ""

    def __enter__(self) -> str:
        if self.kind == "tansu":
            self.embedded = EmbeddedBroker("127.0.0.1", free_port(), self.workdir / "tansu.log")
            self.embedded.start()
            self.bootstrap = self.embedded.bootstrap
            EMBEDDED.add(self.bootstrap)
        else:
            up = subprocess.run(
                [str(SCRIPTS / "kafka-up"), str(self.kafka_dir)],
                capture_output=True,
                text=True,
                timeout=900,
            )
            if up.returncode != 0:
                raise RuntimeError(f"kafka-up failed:\n{up.stdout}{up.stderr}")
            self.bootstrap = up.stdout.strip().splitlines()[-1]
        return self.bootstrap

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.embedded is not None:
            EMBEDDED.discard(self.bootstrap)
            self.embedded.stop()
        else:
            subprocess.run([str(SCRIPTS / "kafka-down"), str(self.kafka_dir)], timeout=60)
            shutil.rmtree(self.kafka_dir, ignore_errors=True)

    @property
    def pid(self) -> int:
        if self.embedded is not None:
            assert self.embedded.process is not None
            return self.embedded.process.pid
        return int((self.kafka_dir / "node-1" / "pid").read_text())


class BrokerCpu:
    """The broker's share of one core over a section (CPU seconds / wall seconds)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.share = float("nan")

    def __enter__(self) -> BrokerCpu:
        self.pid = self.broker.pid
        self.cpu0, self.t0 = cpu_seconds(self.pid), time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.share = (cpu_seconds(self.pid) - self.cpu0) / (time.perf_counter() - self.t0)
