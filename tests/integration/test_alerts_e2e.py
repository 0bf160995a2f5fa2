"""A pile-up pages someone, with its explanation, and the page resolves when the pile-up clears.

Everything is real and on loopback: signed generic events through the ingester, the broker, a
worker, Prometheus scraping it every second with the shipped rules (a copy with `for: 1s`), the
shipped Alertmanager config (with quick grouping timers and its webhook and Slack URLs pointed at
a receiver in this test), and the worker's `<prefix>-alerts` topic.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from promkit import Alertmanager, Prometheus
from scenario import post_generic
from stackkit import Broker, Stack, wait_until

from flowgauge.stream import tansu_workarounds

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CONFIG = """\
clock: wall
streams:
  - name: delivery
    commitment: development
    sle: 2d
    stages:
      - {name: backlog,     kind: wait,   states: [Backlog]}
      - {name: development, kind: active, states: [In Progress]}
      - {name: approval,    kind: wait,   states: [Approval], wip_limit: 3}
      - {name: done,        kind: done,   states: [Done]}
"""


class Receiver:
    """Collects the JSON bodies Alertmanager posts, by path (/webhook, /slack)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def alerts(self, status: str) -> list[dict[str, Any]]:
        """Alerts in webhook notifications, with their notification's group labels."""
        return [
            {**alert, "group": body["groupLabels"]}
            for path, body in list(self.posts)
            if path == "/webhook"
            for alert in body["alerts"]
            if alert["status"] == status
        ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def rules_for_test(directory: Path) -> list[Path]:
    """The shipped rule files with every `for:` shortened to 1 s."""
    paths = []
    for source in sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml")):
        data = yaml.safe_load(source.read_text())
        for group in data["groups"]:
            group.pop("interval", None)
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "1s"
        path = directory / source.name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        paths.append(path)
    return paths


def alertmanager_for_test(directory: Path, receiver: Receiver) -> Path:
    """The shipped config, its timers shortened and its URLs pointed at `receiver`."""
    config = yaml.safe_load((REPO / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    slack_url = directory / "slack-url"
    slack_url.write_text(f"{receiver.url}/slack\n")
    for entry in config["receivers"]:
        for hook in entry.get("webhook_configs", []):
            hook["url"] = f"{receiver.url}/webhook"
        for slack in entry.get("slack_configs", []):
            slack["api_url_file"] = str(slack_url)
    path = directory / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def read_alert_events(broker: Broker, topic: str, timeout: float = 3.0) -> list[dict[str, Any]]:
    """Everything on the alerts topic so far (a fresh consumer from the beginning)."""
    from aiokafka import AIOKafkaConsumer

    async def read() -> list[dict[str, Any]]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        found: list[dict[str, Any]] = []
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                found += [json.loads(m.value) for msgs in batches.values() for m in msgs]
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def events(kind: str, state: str, at: datetime) -> list[dict[str, Any]]:
    return [
        {"id": f"{kind}-{i}", "type": kind, "item": f"A-{i}", "at": at.isoformat(), "state": state}
        for i in range(5)
    ]


def test_pile_up_alerts_with_its_numbers_and_resolves(
    stack: Stack, tmp_path: Path, receiver: Receiver
) -> None:
    if stack.broker.embedded:
        tansu_workarounds.apply()
    config = tmp_path / "flow.yaml"
    config.write_text(CONFIG)
    stack.config = config
    stack.start_ingester()
    stack.start_worker()

    alertmanager = Alertmanager(tmp_path, alertmanager_for_test(tmp_path, receiver))
    alertmanager.start()
    prometheus = Prometheus(
        tmp_path,
        targets=[stack.metrics_url()[len("http://") : -len("/metrics")]],
        rule_files=rules_for_test(tmp_path),
        alertmanager=alertmanager.address,
    )
    try:
        prometheus.start()
        # The pile-up: five items waiting in approval (limit 3) for five days (SLE 2 days).
        now = datetime.now(UTC)
        status, body = post_generic(
            stack.ingest_url, stack.secret, events("created", "Approval", now - timedelta(days=5))
        )
        assert status == 202, body

        def firing() -> list[dict[str, Any]]:
            return [
                a
                for a in receiver.alerts("firing")
                if a["labels"]["alertname"] == "FlowgaugeStageOverWipLimit"
            ]

        [alert, *_] = wait_until(firing, 45, interval=0.5, what="the WIP-limit alert")
        assert alert["labels"] | {"stream": "delivery", "stage": "approval"} == alert["labels"]
        assert alert["group"] == {"stream": "delivery"}
        description = alert["annotations"]["description"]
        assert (
            "delivery/approval: 5 items in the stage, WIP limit 3; oldest 5.0 days" in description
        )
        wait_until(
            lambda: any(
                a["labels"]["alertname"] == "FlowgaugeStageAging" for a in receiver.alerts("firing")
            ),
            20,
            what="the aging alert",
        )
        wait_until(
            lambda: any(path == "/slack" for path, _ in receiver.posts), 20, what="slack post"
        )

        # The sentence on the alerts topic, with the same numbers.
        topic = f"{stack.prefix}-alerts"
        sentences = wait_until(
            lambda: [e for e in read_alert_events(stack.broker, topic) if e["state"] == "firing"],
            20,
            what="alert events on the topic",
        )
        by_signal = {e["signal"]: e for e in sentences if e["stage"] == "approval"}
        assert by_signal["wip_limit"]["sentence"].startswith(
            "delivery/approval: 5 items waiting, limit 3; oldest 5 days in the stage."
        )
        assert (
            "5 of 5 items waiting longer than the SLE of 2 days" in by_signal["aging"]["sentence"]
        )

        # The pile-up clears: every item is done. The alerts resolve.
        status, body = post_generic(stack.ingest_url, stack.secret, events("state", "Done", now))
        assert status == 202, body
        wait_until(
            lambda: (
                {"FlowgaugeStageOverWipLimit", "FlowgaugeStageAging"}
                <= {a["labels"]["alertname"] for a in receiver.alerts("resolved")}
            ),
            45,
            interval=0.5,
            what="both alerts resolved",
        )
        resolved = wait_until(
            lambda: [e for e in read_alert_events(stack.broker, topic) if e["state"] == "resolved"],
            20,
            what="resolved events on the topic",
        )
        assert any(
            e["sentence"] == "delivery/approval: back within its WIP limit (0 items waiting, "
            "limit 3)."
            for e in resolved
        )
    finally:
        prometheus.stop()
        alertmanager.stop()
