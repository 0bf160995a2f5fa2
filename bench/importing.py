"""`flowgauge import` into a running worker: imported events per second (issue 17: >= 20,000/s).

    python -m bench.importing [ISSUES] [CHANGES_PER_ISSUE]

Jira issues as the REST API returns them (an issue and its changelog) are rendered into item
records by the import's own code (`importers.jira_history`, `importers.sink.item_records`), then
written by the import's `TopicSink` onto the raw topic of a running worker (a subprocess, on a
fresh broker); the figure is events applied by the worker per second, from the first
record sent to the last event applied. The rendering alone is timed too (it is the importer's CPU
cost once the API has answered). Network time to the tool's API is not included: it depends on
the tool. Nothing is asserted; `make bench` runs it on Apache Kafka (bench/run.py), with half
the pipeline's items as issues.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Stack, wait_until
from flowgauge.importers.base import ItemHistory
from flowgauge.importers.jira_history import issue_deliveries
from flowgauge.importers.sink import ItemRecord, TopicSink, item_records
from flowgauge.settings import Settings

STATUSES = ("To Do", "In Progress", "In Review", "QA", "Done")
CATEGORIES = {"To Do": "new", "Done": "done"}
START = datetime(2026, 6, 1, tzinfo=UTC)


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def api_issue(n: int, changes: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Issue n as Jira's API gives it: now in its last status, `changes` status histories."""
    created = START + timedelta(minutes=n)
    status = [STATUSES[min(step, len(STATUSES) - 1)] for step in range(changes + 1)]
    histories = [
        {
            "id": str(n * 1000 + step),
            "created": _time(created + timedelta(hours=step + 1)),
            "items": [
                {"field": "status", "fieldId": "status", "fromString": status[step],
                 "toString": status[step + 1]},
            ],
        }
        for step in range(changes)
    ]  # fmt: skip
    fields = {
        "created": _time(created),
        "project": {"key": "BEN"},
        "issuetype": {"name": "Story"},
        "labels": [],
        "status": {"name": status[-1], "statusCategory": {"key": CATEGORIES.get(status[-1])}},
    }
    return {"id": str(100_000 + n), "key": f"BEN-{n}", "fields": fields}, histories


def render(issues: int, changes: int) -> list[ItemRecord]:
    out: list[ItemRecord] = []
    for n in range(issues):
        issue, histories = api_issue(n, changes)
        item = ItemHistory(issue["key"], issue_deliveries(issue, histories, CATEGORIES))
        out.extend(item_records("jira", item))
    return out


async def _write(settings: Settings, records: list[ItemRecord]) -> float:
    sink = TopicSink(settings, "jira")
    await sink.start()
    t0 = time.perf_counter()
    try:
        for start in range(0, len(records), 500):  # a page of records per write, as the import
            await sink.write(records[start : start + 500])
    finally:
        await sink.close()
    return time.perf_counter() - t0


def import_run(bootstrap: str, workdir: Path, issues: int, changes: int) -> dict[str, Any]:
    out: dict[str, Any] = {"issues": issues, "changes_per_issue": changes}
    t0 = time.perf_counter()
    records = render(issues, changes)
    out["render_s"] = time.perf_counter() - t0
    events = sum(len(r.events) for r in records)
    out.update(records=len(records), events=events, render_per_s=events / out["render_s"])
    stack = Stack(bootstrap, workdir / "import")
    try:
        stack.spawn("worker", "worker")
        if not wait_until(stack.ready, 120, interval=0.1):
            return {**out, "error": "worker never ready"}
        settings = Settings(kafka=bootstrap, topic_prefix=stack.prefix)
        t0 = time.perf_counter()
        out["produce_s"] = asyncio.run(_write(settings, records))
        done = wait_until(lambda: stack.applied() >= events, max(120.0, events / 500), 0.25)
        elapsed = time.perf_counter() - t0
        out["applied"] = stack.applied()
        out["import_per_s"] = events / elapsed if done else float("nan")
    finally:
        stack.stop_all()
    return out


def main(argv: list[str]) -> dict[str, Any]:
    from bench.brokers import Broker

    issues = int(argv[0]) if argv else 5_000
    changes = int(argv[1]) if len(argv) > 1 else 9
    workdir = Path(tempfile.mkdtemp(prefix="flowgauge-bench-import-"))
    with Broker(workdir) as bootstrap:
        return import_run(bootstrap, workdir, issues, changes)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=1, default=str))
