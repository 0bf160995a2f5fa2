"""A real Prometheus (and Alertmanager) for the tests: started on loopback, stopped by PID.

The binaries come from Debian's packages (`scripts/install-tools.sh`, run by `make test`).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from stackkit import free_port, wait_until


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(f"none of {names} is installed: run scripts/install-tools.sh")


def _launch(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _terminate(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM by PID, SIGKILL after 15 s."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass
class Prometheus:
    """One Prometheus scraping `targets` every second, with optional rule files."""

    workdir: Path
    targets: list[str]
    rule_files: Iterable[Path] = ()
    alertmanager: str | None = None
    scrape_interval: str = "1s"
    evaluation_interval: str = "1s"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "scrape_configs": [
                {"job_name": "flowgauge", "static_configs": [{"targets": self.targets}]}
            ],
            "rule_files": [str(p) for p in self.rule_files],
        }
        if self.alertmanager:
            config["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": [self.alertmanager]}]}]
            }
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        data = self.workdir / "prom-data"
        data.mkdir(exist_ok=True)
        self.process = _launch(
            [
                _binary("prometheus"),
                f"--config.file={path}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            self.workdir / "prometheus.log",
        )
        wait_until(lambda: _answers(f"{self.url}/-/ready"), timeout, what="prometheus /-/ready")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; raises on a PromQL error (so a broken panel query fails its test)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def stop(self) -> None:
        _terminate(self.process)
        self.process = None


@dataclass
class Alertmanager:
    """One Alertmanager on loopback with the given config file."""

    workdir: Path
    config: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        data = self.workdir / "am-data"
        data.mkdir(exist_ok=True)
        cluster = free_port()
        self.process = _launch(
            [
                _binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={self.config}",
                f"--storage.path={data}",
                f"--web.listen-address={self.address}",
                f"--cluster.listen-address=127.0.0.1:{cluster}",
            ],
            self.workdir / "alertmanager.log",
        )
        wait_until(
            lambda: _answers(f"http://{self.address}/-/ready"), timeout, what="alertmanager ready"
        )

    def stop(self) -> None:
        _terminate(self.process)
        self.process = None
