"""`flowgauge report`'s default table, golden against a small generated history."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
import yaml
from view_history import CONFIG, history, processor

from flowgauge.cli import main
from flowgauge.report import forecast_sentences
from flowgauge.view.model import view
from flowgauge.view.table import render_text

GOLDEN = Path(__file__).parent / "golden" / "table.txt"


def test_the_table_is_the_golden_text() -> None:
    text = render_text(view(processor(history(7, n_items=14, n_deploys=4)), 0))
    if os.environ.get("FLOWGAUGE_REGOLD"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_report_prints_the_table_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(orjson.dumps(e) for e in history(7, n_items=14, n_deploys=4)))
    assert main(["report", "--config", str(config), str(events)]) == 0
    sentences = forecast_sentences(processor(history(7, n_items=14, n_deploys=4)).snapshot(0))
    assert sentences.startswith("delivery/wip: 85 % chance to finish the 6 remaining items by ")
    assert capsys.readouterr().out == GOLDEN.read_text() + sentences
