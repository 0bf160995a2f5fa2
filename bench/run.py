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

from bench import engine, pipeline
from bench.common import (
    RESULTS,
    ROOT,
    cpu_seconds,
    fmt_int,
    fmt_ms,
    free_port,
    load_average,
    machine,
    median,
    sizes,
)
from bench.ingest import ingest
from bench.profiles import markdown
from flowgauge.stream.embedded_broker import EmbeddedBroker

DOC = ROOT / "docs" / "performance.md"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Broker:
    """A fresh embedded broker (Tansu, memory storage) per section, stopped by PID."""

    current: EmbeddedBroker | None = None

    def __init__(self, workdir: Path) -> None:
        self.broker = EmbeddedBroker("127.0.0.1", free_port(), log_path=workdir / "tansu.log")

    def __enter__(self) -> str:
        self.broker.start()
        Broker.current = self.broker
        return self.broker.bootstrap

    def __exit__(self, *_: object) -> None:
        Broker.current = None
        self.broker.stop()


class BrokerCpu:
    """The broker's share of one core over a section (CPU seconds / wall seconds)."""

    def __enter__(self) -> BrokerCpu:
        assert Broker.current is not None and Broker.current.process is not None
        self.pid = Broker.current.process.pid
        self.cpu0, self.t0 = cpu_seconds(self.pid), time.perf_counter()
        self.share = float("nan")
        return self

    def __exit__(self, *_: object) -> None:
        self.share = (cpu_seconds(self.pid) - self.cpu0) / (time.perf_counter() - self.t0)


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

    # -- pipeline throughput and its ceiling ---------------------------------------------
    raw["throughput"] = []
    with Broker(workdir) as bootstrap, BrokerCpu() as broker_cpu:
        for run in range(s.runs):
            log(f"pipeline run {run + 1}/{s.runs}: {s.pipeline_events:,} events")
            raw["throughput"].append(
                pipeline.throughput_run(
                    bootstrap, workdir, s.pipeline_items, s.events_per_item, run, floors=run == 0
                )
            )
        log("pipeline run under py-spy (not in the medians)")
        raw["profiled"] = pipeline.throughput_run(
            bootstrap, workdir, max(1_000, s.pipeline_items // 2), s.events_per_item, 99, True
        )
    raw["broker_cpu_share"] = broker_cpu.share
    loads["after pipeline"] = load_average()

    with Broker(workdir) as bootstrap:
        log(f"ingester: {s.ingest_requests:,} requests x {s.runs}, {s.ingest_concurrency} open")
        raw["ingest"] = ingest(bootstrap, workdir, s.ingest_requests, s.ingest_concurrency, s.runs)
    with Broker(workdir) as bootstrap:
        raw["freshness"] = []
        for rate in s.fresh_rates:
            log(f"freshness: {rate}/s for {s.fresh_seconds:.0f} s")
            raw["freshness"].append(
                pipeline.freshness(bootstrap, workdir / f"f{rate}", s.fresh_seconds, rate)
            )
    loads["after ingest/freshness"] = load_average()
    with Broker(workdir) as bootstrap:
        raw["recovery"] = {}
        for store in ("memory", "rocksdb"):
            log(f"recovery: {s.recovery_items:,} items, {s.recovery_kills} x kill -9, {store}")
            raw["recovery"][store] = pipeline.recovery(
                bootstrap, workdir, s.recovery_items, s.recovery_kills, store
            )
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


def _secs(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values) + " s"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def report(raw: dict[str, Any], when: str) -> str:
    s = raw["sizes"]
    runs = s["runs"]
    tp = raw["throughput"]
    pipe = median([r["pipeline_per_s"] for r in tp])
    ceiling = median([r["ceiling_per_s"] for r in tp])
    ratio = median([r["pipeline_per_s"] / r["ceiling_per_s"] for r in tp])
    eng = raw["engine"]
    ing = raw["ingest"]
    ing_rate = median([r["per_s"] for r in ing])
    ing_p50 = median([r["p50_s"] for r in ing])
    ing_p99 = median([r["p99_s"] for r in ing])
    ing_cpu = median([r["per_cpu_s"] for r in ing])
    mem = raw["memory"]
    big = next(m for m in mem if "scrape_s" in m)
    scrape = median(big["scrape_s"])
    rec = raw["recovery"]["memory"]
    empty_rss = median([r["empty_rss"] for r in tp])
    worker_per_item = (rec["rss"][0] - empty_rss) / rec["items"] if rec["rss"] else 0
    live_per_item = median([(r["worker_rss"] - r["empty_rss"]) / r["items"] for r in tp])
    exact = {m["items"]: m["per_item"] for m in raw.get("memory_exact", [])}
    cpu_share = median([r["worker_cpu_share"] for r in tp])
    http_scrape = median(rec.get("http_scrape_s", []))
    total_events = s["pipeline_items"] * s["events_per_item"]

    rows = [
        (
            "Ceiling: raw aiokafka `getmany`, no decoding",
            f"{fmt_int(ceiling)} events/s",
            "1",
            "-",
            "-",
            f"the pipeline run's raw topic ({total_events:,} records, 4 partitions), "
            f"median of {runs}",
        ),
        (
            "Pipeline throughput (raw topic -> normalize -> timelines table -> processor)",
            f"{fmt_int(pipe)} events/s",
            f"{ratio:.2%}",
            ">= 25% of ceiling",
            _yes(ratio >= 0.25),
            f"{total_events:,} events on {s['pipeline_items']:,} items "
            f"({s['events_per_item']} per item), median of {runs}; worker busy "
            f"{cpu_share:.0%} of a core, broker {raw['broker_cpu_share']:.0%}",
        ),
        *[
            (
                f"  Faust alone on the same records: {label}",
                f"{fmt_int(tp[0][f'floor_{mode}_per_s'])} events/s",
                f"{tp[0][f'floor_{mode}_per_s'] / tp[0]['ceiling_per_s']:.2%}",
                "-",
                "-",
                "bench/faust_floor.py with the worker's Faust settings; first run only (ratio "
                f"to that run's ceiling, {fmt_int(tp[0]['ceiling_per_s'])} events/s): the "
                "pipeline's floor while its state is one value written per event",
            )
            for mode, label in (
                ("iterate", "an agent that only iterates"),
                ("table", "plus one ~500-byte table write per event"),
            )
            if f"floor_{mode}_per_s" in tp[0]
        ],
        (
            "  the same two agents' logic in process (no Faust, no broker)",
            f"{fmt_int(eng['both_per_s'])} events/s",
            f"{eng['both_per_s'] / ceiling:.1%}",
            "-",
            "-",
            f"normalize {fmt_int(eng['normalize_per_s'])}/s, timelines "
            f"{fmt_int(eng['apply_per_s'])}/s; {eng['events']:,} events, median of {runs}",
        ),
        (
            "Ingester: signed 1 KB webhooks, loopback",
            f"{fmt_int(ing_rate)} /s, p50 {fmt_ms(ing_p50)}, p99 {fmt_ms(ing_p99)}",
            "-",
            ">= 3,000/s, p99 < 50 ms",
            _yes(ing_rate >= 3000 and ing_p99 < 0.05),
            f"{s['ingest_requests']:,} requests, {s['ingest_concurrency']} in flight, median "
            f"of {runs}; ingester alone: {fmt_int(ing_cpu)} requests per CPU-second",
        ),
        *[
            (
                f"Freshness at {fr['rate_sent']:,.0f}/s: webhook sent -> gauge on `/metrics`",
                f"p50 {fmt_ms(fr['p50_s'])}, p99 {fmt_ms(fr['p99_s'])}",
                "-",
                "p99 < 2 s (at 1,000/s)",
                _yes(fr["p99_s"] < 2),
                f"{fr['probes']} probes ({fr['probe_timeouts']} not seen within 15 s, counted "
                f"as 15 s) under {fr['rate_sent']:,.0f} webhooks/s (one event each) for "
                f"{s['fresh_seconds']:.0f} s; the worker applied {fr['applied_per_s']:,.0f} "
                f"events/s meanwhile; answers {fr['statuses']}",
            )
            for fr in raw["freshness"]
        ],
        *[
            (
                f"Memory per open item at {m['items']:,} items",
                f"{fmt_int(m['per_item'])} B",
                "-",
                "<= 2 KB",
                _yes(m["per_item"] <= 2048),
                f"in process: table value ({m['table_payload_per_item']:.0f} B key+value "
                f"payload, as `orjson.dumps` allocates it) + processor, {m['stages']} stages; "
                f"with exact-size values: {fmt_int(exact.get(m['items'], float('nan')))} B",
            )
            for m in mem
        ],
        (
            "  the real worker, per item recovered",
            f"{fmt_int(worker_per_item)} B",
            "-",
            "<= 2 KB",
            _yes(0 < worker_per_item <= 2048),
            f"worker RSS after recovering {rec['items']:,} items minus an empty worker's "
            f"RSS; after the pipeline runs (live writes): {fmt_int(live_per_item)} B per item "
            f"at {s['pipeline_items']:,} items",
        ),
        *[
            (
                f"Recovery after kill -9 ({r['items']:,} items, `FLOWGAUGE_STORE={store}`)",
                f"/readyz {median(r['ready_s']):.1f} s, metrics {median(r['metrics_s']):.1f} s",
                "-",
                "< 30 s",
                _yes(median(r["metrics_s"]) < 30),
                f"median of {len(r['ready_s'])} kills: ready {_secs(r['ready_s'])}, metrics "
                f"{_secs(r['metrics_s'])}; first start {r['first_start_s']:.1f} s; RSS after "
                f"the last {fmt_int(r['rss'][-1] / 2**20)} MiB",
            )
            for store, r in raw["recovery"].items()
        ],
        (
            "  of which: rebuilding the processor from the stored timelines",
            f"{raw['rebuild']['rebuild_s']:.1f} s",
            "-",
            "-",
            "-",
            f"in process, {raw['rebuild']['items']:,} stored values, `Processor.restore` with "
            "the facts cached beside each timeline; re-deriving them all instead (a changed "
            f"config) {raw['rebuild'].get('rederive_s', float('nan')):.1f} s: decode "
            f"{raw['rebuild']['decode_s']:.1f} s (`Timeline.from_bytes`), apply "
            f"{raw['rebuild']['apply_s']:.1f} s (`Processor.apply`); the rest of a restart is "
            "the group join and Faust reading the changelog (all of it with the memory store)",
        ),
        (
            f"Scrape cost: `/metrics` with {big['items']:,} items, {big['stages']} stages",
            fmt_ms(scrape),
            "-",
            "< 100 ms",
            _yes(scrape < 0.1),
            f"snapshot + render in process, median of {len(big['scrape_s'])}; "
            f"{big['scrape_bytes']:,} bytes; real worker over HTTP with {rec['items']:,} "
            f"items: {fmt_ms(http_scrape)}",
        ),
    ]
    lines = [
        f"### Run of {when}, scale `{s['name']}`",
        "",
        f"Machine: {raw['machine']['cpu']}, {raw['machine']['memory']}, "
        f"{raw['machine']['os']}, Python {raw['machine']['python']}. "
        f"Took {raw['elapsed_s'] / 60:.1f} min.",
        "Load average (1/5/15 min) beside the runs — other engineers' tests share these "
        "two cores, so figures are noisy: "
        + "; ".join(f"{k}: {v}" for k, v in raw["loads"].items())
        + ".",
        "",
        "| measure | result | ratio to ceiling | target | met | sizes, runs, notes |",
        "|---|---|---|---|---|---|",
        *[f"| {' | '.join(row)} |" for row in rows],
        "",
    ]
    engine_profile = RESULTS / "engine-profile.txt"
    if engine_profile.exists():
        body = [line for line in engine_profile.read_text().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(body) if "_profile_engine" in line), 0)
        lines += [
            "In-process profile of the two agents' logic (pyinstrument, "
            f"{raw['engine']['events']:,} events; seconds, inclusive):",
            "",
            "```",
            *body[start : start + 45],
            "```",
            "",
        ]
    profile = raw.get("profiled", {}).get("profile")
    if profile:
        lines += [
            f"Worker profile of an extra pipeline run ({raw['profiled']['events']:,} events, "
            f"{fmt_int(raw['profiled']['pipeline_per_s'])} events/s under py-spy):",
            "",
            markdown(Path(profile)),
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
