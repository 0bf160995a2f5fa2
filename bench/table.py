"""The markdown table `make bench` prints and appends to docs/performance.md.

Every broker-bound figure has a column per broker: Apache Kafka (the production broker, where
every target is judged) first, the embedded Tansu second; ratios are to the ceiling measured on
the same broker in the same run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import RESULTS, fmt_int, fmt_ms, median
from bench.profiles import markdown

Row = tuple[str, str, str, str, str, str, str]  # measure, kafka, ratio, tansu, ratio, target, met


def _secs(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values) + " s"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _pipeline(b: dict[str, Any]) -> dict[str, float]:
    tp = b["throughput"]
    return {
        "pipe": median([r["pipeline_per_s"] for r in tp]),
        "ceiling": median([r["ceiling_per_s"] for r in tp]),
        "ratio": median([r["pipeline_per_s"] / r["ceiling_per_s"] for r in tp]),
        "cpu": median([r["worker_cpu_share"] for r in tp]),
        "ing_rate": median([r["per_s"] for r in b["ingest"]]),
        "ing_p50": median([r["p50_s"] for r in b["ingest"]]),
        "ing_p99": median([r["p99_s"] for r in b["ingest"]]),
        "ing_cpu": median([r["per_cpu_s"] for r in b["ingest"]]),
    }


def _ingest(p: dict[str, float]) -> str:
    return f"{fmt_int(p['ing_rate'])} /s, p50 {fmt_ms(p['ing_p50'])}, p99 {fmt_ms(p['ing_p99'])}"


def _grouped_rows(k: dict[str, Any], t: dict[str, Any]) -> list[Row]:
    """Item-grouped records (an import, a replay): one run per broker, events/s against the
    ceiling of the same records (absent from results older than the row)."""
    gk, gt = k.get("grouped"), t.get("grouped")
    if gk is None or gt is None or "pipeline_per_s" not in gk or "pipeline_per_s" not in gt:
        return []

    def ratio(run: dict[str, Any]) -> float:
        return float(run["pipeline_per_s"] / run["ceiling_per_s"])

    return [
        (
            f"Pipeline, item-grouped records: {gk['events']:,} events in records of 50 "
            f"(one item's history each); worker busy {gk['worker_cpu_share']:.0%} of a core",
            f"{fmt_int(gk['pipeline_per_s'])} events/s",
            f"{ratio(gk):.2%}",
            f"{fmt_int(gt['pipeline_per_s'])} events/s",
            f"{ratio(gt):.2%}",
            ">= 10% of ceiling",
            _yes(ratio(gk) >= 0.10),
        )
    ]


def _import_rows(k: dict[str, Any]) -> list[Row]:
    """`flowgauge import` into a running worker (bench/importing.py), Apache Kafka only."""
    run = k.get("import")
    if run is None or "import_per_s" not in run:  # absent, or the worker never became ready
        return []
    return [
        (
            f"Import into a running worker: {run['events']:,} events of {run['issues']:,} Jira "
            f"issues in {run['records']:,} item records (rendered by the importer "
            f"{fmt_int(run['render_per_s'])} events/s, written by its TopicSink)",
            f"{fmt_int(run['import_per_s'])} events/s",
            "-",
            "-",
            "-",
            ">= 20,000 events/s",
            _yes(run["import_per_s"] >= 20_000),
        )
    ]


def _broker_rows(raw: dict[str, Any]) -> list[Row]:
    s = raw["sizes"]
    k, t = raw["brokers"]["kafka"], raw["brokers"]["tansu"]
    pk, pt = _pipeline(k), _pipeline(t)
    total = s["pipeline_items"] * s["events_per_item"]
    rows: list[Row] = [
        (
            "Ceiling: raw aiokafka `getmany`, no decoding, "
            f"{total:,} records, 4 partitions, median of {s['runs']}",
            f"{fmt_int(pk['ceiling'])} events/s",
            "1",
            f"{fmt_int(pt['ceiling'])} events/s",
            "1",
            "-",
            "-",
        ),
        (
            f"Pipeline throughput (raw topic -> normalize -> timelines -> processor), {total:,} "
            f"events on {s['pipeline_items']:,} items; worker busy {pk['cpu']:.0%} of a core "
            f"(Kafka), broker {k['broker_cpu_share']:.0%} / {t['broker_cpu_share']:.0%}",
            f"{fmt_int(pk['pipe'])} events/s",
            f"{pk['ratio']:.2%}",
            f"{fmt_int(pt['pipe'])} events/s",
            f"{pt['ratio']:.2%}",
            ">= 25% of ceiling",
            _yes(pk["ratio"] >= 0.25),
        ),
    ]
    rows.extend(_grouped_rows(k, t))
    rows.extend(_import_rows(k))
    for mode, what in (
        ("iterate", "an agent that only iterates"),
        ("table", "plus one ~500-byte table write per event"),
    ):
        key = f"floor_{mode}_per_s"
        if key in k["throughput"][0] and key in t["throughput"][0]:
            fk, ft = k["throughput"][0], t["throughput"][0]
            rows.append(
                (
                    f"  Faust alone on the same records: {what} (bench/faust_floor.py, first run)",
                    f"{fmt_int(fk[key])} events/s",
                    f"{fk[key] / fk['ceiling_per_s']:.2%}",
                    f"{fmt_int(ft[key])} events/s",
                    f"{ft[key] / ft['ceiling_per_s']:.2%}",
                    "-",
                    "-",
                )
            )
    rows.append(
        (
            f"Ingester: signed 1 KB webhooks, loopback, {s['ingest_requests']:,} requests, "
            f"{s['ingest_concurrency']} in flight; per CPU-second {fmt_int(pk['ing_cpu'])} / "
            f"{fmt_int(pt['ing_cpu'])}",
            _ingest(pk),
            "-",
            _ingest(pt),
            "-",
            ">= 3,000/s, p99 < 50 ms",
            _yes(pk["ing_rate"] >= 3000 and pk["ing_p99"] < 0.05),
        )
    )
    for fk, ft in zip(k["freshness"], t["freshness"], strict=True):
        rows.append(
            (
                f"Freshness at {fk['rate_sent']:,.0f}/s for {s['fresh_seconds']:.0f} s: webhook "
                f"sent -> gauge on `/metrics` ({fk['probes']} probes; not seen within 15 s count "
                "as 15 s: "
                f"{fk['probe_timeouts']} / {ft['probe_timeouts']}); worker applied "
                f"{fk['applied_per_s']:,.0f} / {ft['applied_per_s']:,.0f} events/s",
                f"p50 {fmt_ms(fk['p50_s'])}, p99 {fmt_ms(fk['p99_s'])}",
                "-",
                f"p50 {fmt_ms(ft['p50_s'])}, p99 {fmt_ms(ft['p99_s'])}",
                "-",
                "p99 < 2 s (at 1,000/s)",
                _yes(fk["p99_s"] < 2),
            )
        )
    for store, r in k["recovery"].items():
        rows.append(
            (
                f"Recovery after kill -9 ({r['items']:,} items, `FLOWGAUGE_STORE={store}`): "
                f"median of {len(r['ready_s'])} kills: ready {_secs(r['ready_s'])}, metrics "
                f"{_secs(r['metrics_s'])}; first start {r['first_start_s']:.1f} s",
                f"/readyz {median(r['ready_s']):.1f} s, metrics {median(r['metrics_s']):.1f} s",
                "-",
                "not run",
                "-",
                "< 30 s",
                _yes(median(r["metrics_s"]) < 30),
            )
        )
    return rows


def _process_rows(raw: dict[str, Any]) -> list[Row]:
    s, eng = raw["sizes"], raw["engine"]
    k = raw["brokers"]["kafka"]
    mem = raw["memory"]
    big = next(m for m in mem if "scrape_s" in m)
    rec = k["recovery"]["memory"]
    tp = k["throughput"]
    exact = {m["items"]: m["per_item"] for m in raw.get("memory_exact", [])}
    empty_rss = median([r["empty_rss"] for r in tp])
    worker_per_item = (rec["rss"][0] - empty_rss) / rec["items"] if rec["rss"] else 0
    live_per_item = median([(r["worker_rss"] - r["empty_rss"]) / r["items"] for r in tp])
    scrape = median(big["scrape_s"])
    rows: list[Row] = [
        (
            f"The two agents' logic in process (no Faust, no broker): normalize "
            f"{fmt_int(eng['normalize_per_s'])}/s, timelines {fmt_int(eng['apply_per_s'])}/s; "
            f"{eng['events']:,} events",
            f"{fmt_int(eng['both_per_s'])} events/s",
            "-",
            "-",
            "-",
            "-",
            "-",
        ),
    ]
    for m in mem:
        rows.append(
            (
                f"Memory per open item at {m['items']:,} items (in process: table value + "
                f"processor, {m['stages']} stages; exact-size values "
                f"{fmt_int(exact.get(m['items'], 0))} B)",
                f"{fmt_int(m['per_item'])} B",
                "-",
                "-",
                "-",
                "<= 2 KB",
                _yes(m["per_item"] <= 2048),
            )
        )
    rows.append(
        (
            f"  the real worker, per item recovered ({rec['items']:,}); after live writes "
            f"{fmt_int(live_per_item)} B at {s['pipeline_items']:,} items",
            f"{fmt_int(worker_per_item)} B",
            "-",
            "-",
            "-",
            "<= 2 KB",
            _yes(0 < worker_per_item <= 2048),
        )
    )
    rows.append(
        (
            f"  rebuilding the processor from {raw['rebuild']['items']:,} stored timelines, in "
            f"process (re-deriving all: {raw['rebuild'].get('rederive_s', float('nan')):.1f} s)",
            f"{raw['rebuild']['rebuild_s']:.1f} s",
            "-",
            "-",
            "-",
            "-",
            "-",
        )
    )
    rows.append(
        (
            f"Scrape cost: `/metrics` with {big['items']:,} items, {big['stages']} stages, in "
            f"process; real worker over HTTP with {rec['items']:,} items "
            f"{fmt_ms(median(rec.get('http_scrape_s', [])))}",
            fmt_ms(scrape),
            "-",
            "-",
            "-",
            "< 100 ms",
            _yes(scrape < 0.1),
        )
    )
    return rows


def report(raw: dict[str, Any], when: str) -> str:
    s = raw["sizes"]
    k, t = raw["brokers"]["kafka"], raw["brokers"]["tansu"]
    lines = [
        f"### Run of {when}, scale `{s['name']}`",
        "",
        f"Machine: {raw['machine']['cpu']}, {raw['machine']['memory']}, "
        f"{raw['machine']['os']}, Python {raw['machine']['python']}. "
        f"Took {raw['elapsed_s'] / 60:.1f} min. Brokers: {k['label']} (one KRaft node, "
        f"scripts/kafka-up; targets are judged on it) and {t['label']}.",
        "Load average (1/5/15 min) beside the runs (other engineers' tests share these two "
        "cores): " + "; ".join(f"{n}: {v}" for n, v in raw["loads"].items()) + ".",
        "",
        f"| measure | {k['label']} | ratio | {t['label']} | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
        *[f"| {' | '.join(row)} |" for row in (*_broker_rows(raw), *_process_rows(raw))],
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
    profiled = k.get("profiled", {})
    if profiled.get("profile"):
        lines += [
            f"Worker profile of an extra pipeline run on {k['label']} ({profiled['events']:,} "
            f"events, {fmt_int(profiled['pipeline_per_s'])} events/s under py-spy):",
            "",
            markdown(Path(profiled["profile"])),
            "",
        ]
    return "\n".join(lines)
