"""Render the boards to `grafana/dashboards/*.json`, or check that the committed JSON is fresh."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from flowgauge_boards import BOARDS, value_stream_map
from flowgauge_boards.panels import Board

OUT = Path(__file__).resolve().parents[1] / "dashboards"


def render(board: Board) -> str:
    """Stable JSON: sorted keys, two-space indent, a final newline."""
    return (
        json.dumps(json.loads(JSONEncoder().encode(board.build())), sort_keys=True, indent=2) + "\n"
    )


def build_all() -> dict[str, str]:
    """File name -> JSON text of every board (the value stream map lays its canvas out from the
    built-in config: value_stream_map.py)."""
    built = {name: render(make()) for name, make in BOARDS.items()}
    built[value_stream_map.FILE] = value_stream_map.render_json()
    return built


def stale(out: Path = OUT) -> list[str]:
    """Files under `out` that differ from a fresh build (missing, changed, or extra)."""
    fresh = build_all()
    problems = [n for n, t in fresh.items() if not (out / n).exists() or (out / n).read_text() != t]
    problems += sorted(p.name for p in out.glob("*.json") if p.name not in fresh)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for name in problems:
            print(f"stale: grafana/dashboards/{name} (run python grafana/generate.py)")
        return 1 if problems else 0
    OUT.mkdir(exist_ok=True)
    for name, content in build_all().items():
        (OUT / name).write_text(content)
        print(f"wrote grafana/dashboards/{name}")
    return 0
