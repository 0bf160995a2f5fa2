"""Apache Kafka for the tests: `scripts/kafka-up` / `kafka-down` around a directory, by PID.

The scripts are the one place that knows how Kafka is fetched, configured and started; this
module only runs them (bounded) and reads the state they leave under the directory, so a test
can kill -9 one node and bring it back on its log.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
UP_TIMEOUT = 900.0  # the first use fetches the jars through Maven


def kafka_version() -> str:
    """The pinned version, read from the script that pins it."""
    match = re.search(r'^KAFKA_VERSION = "([^"]+)"', (SCRIPTS / "kafka-up").read_text(), re.M)
    assert match, "scripts/kafka-up pins KAFKA_VERSION"
    return match.group(1)


@dataclass(frozen=True)
class KafkaCluster:
    """A KRaft cluster whose state lives under `directory` (see scripts/kafka-up)."""

    directory: Path

    def up(self, brokers: int | None = None) -> str:
        """Start the nodes that are not running; returns the bootstrap servers."""
        command = [str(SCRIPTS / "kafka-up"), str(self.directory)]
        if brokers is not None:
            command += ["--brokers", str(brokers)]
        run = subprocess.run(command, capture_output=True, text=True, timeout=UP_TIMEOUT)
        if run.returncode != 0:
            raise RuntimeError(f"kafka-up failed ({run.returncode}):\n{run.stdout}{run.stderr}")
        return run.stdout.strip().splitlines()[-1]

    def down(self) -> None:
        subprocess.run(
            [str(SCRIPTS / "kafka-down"), str(self.directory)],
            capture_output=True,
            timeout=60,
            check=True,
        )

    def node_ids(self) -> list[int]:
        state = json.loads((self.directory / "cluster.json").read_text())
        return [int(node["id"]) for node in state["nodes"]]

    def pid(self, node: int) -> int:
        return int((self.directory / f"node-{node}" / "pid").read_text())

    def kill(self, node: int, sig: int = signal.SIGKILL, timeout: float = 30.0) -> None:
        """Signal one node by PID and wait (bounded) until it is gone."""
        pid = self.pid(node)
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = Path(f"/proc/{pid}/status").read_text(errors="replace")
            except OSError:
                break
            if "State:\tZ" in status:  # gone; its parent has not reaped it yet
                break
            assert time.monotonic() < deadline, f"kafka node {node} still alive after {timeout}s"
            time.sleep(0.1)
