"""What every benchmark shares: sizes, statistics, the machine, events, and real processes.

Nothing here asserts a timing: benchmarks measure and print. Every process started here binds
to 127.0.0.1, is started by PID and stopped by PID, and every wait is bounded.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from flowgauge.keys import raw_record_key
from flowgauge.model.delivery import Delivery
from flowgauge.signing import sha256_signature
from flowgauge.sources import generic

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"  # profiles and raw runs (not committed)
SECRET = "bench-secret"
EPOCH = datetime(2026, 9, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs. `BENCH_SCALE=full` gives the sizes the issue names."""

    name: str
    runs: int  # medians of this many runs where a run is repeatable
    pipeline_items: int
    events_per_item: int
    memory_items: tuple[int, ...]
    scrape_items: int
    scrape_stages: int
    recovery_items: int
    recovery_kills: int
    ingest_requests: int
    ingest_concurrency: int
    fresh_seconds: float
    fresh_rates: tuple[int, ...]  # the 1,000/s, and one the worker here can sustain

    @property
    def pipeline_events(self) -> int:
        return self.pipeline_items * self.events_per_item


SCALES = {
    # the sizes: 1,000,000 events on 100,000 items (tens of minutes on 2 cores)
    "full": Sizes("full", 3, 100_000, 10, (100_000, 1_000_000), 1_000_000, 50, 1_000_000, 3,
                  60_000, 32, 60.0, (1000, 250)),
    # `make bench`: fits in 15 minutes on 2 cores; memory and scrape cost still at full size
    "default": Sizes("default", 3, 10_000, 10, (100_000, 1_000_000), 1_000_000, 50, 100_000, 2,
                     15_000, 32, 30.0, (1000, 250)),
    # a smoke run of the harness itself (about two minutes)
    "quick": Sizes("quick", 1, 1_000, 5, (10_000, 100_000), 100_000, 50, 10_000, 1,
                   3_000, 32, 10.0, (500,)),
}  # fmt: skip


def sizes() -> Sizes:
    scale = os.environ.get("BENCH_SCALE", "default")
    if scale not in SCALES:
        raise SystemExit(f"BENCH_SCALE must be one of {', '.join(SCALES)}, not {scale!r}")
    return SCALES[scale]


# ----------------------------------------------------------------------------- statistics


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of the samples; nan when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


def fmt_int(x: float) -> str:
    return "n/a" if x != x else f"{x:,.0f}"


def fmt_ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:,.1f} ms"


# -------------------------------------------------------------------------------- machine


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": mem,
        "python": platform.python_version(),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }


# --------------------------------------------------------------------------------- events


def _at(base: datetime, minutes: int) -> str:
    return (base + timedelta(minutes=minutes)).isoformat()


#: One item's life in ten events: a rework loop and a blocked spell on the way to done.
WALK = [
    ("created", None),
    ("state", "Backlog"),
    ("state", "In Progress"),
    ("blocked", None),
    ("unblocked", None),
    ("state", "In Review"),
    ("state", "In Progress"),
    ("state", "In Review"),
    ("state", "QA"),
    ("state", "Done"),
]


def item_event(run: str, item: int, step: int, stream: str | None = None) -> dict[str, Any]:
    """Event `step` of item `item` (generic format, as a webhook body carries it)."""
    type_, state = WALK[step % len(WALK)]
    base = EPOCH + timedelta(minutes=item % 50_000)
    event: dict[str, Any] = {
        "id": f"{run}-{item}-{step}",
        "type": type_,
        "item": f"{run}-{item}",
        "at": _at(base, 90 * step),
    }
    if state is not None:
        event["state"] = state
    if type_ == "created":
        event["item_type"] = "bug" if item % 5 == 0 else "feature"
    if stream is not None:
        event["stream"] = stream
    return event


def interleaved(run: str, items: int, per_item: int) -> Iterator[dict[str, Any]]:
    """Step 0 of every item, then step 1 of every item, ...: every event lands on a new key."""
    for step in range(per_item):
        for item in range(items):
            yield item_event(run, item, step)


def raw_key(event: dict[str, Any] | list[dict[str, Any]], n: int) -> bytes:
    """The raw record's key the ingester gives this generic body (flowgauge/keys.py)."""
    events = generic.normalize({}, event)
    return raw_record_key(events, f"bench:{n}")


def delivery_bytes(event: dict[str, Any] | list[dict[str, Any]], n: int) -> bytes:
    """The raw-topic record the ingester writes for this generic body: the request and its
    events, normalized once (format 2, ingest/intake.py)."""
    body = orjson.dumps(event).decode()
    return (
        Delivery(
            source="generic",
            headers={"content-type": "application/json"},
            body=body,
            received_at=EPOCH.isoformat(),
            delivery_id=f"bench:{n}",
        )
        .with_events(generic.normalize({}, event))
        .to_bytes()
    )


def item_grouped(run: str, items: int, per_item: int) -> Iterator[list[dict[str, Any]]]:
    """Each item's whole history as one body (what `flowgauge import` and `replay` write)."""
    for item in range(items):
        yield [item_event(run, item, step) for step in range(per_item)]


def sign(body: bytes, secret: str = SECRET) -> str:
    return sha256_signature(secret, body)


def stages_config(stages: int, probe: bool = False) -> str:
    """A `clock: wall` config with `stages` stages (the last one done) and a probe stream."""
    names = [f"s{i:02d}" for i in range(stages)]
    lines = [
        "clock: wall",
        "streams:",
        "  - name: delivery",
        "    window: 30d",
        f"    commitment: {names[min(2, stages - 2)]}",
        "    defect_types: [bug]",
        "    sle: 10d",
        "    stages:",
    ]
    # the ten-event walk's states land on the first, second, third and fourth stage, and done
    walk_states = {0: ["Backlog"], 1: ["In Progress"], 2: ["In Review"], 3: ["QA"]}
    for index, name in enumerate(names):
        kind = "done" if index == stages - 1 else ("active" if index % 2 else "wait")
        states = [f"State {index}", *walk_states.get(index, [])]
        if index == stages - 1:
            states.append("Done")
        quoted = ", ".join(f'"{s}"' for s in states)
        lines.append(f"      - {{name: {name}, kind: {kind}, states: [{quoted}]}}")
    if probe:
        lines += [
            "  - name: probe",
            "    window: 30d",
            "    commitment: doing",
            "    match: {source: [none]}",
            "    stages:",
            "      - {name: waiting, kind: wait, states: [Waiting]}",
            "      - {name: doing, kind: active, states: [Doing]}",
            "      - {name: done, kind: done, states: [Finished]}",
        ]
    lines += ["dora:", "  production: [production]", "  window: 30d", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- HTTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll until truthy; None after `timeout` seconds (the caller reports, never hangs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(interval)
    return None


_SAMPLE = re.compile(rb"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([^ \n]+)", re.M)


def sample(text: bytes, name: str, *labels: str) -> float | None:
    """The value of one sample; each of `labels` as on the wire, e.g. `outcome="applied"`."""
    wanted = name.encode()
    want_labels = [label.encode() for label in labels]
    for match in _SAMPLE.finditer(text):
        if match.group(1) != wanted:
            continue
        got = (match.group(2) or b"{}")[1:-1].split(b",")
        if all(label in got for label in want_labels):
            return float(match.group(3))
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# ------------------------------------------------------------------------- real processes

# Bootstrap addresses of the embedded brokers (Tansu) this run started: the processes on them run
# with the Tansu workarounds; on any other (Apache Kafka) with Kafka's shortest allowed session.
EMBEDDED: set[str] = set()


@dataclass
class Stack:
    """One flowgauge deployment on a broker: its own topics, data dir, ports and processes."""

    bootstrap: str
    workdir: Path
    config: Path | None = None
    prefix: str = field(default_factory=lambda: f"b{uuid.uuid4().hex[:8]}")
    ingest_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. faust settings by env
    worker_module: str = "flowgauge"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWGAUGE_")}
        env.update(
            {
                "FLOWGAUGE_KAFKA": self.bootstrap,
                "FLOWGAUGE_EMBEDDED_BROKER": "1" if self.bootstrap in EMBEDDED else "0",
                "FLOWGAUGE_TOPIC_PREFIX": self.prefix,
                "FLOWGAUGE_INGEST_BIND": f"127.0.0.1:{self.ingest_port}",
                "FLOWGAUGE_METRICS_BIND": f"127.0.0.1:{self.metrics_port}",
                "FLOWGAUGE_DATA_DIR": str(self.workdir),
                "FLOWGAUGE_GENERIC_SECRET": SECRET,
                "PYTHONWARNINGS": "ignore",
            }
        )
        if self.bootstrap not in EMBEDDED:
            env.update({"FLOWGAUGE_SESSION_TIMEOUT": "6", "FLOWGAUGE_HEARTBEAT_INTERVAL": "1"})
        if self.config is not None:
            env["FLOWGAUGE_CONFIG"] = str(self.config)
        env.update(self.extra_env)
        env.update(extra)
        return env

    def spawn(self, name: str, command: str, module: str = "flowgauge") -> int:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", module, command]
        with open(self.workdir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        self.processes[name] = process
        return process.pid

    def url(self, path: str, name: str = "worker") -> str:
        port = self.ingest_port if name == "ingest" else self.metrics_port
        return f"http://127.0.0.1:{port}{path}"

    def ready(self, name: str = "worker") -> bool:
        try:
            return http_get(self.url("/readyz", name), timeout=2)[0] == 200
        except OSError:
            return False

    def metrics(self) -> bytes:
        return http_get(self.url("/metrics"), timeout=30)[1]

    def applied(self) -> float:
        try:
            return sample(self.metrics(), "flowgauge_events_total", 'outcome="applied"') or 0.0
        except OSError:
            return 0.0

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
