"""`flowgauge import plane` against a Plane-like REST server over real HTTP: the import gives the
same `flowgauge report` as the webhooks did, resumes, adds nothing when run again, and fails
clearly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fake_plane import FakePlane, serving
from plane_world import PROJECT, SLUG, delivery_lines, webhooks, world

from flowgauge import cli
from flowgauge.importers import Policy
from flowgauge.importers.command import ImportOptions, run_command
from flowgauge.model.config import parse_duration
from flowgauge.model.loader import parse_config
from flowgauge.records import read_events
from flowgauge.settings import Settings

CONFIG = """
clock: event
streams:
  - name: delivery
    window: 90d
    commitment: development
    defect_types: [bug]
    blocked_labels: [lb-blocked]
    stages:
      - {name: backlog,     kind: wait,   states: [st-backlog]}
      - {name: development, kind: active, states: [st-doing]}
      - {name: review,      kind: wait,   states: [st-review]}
      - {name: done,        kind: done,   states: [st-done]}
"""
FAST = Policy(attempts=3, initial=0.01, maximum=0.05)
KEY = {"FLOWGAUGE_PLANE_API_KEY": "plane_api_good"}
SELECTOR = f"{SLUG}/{PROJECT}"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "flowgauge.yaml"
    path.write_text(CONFIG)
    return path


def prom(config_file: Path, *files: Path) -> str:
    from flowgauge import report

    config = parse_config(config_file.read_text(), str(config_file))
    return report.prom_text(report.build(list(files), config), wall_micros=0)


def ids(config_file: Path, *files: Path) -> list[str]:
    config = parse_config(config_file.read_text(), str(config_file))
    return sorted(e.id for e in read_events(list(files), config))


def run(
    url: str,
    out: Path | None,
    tmp_path: Path,
    env: dict[str, str] = KEY,
    selector: str = SELECTOR,
    **extra: object,
) -> int:
    options = ImportOptions(
        source="plane",
        url=url,
        selector=selector,
        since=parse_duration("365d"),
        out=out,
        **{"progress": False, **extra},  # type: ignore[arg-type]
    )
    return run_command(Settings(data_dir=tmp_path / "data"), options, env=env, policy=FAST)


@pytest.fixture
def fake() -> Iterator[tuple[FakePlane, str]]:
    plane = FakePlane(world(7, items=23, changes=12))
    with serving(plane) as url:
        yield plane, url


@pytest.fixture
def live(tmp_path: Path, fake: tuple[FakePlane, str]) -> Path:
    path = tmp_path / "webhooks.jsonl"
    path.write_bytes(delivery_lines(webhooks(fake[0].items)))
    return path


def test_import_gives_the_report_and_the_ids_the_webhooks_gave(
    fake: tuple[FakePlane, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    plane, url = fake
    out = tmp_path / "import.jsonl"
    assert run(url, out, tmp_path) == 0
    assert ids(config_file, out) == ids(config_file, live)
    assert prom(config_file, out) == prom(config_file, live)
    assert "flowgauge_lead_time_seconds" in prom(config_file, out)
    assert len(out.read_bytes().splitlines()) == len(plane.items)
    assert plane.searches == 5


def test_a_second_run_and_an_overlap_with_live_webhooks_add_nothing(
    fake: tuple[FakePlane, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run(fake[1], first, tmp_path) == 0
    assert run(fake[1], second, tmp_path) == 0
    assert ids(config_file, second) == ids(config_file, first)
    assert prom(config_file, first, second) == prom(config_file, first)
    assert prom(config_file, live, first) == prom(config_file, live)


def test_an_interrupted_import_resumed_gives_the_same_numbers(
    fake: tuple[FakePlane, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plane, url = fake
    out = tmp_path / "import.jsonl"
    plane.outage_after = 2
    assert run(url, out, tmp_path) == 1
    assert "flowgauge import: plane:" in capsys.readouterr().err
    checkpoint = orjson.loads(out.with_name("import.jsonl.checkpoint").read_bytes())
    assert checkpoint["cursor"] is not None and not checkpoint["finished"]
    plane.outage_after, plane.searches = None, 0
    assert run(url, out, tmp_path) == 0
    assert plane.searches == 3
    assert "resumed" in capsys.readouterr().err
    assert prom(config_file, out) == prom(config_file, live)


def test_429_retry_after_is_honoured(
    fake: tuple[FakePlane, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    plane, url = fake
    plane.throttle = 1
    out = tmp_path / "import.jsonl"
    started = time.monotonic()
    assert run(url, out, tmp_path) == 0
    assert time.monotonic() - started >= 1.0
    assert plane.throttle == 0
    assert prom(config_file, out) == prom(config_file, live)


def test_clear_errors(
    fake: tuple[FakePlane, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path, env={"FLOWGAUGE_PLANE_API_KEY": "wrong"}) == 1
    error = capsys.readouterr().err
    assert "plane:" in error and "401" in error and "FLOWGAUGE_PLANE_API_KEY" in error
    assert run(fake[1], out, tmp_path, env={}) == 1
    assert "no credentials" in capsys.readouterr().err
    assert run(fake[1], out, tmp_path, selector=f"{SLUG}/nope") == 1
    assert f"plane: no project 'nope' in workspace '{SLUG}'" in capsys.readouterr().err
    assert run(fake[1], out, tmp_path, selector=PROJECT) == 1
    assert "give WORKSPACE_SLUG/PROJECT_ID" in capsys.readouterr().err
    fake[0].garbage = True
    assert run(fake[1], out, tmp_path) == 1
    assert f"{fake[1]}/api/v1/workspaces/{SLUG}/projects/{PROJECT}/work-items/" in (
        capsys.readouterr().err
    )


def test_the_commands_import_then_report(
    fake: tuple[FakePlane, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWGAUGE_PLANE_API_KEY", "plane_api_good")
    monkeypatch.setenv("FLOWGAUGE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "import.jsonl"
    argv = ["import", "plane", "--url", fake[1], "--project", SELECTOR, "--since", "365d"]
    assert cli.main([*argv, "--out", str(out), "--no-progress"]) == 0
    assert "23 items" in capsys.readouterr().err
    assert cli.main(["report", str(out), "--format", "prom", "--config", str(config_file)]) == 0
    imported = capsys.readouterr().out
    assert cli.main(["report", str(live), "--format", "prom", "--config", str(config_file)]) == 0
    assert imported == capsys.readouterr().out
