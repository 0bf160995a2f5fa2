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


def up(settings: Settings, with_demo: bool) -> int:
    """Run everything in the foreground; return the exit code."""
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    env = dict(os.environ)
    env.setdefault("FLOWGAUGE_LOG_LEVEL", "WARNING")  # the children's INFO would bury the URLs
    broker: EmbeddedBroker | None = None
    worker = ingester = None
    feed: threading.Thread | None = None
    try:
        if settings.kafka is None:
            host, port = split_hostport(settings.broker_bind)
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            broker = EmbeddedBroker(host, port, log_path=Path(settings.data_dir) / "broker.log")
            broker.start()
            env["FLOWGAUGE_KAFKA"] = broker.bootstrap
            env["FLOWGAUGE_EMBEDDED_BROKER"] = "1"
            print(f"embedded broker (Tansu, memory only) on {broker.bootstrap}", flush=True)
        secret = settings.secret_for("generic")
        if with_demo and secret is None and not settings.allow_unsigned:
            secret = secrets.token_hex(16).encode()
            env["FLOWGAUGE_GENERIC_SECRET"] = secret.decode()
        if with_demo and settings.config is None:
            # the demo's two streams (development and operational), unless a config is named
            env["FLOWGAUGE_CONFIG"] = str(demo.demo_config_path())
        worker = _child("worker", env)
        ingester = _child("ingest", env)
        ingest_url = f"http://{settings.ingest_bind}"
        metrics_url = f"http://{settings.metrics_bind}"
        if not wait_http(f"{ingest_url}/readyz", 60) or not wait_http(f"{metrics_url}/readyz", 90):
            print("flowgauge up: the worker or the ingester did not become ready", flush=True)
            return 1
        print(f"value stream map: {metrics_url}/  (live; the same numbers as /metrics)")
        print(f"ingester:       {ingest_url}/webhooks/{{source}}  (health {ingest_url}/healthz)")
        print(f"worker metrics: {metrics_url}/metrics  (ready {metrics_url}/readyz)", flush=True)
        if with_demo:
            feed = threading.Thread(
                target=demo.run,
                daemon=True,
                kwargs={
                    "url": f"{ingest_url}/webhooks/generic",
                    "secret": secret or b"",
                    "stop": stopping,
                },
            )
            feed.start()
            print(
                "demo feed: posting signed generic events every second to two value streams, "
                "delivery (development) and onboarding (operational); Ctrl-C stops all",
                flush=True,
            )
        while not stopping.is_set():
            if worker.poll() is not None or ingester.poll() is not None:
                print("flowgauge up: a child process exited; stopping", flush=True)
                return 1
            stopping.wait(0.5)
        return 0
    finally:
        stopping.set()
        if feed is not None:
            feed.join(5)
        _stop(ingester)
        _stop(worker)
        if broker is not None:
            broker.stop()
