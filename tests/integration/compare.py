"""Comparing a worker's `/metrics` with `flowgauge report --format prom` over the same events."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from flowgauge.exposition import DORA_FAMILIES, FLOW_FAMILIES
from flowgauge.report import samples

GAUGES = frozenset(f.name for f in (*FLOW_FAMILIES, *DORA_FAMILIES))
Sample = tuple[str, tuple[tuple[str, str], ...], float]


def gauges(text: str, families: Iterable[str] = GAUGES) -> list[Sample]:
    """The flow and DORA samples of a scrape, sorted, for exact comparison."""
    wanted = set(families)
    return sorted(s for s in samples(text) if s[0] in wanted)


def difference(expected: list[Sample], got: list[Sample], show: int = 6) -> str:
    """What separates `got` from `expected`, for a failure message: how many samples each side
    lacks, in which families, and the first few. A stalled worker shows samples missing or old,
    an inexact one the same series with other values: the counts alone look alike."""
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    families = sorted({name for name, _, _ in missing + extra})
    return (
        f"{len(missing)} samples missing, {len(extra)} not expected, in {families}; "
        f"missing {missing[:show]}; extra {extra[:show]}"
    )


def sample_value(text: str, name: str, **labels: str) -> float | None:
    wanted = tuple(sorted(labels.items()))
    return next((v for n, ls, v in samples(text) if n == name and ls == wanted), None)


def record(events: list[dict[str, Any]], path: Path) -> Path:
    """The events as JSON lines: what `report` reads."""
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    return path


def report_text(config: Path, recorded: Path) -> str:
    """`flowgauge report --format prom`, run as a user runs it."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowgauge",
            "report",
            "--format",
            "prom",
            "--config",
            str(config),
            str(recorded),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return out.stdout.decode()
