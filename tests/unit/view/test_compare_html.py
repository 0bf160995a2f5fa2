"""`--compare` judges each change in the metric's own direction; `--format html` is one file
that carries everything it shows (no external reference)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
import yaml
from view_history import CONFIG, history

from flowgauge.cli import main
from flowgauge.view.compare import changes, verdict


@pytest.mark.parametrize(
    ("name", "labels", "old", "new", "expected"),
    [
        ("flowgauge_lead_time_seconds", {"quantile": "0.85"}, 10.0, 8.0, "better"),
        ("flowgauge_cycle_time_seconds", {"quantile": "0.5"}, 10.0, 12.0, "worse"),
        ("flowgauge_throughput_items", {}, 10.0, 12.0, "better"),
        ("flowgauge_throughput_items", {}, 10.0, 9.0, "worse"),
        ("flowgauge_flow_efficiency_ratio", {}, 0.3, 0.4, "better"),
        ("flowgauge_wip_items", {"stage": "dev"}, 3.0, 5.0, "worse"),
        ("flowgauge_dora_deployment_frequency_per_day", {}, 1.0, 2.0, "better"),
        ("flowgauge_dora_change_failure_ratio", {}, 0.1, 0.2, "worse"),
        ("flowgauge_stage_seconds", {"kind": "wait"}, 100.0, 50.0, "better"),
        ("flowgauge_stage_seconds", {"kind": "active"}, 100.0, 50.0, "changed"),
        ("flowgauge_bottleneck", {}, 0.0, 1.0, "changed"),
        ("flowgauge_lead_time_seconds", {}, 5.0, 5.0, "same"),
    ],
)
def test_each_metric_knows_its_better_direction(
    name: str, labels: dict[str, str], old: float, new: float, expected: str
) -> None:
    assert verdict(name, labels, old, new) == expected


def test_changes_cover_the_stream_sums_the_page_shows() -> None:
    base = [
        ("flowgauge_wip_items", (("stage", "a"), ("stream", "s")), 2.0),
        ("flowgauge_wip_items", (("stage", "b"), ("stream", "s")), 3.0),
        ("flowgauge_throughput_items", (("stream", "s"),), 4.0),
    ]
    now = [
        ("flowgauge_wip_items", (("stage", "a"), ("stream", "s")), 1.0),
        ("flowgauge_wip_items", (("stage", "b"), ("stream", "s")), 1.0),
    ]
    got = changes(now, base)
    assert got['sum:flowgauge_wip_items{stream="s"}'] == {"baseline": 5.0, "change": "better"}
    assert got['flowgauge_wip_items{stage="b",stream="s"}'] == {"baseline": 3.0, "change": "better"}
    assert got['flowgauge_throughput_items{stream="s"}']["change"] == "gone"


def _embedded(html: str, element: str) -> object:
    found = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', html, re.S)
    assert found is not None
    return orjson.loads(found.group(1).replace("<\\/", "</"))


def test_html_report_is_self_contained_and_marks_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    events = history(8, n_items=40)
    before.write_bytes(b"\n".join(orjson.dumps(e) for e in events[: len(events) // 2]))
    after.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    args = ["report", "--config", str(config)]
    assert main([*args, "--format", "json", str(before)]) == 0
    baseline = tmp_path / "baseline.json"
    baseline.write_text(capsys.readouterr().out)
    out = tmp_path / "r.html"
    assert (
        main([*args, "--format", "html", "-o", str(out), "--compare", str(baseline), str(after)])
        == 0
    )
    html = out.read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"(?!data:)", html)  # nothing external
    model = _embedded(html, "flowgauge-view")
    assert isinstance(model, dict) and [s["name"] for s in model["streams"]] == [
        "delivery",
        "empty",
    ]
    marks = _embedded(html, "flowgauge-compare")
    assert isinstance(marks, dict)
    wip = marks['sum:flowgauge_wip_items{stream="delivery"}']
    assert wip["baseline"] == sum(
        r["value"]
        for r in orjson.loads(baseline.read_text())
        if r["name"] == "flowgauge_wip_items" and r["labels"]["stream"] == "delivery"
    )
    assert {m["change"] for m in marks.values()} >= {"better", "worse"}
    assert main([*args, "--format", "html", str(after)]) == 2  # -o is required


def test_a_baseline_that_is_no_report_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(orjson.dumps(e) for e in history(8, n_items=5)))
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    assert main(["report", "--config", str(config), "--compare", str(bad), str(events)]) == 1
    assert "not a report --format json" in capsys.readouterr().err
