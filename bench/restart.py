"""Start-up and restart times: the figures docs/operations.md and the issue notes quote.

`python -m bench.restart` prints, on the embedded broker, seconds from process start to the
worker's `/readyz` 200: cold, after SIGTERM, after SIGKILL, with dynamic membership (the
default) and with static membership (`FLOWGAUGE_GROUP_INSTANCE_ID`); and seconds from
`flowgauge up --demo` to the first non-zero `flowgauge_wip_items` sample. Measures, never asserts.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Stack, free_port, http_get, load_average, wait_until
from flowgauge.stream.embedded_broker import EmbeddedBroker

RUNS = int(os.environ.get("BENCH_RESTART_RUNS", "3"))


def _start(stack: Stack) -> float:
    began = time.monotonic()
    stack.spawn("worker", "worker")
    wait_until(stack.ready, 120, interval=0.05)
    return time.monotonic() - began


def membership(bootstrap: str, workdir: Path, static: bool) -> dict[str, list[float]]:
    extra = {"FLOWGAUGE_GROUP_INSTANCE_ID": "w1"} if static else {}
    stack = Stack(bootstrap=bootstrap, workdir=workdir, extra_env=extra)
    try:
        times = {"cold": [_start(stack)]}
        for sig in (signal.SIGTERM, signal.SIGKILL):
            name = signal.Signals(sig).name
            for _ in range(RUNS):
                stack.stop("worker", sig=sig)
                times.setdefault(name, []).append(_start(stack))
        return times
    finally:
        stack.stop_all()


def first_wip(workdir: Path) -> float:
    """`flowgauge up --demo` on fresh ports until /metrics shows a non-zero WIP sample."""
    ports = {name: free_port() for name in ("BROKER", "INGEST", "METRICS")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWGAUGE_")}
    env.update({f"FLOWGAUGE_{n}_BIND": f"127.0.0.1:{p}" for n, p in ports.items()})
    env["FLOWGAUGE_DATA_DIR"] = str(workdir)
    url = f"http://127.0.0.1:{ports['METRICS']}/metrics"

    def wip_seen() -> bool:
        try:
            text = http_get(url, timeout=1)[1].decode()
        except OSError:
            return False
        return any(
            line.startswith("flowgauge_wip_items") and not line.endswith(" 0.0")
            for line in text.splitlines()
        )

    began = time.monotonic()
    with open(workdir / "up.log", "ab") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "flowgauge", "up", "--demo"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(wip_seen, 90, interval=0.1)
        return time.monotonic() - began
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-restart-"))
    broker = EmbeddedBroker("127.0.0.1", free_port(), log_path=workdir / "tansu.log")
    broker.start()
    try:
        rows = {
            "dynamic, session 2 s, LeaveGroup (default)": membership(
                broker.bootstrap, workdir / "dynamic", static=False
            ),
            "static (FLOWGAUGE_GROUP_INSTANCE_ID)": membership(
                broker.bootstrap, workdir / "static", static=True
            ),
        }
    finally:
        broker.stop()
    print(f"load average {load_average()}; {RUNS} restarts per signal; seconds to /readyz 200")
    print("| membership | cold start | after SIGTERM (median) | after SIGKILL (median) |")
    print("|---|---|---|---|")
    for name, t in rows.items():
        cells = [f"{t['cold'][0]:.1f}"] + [
            f"{min(t[s]):.1f}-{max(t[s]):.1f} ({statistics.median(t[s]):.1f})"
            for s in ("SIGTERM", "SIGKILL")
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"`flowgauge up --demo` to the first non-zero WIP sample: {first_wip(workdir):.1f} s")


if __name__ == "__main__":
    main()
