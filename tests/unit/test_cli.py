"""The commands a user runs without a broker: check-config and report."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from flowgauge.cli import main

GOOD = """\
clock: event
streams:
  - name: delivery
    window: 30d
    stages:
      - {name: backlog, kind: wait, states: [Todo]}
      - {name: dev, kind: active, states: [Doing]}
      - {name: done, kind: done, states: [Done]}
"""

EVENTS = [
    {"id": "1", "type": "created", "item": "A", "at": "2026-11-01T00:00:00Z", "state": "Todo"},
    {"id": "2", "type": "state", "item": "A", "at": "2026-11-01T06:00:00Z", "state": "Doing"},
    {"id": "3", "type": "state", "item": "A", "at": "2026-11-02T00:00:00Z", "state": "Done"},
    {"id": "4", "type": "created", "item": "B", "at": "2026-11-01T12:00:00Z"},
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_check_config_accepts_a_good_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(write(tmp_path, "ok.yaml", GOOD))]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_names_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = GOOD.replace("kind: active", "kind: busy").replace("window: 30d", "window: soon")
    path = write(tmp_path, "bad.yaml", bad)
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:4: streams.0.window:" in err
    assert f"{path}:7: streams.0.stages.1.kind:" in err


def test_check_config_refuses_a_commitment_that_is_no_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "c.yaml", GOOD.replace("window: 30d", "window: 30d\n    commitment: qa"))
    assert main(["check-config", str(path)]) == 1
    assert "commitment 'qa' is not a stage" in capsys.readouterr().err


FORECASTS = """\
    sle: 10d
    forecast: {history: 30d}
    forecasts:
      - {name: checkout-epic, match: {parent: ACME-100}, due: 2026-12-31}
      - {name: bugs, match: {item_type: [bug, defect]}}
"""


def test_check_config_accepts_the_contract_forecasts_parent_included(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, "f.yaml", GOOD.replace("    window: 30d\n", "    window: 30d\n" + FORECASTS)
    )
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning" not in out  # events carry parent and team now (issue 20)
    assert out.endswith("OK\n")


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("history: 30d", "history: 1.5d", 6, "streams.0.forecast.history", "whole number of days"),
        ("history: 30d", "history: 0d", 6, "streams.0.forecast.history", "whole number of days"),
        ("history: 30d", "history: 36h", 6, "streams.0.forecast.history", "whole number of days"),
        ("name: checkout-epic", "name: wip", 8, "streams.0.forecasts.0.name", "`wip` is the"),
        ("match: {parent: ACME-100}", "match: {}", 8, "streams.0.forecasts.0.match", "one of"),
        ("parent: ACME-100", "epic: A", 8, "streams.0.forecasts.0.match.epic", "Extra inputs"),
        ("due: 2026-12-31", "due: soon", 8, "streams.0.forecasts.0.due", "valid date"),
        ("name: checkout-epic", "name: bugs", 3, "streams.0", "forecasts names must be unique"),
    ],
)
def test_check_config_names_the_forecast_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    line: int,
    field: str,
    message: str,
) -> None:
    forecasts = FORECASTS.replace(old, new, 1)
    text = GOOD.replace("    window: 30d\n", "    window: 30d\n" + forecasts)
    path = write(tmp_path, "f.yaml", text)
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:{line}: {field}:" in err and message in err, err


def test_report_formats_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, "c.yaml", GOOD)
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS))
    assert main(["report", "--config", str(config), "--format", "json", str(events)]) == 0
    rows = orjson.loads(capsys.readouterr().out)
    values = {(r["name"], tuple(sorted(r["labels"].items()))): r["value"] for r in rows}
    # A: created 00:00, done the next day: lead 24 h, cycle 18 h; now = latest event (Nov 2).
    assert (
        values[("flowgauge_lead_time_seconds", (("quantile", "0.5"), ("stream", "delivery")))]
        == 86_400.0
    )
    assert (
        values[("flowgauge_cycle_time_seconds", (("quantile", "0.5"), ("stream", "delivery")))]
        == 64_800.0
    )
    assert values[("flowgauge_wip_items", (("stage", "backlog"), ("stream", "delivery")))] == 1.0
    assert values[("flowgauge_throughput_items", (("stream", "delivery"),))] == 1.0
    assert main(["report", "--config", str(config), "--format", "prom", str(events)]) == 0
    prom = capsys.readouterr().out
    assert 'flowgauge_throughput_items{stream="delivery"} 1.0' in prom
    assert main(["report", "--config", str(config), "--format", "csv", str(events)]) == 0
    assert "flowgauge_throughput_items,stream=delivery,1.0" in capsys.readouterr().out


def test_report_compare_shows_the_change_against_a_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "c.yaml", GOOD)
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS[:3]))
    assert main(["report", "--config", str(config), "--format", "json", str(events)]) == 0
    baseline = write(tmp_path, "baseline.json", capsys.readouterr().out)
    events.write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS))
    assert main(["report", "--config", str(config), "--compare", str(baseline), str(events)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("wip_items  stage=backlog"))
    assert line.split()[2:] == ["0", "1", "+1", "worse"]  # more WIP is worse


def test_report_names_the_line_of_a_bad_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text(
        '{"id": "1", "type": "created", "item": "A", "at": "2026-11-01T00:00:00Z"}\nnot json\n'
    )
    assert main(["report", str(events)]) == 1
    assert f"{events}:2: not JSON" in capsys.readouterr().err


def test_report_counts_state_events_that_map_to_no_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "c.yaml", GOOD)
    events = tmp_path / "e.jsonl"
    unmapped = {
        "id": "5",
        "type": "state",
        "item": "B",
        "at": "2026-11-01T13:00:00Z",
        "state": "Somewhere",
    }
    events.write_bytes(b"\n".join(orjson.dumps(e) for e in [*EVENTS, unmapped]))
    assert main(["report", "--config", str(config), "--format", "prom", str(events)]) == 0
    prom = capsys.readouterr().out
    assert 'flowgauge_unmapped_state_events{stream="delivery"} 1.0' in prom
    assert 'flowgauge_wip_items{stage="backlog",stream="delivery"} 1.0' in prom  # B did not move


def test_report_table_says_one_sentence_per_forecast_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """History of 2 days: 0 completions, then 2 (A, C): days of 0 or 2, equally likely.
    Two started items remain, P(S_d >= 2) = 1 - 2^-d: 85 % after 3 days (7/8). `bugs` holds
    one bug (B, not started): P(S_d >= 1) is the same, 1 - 2^-d; its due date 2026-11-03 ends
    (24:00 UTC) 2 whole days after now (2026-11-02T00:00): 3/4."""
    cfg = GOOD.replace(
        "    window: 30d\n",
        "    window: 30d\n    forecast: {history: 2d}\n    forecasts:\n"
        "      - {name: bugs, match: {item_type: bug}, due: 2026-11-03}\n",
    )
    more = [
        {"id": "5", "type": "created", "item": "C", "at": "2026-11-01T06:00:00Z", "state": "Doing"},
        {"id": "6", "type": "state", "item": "C", "at": "2026-11-01T07:00:00Z", "state": "Done"},
        {"id": "7", "type": "created", "item": "D", "at": "2026-11-01T08:00:00Z", "state": "Doing"},
        {"id": "8", "type": "created", "item": "E", "at": "2026-11-01T09:00:00Z", "state": "Doing"},
        {
            "id": "9",
            "type": "state",
            "item": "B",
            "at": "2026-11-01T12:00:00Z",
            "item_type": "bug",
            "state": "Todo",
        },
    ]
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(orjson.dumps(e) for e in [*EVENTS, *more]))
    assert main(["report", "--config", str(write(tmp_path, "c.yaml", cfg)), str(events)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "delivery/wip: 85 % chance to finish the 2 remaining items by 2026-11-05.",
        "delivery/bugs: 85 % chance to finish the 1 remaining item by 2026-11-05; "
        "75 % chance by the due date 2026-11-03.",
    ]
