"""Helpers of the integration tier: a broker handle, real subprocess stacks, bounded waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    """A part this test needs is absent (java, Apache Kafka): always a failure, since the
    project's own files install everything the suite needs, so a skip would hide a broken set-up."""
    pytest.fail(f"{reason} (the project's install steps should provide it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Broker:
    """A broker the tests run on: `embedded` turns on the Tansu workarounds in the product;
    `kind` names it in messages (`tansu`, `kafka-<version>`, `named`)."""

    bootstrap: str
    embedded: bool
    kind: str = "named"


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
    for stack in list(_LIVE):
        stack.dump_tasks()  # a stall is only explained by where the workers' tasks wait
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


_LIVE: weakref.WeakSet[Stack] = weakref.WeakSet()  # stacks with processes, for wait_until


@dataclass(eq=False)
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
    store: str = "memory"  # the workers' table store (FLOWGAUGE_STORE)
    settings: dict[str, str] = field(default_factory=dict)  # more FLOWGAUGE_* for every process

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWGAUGE_")}
        env.update(
            {
                "FLOWGAUGE_KAFKA": self.broker.bootstrap,
                "FLOWGAUGE_EMBEDDED_BROKER": "1" if self.broker.embedded else "0",
                "FLOWGAUGE_TOPIC_PREFIX": self.prefix,
                "FLOWGAUGE_INGEST_BIND": f"127.0.0.1:{self.ingest_port}",
                "FLOWGAUGE_DATA_DIR": str(self.workdir),
                "FLOWGAUGE_STORE": self.store,
                "FLOWGAUGE_GENERIC_SECRET": self.secret,
                "PYTHONWARNINGS": "ignore",
            }
        )
        if not self.broker.embedded:
            # Apache Kafka's shortest allowed session (group.min.session.timeout.ms): a killed
            # worker's partitions move after 6 s instead of the production default's 10.
            env.update({"FLOWGAUGE_SESSION_TIMEOUT": "6", "FLOWGAUGE_HEARTBEAT_INTERVAL": "1"})
        if self.config is not None:
            env["FLOWGAUGE_CONFIG"] = str(self.config)
        env.update(self.settings)
        env.update(extra)
        return env

    def _spawn(self, name: str, command: str, **extra: str) -> None:
        _LIVE.add(self)
        with open(self.workdir / f"{name}.log", "ab") as log:  # the child keeps its own fd
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "flowgauge", command],
                env=self.env(**extra),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start_ingester(self) -> None:
        self._spawn("ingest", "ingest")
        wait_until(
            lambda: self.ready(f"http://127.0.0.1:{self.ingest_port}/readyz"),
            60,
            what="ingester /readyz",
        )

    def start_worker(self, name: str = "worker", wait: bool = True) -> None:
        port = self.metrics_ports.setdefault(name, free_port())
        self._spawn(
            name, "worker", FLOWGAUGE_METRICS_BIND=f"127.0.0.1:{port}", FLOWGAUGE_WORKER_ID=name
        )
        if wait:
            wait_until(
                lambda: self.ready(f"{self.metrics_url(name)[:-8]}/readyz"),
                90,
                what=f"{name} /readyz",
            )

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

    def dump_tasks(self, timeout: float = 30.0) -> None:
        """Every live worker writes its dump to its log (SIGUSR1: threads, tasks, generators,
        consumer state, docs/operations.md); waits for each one's `END OF DUMP`, bounded."""
        live = [n for n, p in self.processes.items() if n != "ingest" and p.poll() is None]
        before = {name: self.log(name).count("END OF DUMP") for name in live}
        for name in live:
            self.processes[name].send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while live and time.monotonic() < deadline:
            live = [n for n in live if self.log(n).count("END OF DUMP") == before[n]]
            time.sleep(0.2)
        print(f"worker logs with their dumps: {self.workdir} (not finished: {live})")

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
