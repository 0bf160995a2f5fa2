"""`flowgauge report`: the live metrics, computed in batch, as table, JSON, CSV or Prometheus text.

`--format prom` renders through the very collector the worker serves, so its samples are the
ones `/metrics` would show for the same events. The default table (and `--format html`) render
the view model (`flowgauge.view`), which reads the same snapshot.
"""

from __future__ import annotations

import csv
import io
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from flowgauge.engine.processor import Processor
from flowgauge.engine.snapshot import Snapshot, TargetForecast
from flowgauge.exposition import render
from flowgauge.model import FlowConfig
from flowgauge.records import read_events
from flowgauge.view.compare import changes, load_baseline, verdict
from flowgauge.view.html import render_html
from flowgauge.view.model import view
from flowgauge.view.table import render_text

Sample = tuple[str, tuple[tuple[str, str], ...], float]


def build(paths: list[Path], config: FlowConfig) -> Processor:
    return Processor.from_events(config, read_events(paths, config))


def wall_now() -> int:
    return time.time_ns() // 1000


def prom_text(processor: Processor, wall_micros: int | None = None) -> str:
    wall = wall_now() if wall_micros is None else wall_micros
    return render(processor.snapshot(wall)).decode()


def table(processor: Processor, wall_micros: int) -> str:
    """The default format: one table per stream a person reads (view/table.py)."""
    return render_text(view(processor, wall_micros))


def samples(text: str) -> list[Sample]:
    out: list[Sample] = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.append((s.name, tuple(sorted(s.labels.items())), s.value))
    return out


def _label_text(labels: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels)


def as_json(rows: list[Sample]) -> str:
    return orjson.dumps(
        [{"name": n, "labels": dict(ls), "value": v} for n, ls, v in rows],
        option=orjson.OPT_INDENT_2,
    ).decode()


def as_csv(rows: list[Sample]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "labels", "value"])
    for name, labels, value in rows:
        writer.writerow([name, _label_text(labels), repr(value)])
    return buffer.getvalue()


def as_samples_table(rows: list[Sample]) -> str:
    """Every sample on a line (name, labels, value): a debugging aid, not the default table."""
    lines = [
        (name.removeprefix("flowgauge_"), _label_text(labels), f"{value:.6g}")
        for name, labels, value in rows
    ]
    if not lines:
        return "(no metrics)\n"
    w0 = max(len(a) for a, _, _ in lines)
    w1 = max(len(b) for _, b, _ in lines)
    return "".join(f"{a:<{w0}}  {b:<{w1}}  {c:>12}\n" for a, b, c in lines)


def compare(rows: list[Sample], baseline_path: Path) -> str:
    """Each metric beside its baseline value, with the change and whether it is better or worse
    (the baseline → measure loop; view/compare.py says which direction is better)."""
    before = {(n, ls): v for n, ls, v in load_baseline(baseline_path)}
    now = {(n, ls): v for n, ls, v in rows}
    lines = ["metric  labels  baseline  now  change  verdict"]
    for key in sorted(before.keys() | now.keys()):
        old, new = before.get(key), now.get(key)
        change = ""
        if old is not None and new is not None:
            change = f"{new - old:+.6g}"
            if old != 0.0:
                change += f" ({(new - old) / abs(old):+.1%})"
            if new != old:
                change += f"  {verdict(key[0], dict(key[1]), old, new)}"
        lines.append(
            f"{key[0].removeprefix('flowgauge_')}  {_label_text(key[1])}  "
            f"{_number(old)}  {_number(new)}  {change}"
        )
    return "\n".join(lines) + "\n"


def forecast_sentences(snapshot: Snapshot) -> str:
    """One sentence per forecast target, for people: the 85 % date and the due-date odds."""
    lines = [
        f"{m.stream}/{t.target}: {_sentence(t, snapshot.now_seconds)}"
        for m in snapshot.streams
        for t in m.forecast.targets
    ]
    return "".join(f"{line}\n" for line in lines)


def _sentence(t: TargetForecast, now_seconds: float) -> str:
    items = "item" if t.remaining == 1 else "items"
    if t.remaining == 0:
        text = "nothing remains"
    elif "0.85" in t.completion:
        by = _date(now_seconds + t.completion["0.85"])
        text = f"85 % chance to finish the {t.remaining} remaining {items} by {by}"
    else:
        text = (
            f"{t.remaining} remaining {items}, no forecast: no completion in the history, "
            "or more than 730 days away"
        )
    if t.due is not None and t.due_seconds is not None:
        chance = math.floor(t.due * 1000) / 10  # never rounds a near-certainty up to 100 %
        text += f"; {chance:g} % chance by the due date {_date(t.due_seconds - 86_400)}"
    return text + "."


def _date(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).date().isoformat()


def html(processor: Processor, wall_micros: int, rows: list[Sample], baseline: Path | None) -> str:
    """`--format html`: the self-contained page; with a baseline, its values beside the current."""
    marks = None if baseline is None else changes(rows, load_baseline(baseline))
    return render_html(view(processor, wall_micros), marks)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


FORMATS = {"json": as_json, "csv": as_csv}
