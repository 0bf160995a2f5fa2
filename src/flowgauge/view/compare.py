"""The baseline → improve → measure loop: each metric beside its baseline, the change judged.

A baseline is a previous `flowgauge report --format json` (a list of samples). Whether a change
is better depends on the metric (lead time down is better, throughput up is better): `DIRECTION`
is the one place that says so, for the text `--compare` and the html report alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels, float]

LOWER, HIGHER = -1, 1
DIRECTION: dict[str, int] = {
    "flowgauge_lead_time_seconds": LOWER,
    "flowgauge_cycle_time_seconds": LOWER,
    "flowgauge_work_item_age_seconds": LOWER,
    "flowgauge_stage_time_seconds": LOWER,
    "flowgauge_wip_items": LOWER,
    "flowgauge_blocked_items": LOWER,
    "flowgauge_sle_breach_items": LOWER,
    "flowgauge_rework_ratio": LOWER,
    "flowgauge_defect_ratio": LOWER,
    "flowgauge_stage_signal": LOWER,
    "flowgauge_bottleneck_score": LOWER,
    "flowgauge_unmapped_state_events": LOWER,
    "flowgauge_dora_lead_time_for_changes_seconds": LOWER,
    "flowgauge_dora_change_failure_ratio": LOWER,
    "flowgauge_dora_time_to_restore_seconds": LOWER,
    "flowgauge_throughput_items": HIGHER,
    "flowgauge_flow_efficiency_ratio": HIGHER,
    "flowgauge_dora_deployment_frequency_per_day": HIGHER,
}
#: stage_seconds by kind: time waiting or blocked is waste, active time is neither
KIND_DIRECTION = {"wait": LOWER, "blocked": LOWER}
#: the stream figures the page shows as sums over stages ("sum:" keys)
SUMMED = ("flowgauge_wip_items", "flowgauge_blocked_items", "flowgauge_sle_breach_items")


def verdict(name: str, labels: Mapping[str, str], old: float, new: float) -> str:
    """better, worse, same, or changed (a metric with no better direction)."""
    if new == old:
        return "same"
    direction = DIRECTION.get(name)
    if name == "flowgauge_stage_seconds":
        direction = KIND_DIRECTION.get(labels.get("kind", ""))
    if direction is None:
        return "changed"
    return "better" if (new - old) * direction > 0 else "worse"


def load_baseline(path: Path) -> list[Sample]:
    """The samples of a `report --format json` file."""
    data: Any = orjson.loads(path.read_bytes())
    return [(r["name"], tuple(sorted(r["labels"].items())), float(r["value"])) for r in data]


def sample_key(name: str, labels: Labels) -> str:
    """A sample as /metrics writes it, labels sorted: `name{a="1",b="2"}` (page.js `key`)."""
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


def keyed(rows: Iterable[Sample]) -> dict[str, tuple[str, dict[str, str], float]]:
    """Samples by key, plus the per-stream sums the page shows (`sum:` keys)."""
    out: dict[str, tuple[str, dict[str, str], float]] = {}
    for name, labels, value in rows:
        out[sample_key(name, labels)] = (name, dict(labels), value)
        if name in SUMMED:
            stream = dict(labels).get("stream", "")
            key = "sum:" + sample_key(name, (("stream", stream),))
            total = out.get(key, (name, {"stream": stream}, 0.0))[2] + value
            out[key] = (name, {"stream": stream}, total)
    return out


def changes(now: Iterable[Sample], baseline: Iterable[Sample]) -> dict[str, dict[str, Any]]:
    """key -> {"baseline": value, "change": verdict} for every metric the baseline has (the
    page marks the shown numbers with it)."""
    current = keyed(now)
    out: dict[str, dict[str, Any]] = {}
    for key, (name, labels, old) in keyed(baseline).items():
        found = current.get(key)
        change = "gone" if found is None else verdict(name, labels, old, found[2])
        out[key] = {"baseline": old, "change": change}
    return out
