"""`make bench`: every benchmark, a table on stdout, the same table appended to docs/performance.md.

    BENCH_SCALE=default|quick|full .venv/bin/python -m bench.run [--no-write]

Each figure is a median over `runs` runs where a run is repeatable; every speed of the pipeline
is also given as a ratio to the ceiling measured in the same run. Nothing is asserted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import engine, importing, pipeline
from bench.brokers import KINDS, Broker, BrokerCpu, label
from bench.common import RESULTS, ROOT, Sizes, load_average, machine, sizes
from bench.ingest import ingest
from bench.table import report

DOC = ROOT / "docs" / "performance.md"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _state(n: int, stages: int, scrapes: int, exact: bool = False) -> dict[str, Any]:
    """One memory/scrape measurement in a fresh interpreter (clean resident size)."""
    flag = ["--exact"] if exact else []
    return _engine("state", str(n), str(stages), str(scrapes), *flag)


def _engine(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.engine", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def on_broker(kind: str, s: Sizes, workdir: Path, loads: dict[str, str]) -> dict[str, Any]:
    """The broker-bound sections on a fresh broker of `kind` each. Apache Kafka runs them all;
    the embedded broker, the second column, skips recovery (its figures are in earlier tables
    of docs/performance.md) to keep `make bench` near 15 minutes."""
    raw: dict[str, Any] = {"label": label(kind), "throughput": []}
    workdir = workdir / kind
    workdir.mkdir()
    broker = Broker(workdir, kind)
    with broker as bootstrap, BrokerCpu(broker) as broker_cpu:
        for run in range(s.runs):
            log(f"{kind}: pipeline run {run + 1}/{s.runs}: {s.pipeline_events:,} events")
            raw["throughput"].append(
                pipeline.throughput_run(
                    bootstrap, workdir, s.pipeline_items, s.events_per_item, run, floors=run == 0
                )
            )
        grouped_items = max(200, s.pipeline_items // 5)
        log(f"{kind}: pipeline run of item-grouped records: {grouped_items:,} records of 50 events")
        raw["grouped"] = pipeline.throughput_run(
            bootstrap, workdir, grouped_items, 50, 50, grouped=True
        )
        if kind == KINDS[0]:
            log(f"{kind}: pipeline run under py-spy (not in the medians)")
            raw["profiled"] = pipeline.throughput_run(
                bootstrap, workdir, max(1_000, s.pipeline_items // 2), s.events_per_item, 99, True
            )
    raw["broker_cpu_share"] = broker_cpu.share
    loads[f"after {kind} pipeline"] = load_average()
    with Broker(workdir, kind) as bootstrap:
        log(f"{kind}: ingester: {s.ingest_requests:,} requests x {s.runs}")
        raw["ingest"] = ingest(bootstrap, workdir, s.ingest_requests, s.ingest_concurrency, s.runs)
    with Broker(workdir, kind) as bootstrap:
        raw["freshness"] = []
        for rate in s.fresh_rates:
            log(f"{kind}: freshness: {rate}/s for {s.fresh_seconds:.0f} s")
            raw["freshness"].append(
                pipeline.freshness(bootstrap, workdir / f"f{rate}", s.fresh_seconds, rate)
            )
    loads[f"after {kind} ingest/freshness"] = load_average()
    if kind != KINDS[0]:
        return raw
    with Broker(workdir, kind) as bootstrap:
        issues = max(500, s.pipeline_items // 2)
        log(f"{kind}: import of {issues:,} Jira issues into a running worker")
        raw["import"] = importing.import_run(bootstrap, workdir / "import", issues, 9)
    with Broker(workdir, kind) as bootstrap:
        raw["recovery"] = {}
        for store in ("memory", "rocksdb"):
            log(f"{kind}: recovery: {s.recovery_items:,} items, {s.recovery_kills} kills, {store}")
            raw["recovery"][store] = pipeline.recovery(
                bootstrap, workdir, s.recovery_items, s.recovery_kills, store
            )
    return raw


def main(argv: list[str]) -> int:
    s = sizes()
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()
    loads = {"start": load_average()}
    raw: dict[str, Any] = {"sizes": s.__dict__, "machine": host}
    workdir = Path(tempfile.mkdtemp(prefix="flowgauge-bench-"))
    log(f"scale {s.name}; work dir {workdir}; load {loads['start']}")

    # -- in-process: per-event engine cost, memory per item, scrape cost -----------------
    log("engine: per-event cost of the two agents' logic, in process")
    raw["engine"] = engine.per_event(2_000, 10, s.runs, profile=True)
    raw["memory"] = []
    for n in s.memory_items:
        scrapes = 5 if n == s.scrape_items else 0
        log(f"state: {n:,} open items, {s.scrape_stages} stages (scrapes: {scrapes})")
        raw["memory"].append(_state(n, s.scrape_stages, scrapes))
        log(f"state: {n:,} open items, table values copied to their exact size")
        raw["memory_exact"] = [*raw.get("memory_exact", []), _state(n, s.scrape_stages, 0, True)]
    loads["after in-process"] = load_average()

    # -- on each broker: pipeline throughput and its ceiling, ingester, freshness, recovery -
    raw["brokers"] = {}
    for kind in KINDS:
        raw["brokers"][kind] = on_broker(kind, s, workdir, loads)
    log(f"rebuild: {s.recovery_items:,} stored timelines into a processor, in process")
    raw["rebuild"] = _engine("rebuild", str(s.recovery_items))
    loads["end"] = load_average()
    raw["loads"] = loads
    raw["elapsed_s"] = time.monotonic() - started
    (RESULTS / f"run-{s.name}.json").write_text(json.dumps(raw, indent=1, default=str))

    text = report(raw, when)
    print(text)
    if "--no-write" not in argv:
        with DOC.open("a") as doc:
            doc.write("\n" + text)
        log(f"appended to {DOC.relative_to(ROOT)}")
    shutil.rmtree(workdir, ignore_errors=True)  # logs of processes; kept only if a run fails
    log(f"done in {raw['elapsed_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
