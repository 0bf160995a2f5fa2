"""`flowgauge up`: broker, worker and ingester on one machine, stopped in order on a signal."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from flowgauge import demo
from flowgauge.settings import Settings, split_hostport
from flowgauge.stream.embedded_broker import EmbeddedBroker


def wait_http(url: str, timeout: float) -> bool:
    """True once `url` answers 200, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _child(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "flowgauge", command], env=env)


def _stop(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def page_line(settings: Settings) -> str:
    """The first line `flowgauge up` prints: where to look (issue 18)."""
    return (
        f"value stream map: http://{settings.metrics_bind}/  "
        "(live once the worker is ready; the same numbers as /metrics)"
    )


def broker_line(bootstrap: str) -> str:
    return f"embedded broker (Tansu, memory only) on {bootstrap}"


def endpoint_lines(settings: Settings) -> list[str]:
    """What `flowgauge up` prints once the worker and the ingester are ready."""
    ingest_url, metrics_url = f"http://{settings.ingest_bind}", f"http://{settings.metrics_bind}"
    return [
        f"ingester:       {ingest_url}/webhooks/{{source}}  (health {ingest_url}/healthz)",
        f"worker metrics: {metrics_url}/metrics  (ready {metrics_url}/readyz)",
    ]


DEMO_LINE = (
    "demo feed: posting signed generic events every second to two value streams, "
    "delivery (development) and onboarding (operational); Ctrl-C stops all"
)


def _stop_on_signals() -> threading.Event:
    """An event SIGINT and SIGTERM set: the foreground loop then stops everything in order."""
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stopping


def _start_broker(settings: Settings, env: dict[str, str]) -> EmbeddedBroker | None:
    """The embedded broker when no Kafka is configured (its address goes into the children's
    environment), else None."""
    if settings.kafka is not None:
        return None
    host, port = split_hostport(settings.broker_bind)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(host, port, log_path=Path(settings.data_dir) / "broker.log")
    broker.start()
    env["FLOWGAUGE_KAFKA"] = broker.bootstrap
    env["FLOWGAUGE_EMBEDDED_BROKER"] = "1"
    print(broker_line(broker.bootstrap), flush=True)
    return broker


def _demo_secret(settings: Settings, env: dict[str, str], with_demo: bool) -> bytes | None:
    """The generic source's secret; for the demo, a fresh one if none is configured."""
    secret = settings.secret_for("generic")
    if with_demo and secret is None and not settings.allow_unsigned:
        secret = secrets.token_hex(16).encode()
        env["FLOWGAUGE_GENERIC_SECRET"] = secret.decode()
    if with_demo and settings.config is None:
        # the demo's two streams (development and operational), unless a config is named
        env["FLOWGAUGE_CONFIG"] = str(demo.demo_config_path())
    return secret


def _ready(settings: Settings) -> bool:
    return wait_http(f"http://{settings.ingest_bind}/readyz", 60) and wait_http(
        f"http://{settings.metrics_bind}/readyz", 90
    )


def _start_feed(
    settings: Settings, secret: bytes | None, stopping: threading.Event
) -> threading.Thread:
    feed = threading.Thread(
        target=demo.run,
        daemon=True,
        kwargs={
            "url": f"http://{settings.ingest_bind}/webhooks/generic",
            "secret": secret or b"",
            "stop": stopping,
        },
    )
    feed.start()
    print(DEMO_LINE, flush=True)
    return feed


def _watch(
    worker: subprocess.Popen[bytes], ingester: subprocess.Popen[bytes], stopping: threading.Event
) -> int:
    """Wait for a signal (0) or for a child to exit (1)."""
    while not stopping.is_set():
        if worker.poll() is not None or ingester.poll() is not None:
            print("flowgauge up: a child process exited; stopping", flush=True)
            return 1
        stopping.wait(0.5)
    return 0


def up(settings: Settings, with_demo: bool) -> int:
    """Run everything in the foreground; return the exit code. The page's URL comes first."""
    print(page_line(settings), flush=True)
    stopping = _stop_on_signals()
    env = dict(os.environ)
    env.setdefault("FLOWGAUGE_LOG_LEVEL", "WARNING")  # the children's INFO would bury the URLs
    broker: EmbeddedBroker | None = None
    worker = ingester = None
    feed: threading.Thread | None = None
    try:
        broker = _start_broker(settings, env)
        secret = _demo_secret(settings, env, with_demo)
        worker = _child("worker", env)
        ingester = _child("ingest", env)
        if not _ready(settings):
            print("flowgauge up: the worker or the ingester did not become ready", flush=True)
            return 1
        for line in endpoint_lines(settings):
            print(line, flush=True)
        if with_demo:
            feed = _start_feed(settings, secret, stopping)
        return _watch(worker, ingester, stopping)
    finally:
        stopping.set()
        if feed is not None:
            feed.join(5)
        _stop(ingester)
        _stop(worker)
        if broker is not None:
            broker.stop()
