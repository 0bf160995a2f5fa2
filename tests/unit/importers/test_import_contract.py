"""What every `flowgauge import <tool>` must show, against the tool's local API over real HTTP:
the import is the history the webhooks gave (the same report, sample for sample, and the same
events), an overlap with the live webhooks or a second run adds nothing, an interrupted import
resumed gives the same numbers, and rate limits, refused credentials and pages that are not the
API's are handled as docs/sources/README.md says. One test a property, every tool a parameter
(import_cases.py); what is a tool's alone stays in its test_<tool>_import.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from import_cases import CASES, ToolCase
from local_api import LocalAPI

from flowgauge import cli
from flowgauge.importers import IMPORTERS
from flowgauge.sources import REGISTRY

Case = ToolCase[Any]


@pytest.fixture(params=CASES, ids=[case.id for case in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    chosen: Case = request.param
    return chosen


@pytest.fixture
def fake(case: Case) -> Iterator[tuple[LocalAPI, str]]:
    with case.served() as served:
        yield served


@pytest.fixture
def live(case: Case, fake: tuple[LocalAPI, str], tmp_path: Path) -> Path:
    return case.live(fake[0], tmp_path)


def test_the_import_is_the_webhooks_sample_for_sample_and_event_for_event(
    case: Case, fake: tuple[LocalAPI, str], live: Path, tmp_path: Path
) -> None:
    api, url = fake
    out = tmp_path / "import.jsonl"
    assert case.run(url, out, tmp_path) == 0
    assert case.prom(out) == case.prom(live)
    assert "flowgauge_lead_time_seconds" in case.prom(out)
    imported = case.comparable_events(out)
    assert imported == case.comparable_events(live) and imported
    # one record a history, the main list read page by page
    assert len(out.read_bytes().splitlines()) == case.records(api)
    assert api.pages == case.pages


def test_an_import_overlapping_the_live_webhooks_counts_each_change_once(
    case: Case, fake: tuple[LocalAPI, str], live: Path, tmp_path: Path
) -> None:
    out = tmp_path / "import.jsonl"
    assert case.run(fake[1], out, tmp_path) == 0
    assert case.prom(live, out) == case.prom(live)


def test_a_second_run_adds_nothing(case: Case, fake: tuple[LocalAPI, str], tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert case.run(fake[1], first, tmp_path) == 0
    assert case.run(fake[1], second, tmp_path) == 0
    assert case.events(second) == case.events(first)
    assert case.prom(first, second) == case.prom(first)
    assert case.run(fake[1], first, tmp_path) == 0  # a finished run, rerun: rewritten, not appended
    assert case.events(first) == case.events(second)


def test_an_interrupted_import_resumed_gives_the_same_numbers(
    case: Case,
    fake: tuple[LocalAPI, str],
    live: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api, url = fake
    out = tmp_path / "import.jsonl"
    api.outage_after = case.outage_after
    assert case.run(url, out, tmp_path) == 1
    error = capsys.readouterr().err
    assert f"flowgauge import: {case.name}:" in error and "answered 500" in error
    checkpoint = orjson.loads(out.with_name("import.jsonl.checkpoint").read_bytes())
    assert checkpoint["cursor"] is not None and not checkpoint["finished"]
    assert checkpoint["cursor"].startswith(case.cursor)
    assert len(out.read_bytes().splitlines()) == case.cut_records
    api.outage_after, api.pages = None, 0
    assert case.run(url, out, tmp_path) == 0
    assert api.pages == case.pages - case.outage_after  # resumed where it stopped
    assert "resumed" in capsys.readouterr().err
    assert case.prom(out) == case.prom(live)
    assert case.comparable_events(out) == case.comparable_events(live)


def test_a_429_is_waited_out_for_its_retry_after(
    case: Case, fake: tuple[LocalAPI, str], live: Path, tmp_path: Path
) -> None:
    api, url = fake
    api.throttle = 2
    out = tmp_path / "import.jsonl"
    started = time.monotonic()
    assert case.run(url, out, tmp_path) == 0
    assert time.monotonic() - started >= 2.0  # twice Retry-After: 1, not the 10 ms backoff
    assert api.throttle == 0
    assert case.prom(out) == case.prom(live)


def test_a_refused_credential_names_the_variable_to_set(
    case: Case, fake: tuple[LocalAPI, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, wrong = tmp_path / "import.jsonl", {case.variable: "wrong"}
    assert case.run(fake[1], out, tmp_path, env=wrong) == 1
    assert not out.exists()
    error = capsys.readouterr().err
    assert f"{case.name}:" in error and "401" in error and case.variable in error
    assert all(hint in error for hint in case.hints)
    assert case.run(fake[1], out, tmp_path) == 0
    before = out.read_bytes()
    assert case.run(fake[1], out, tmp_path, env=wrong) == 1
    assert out.read_bytes() == before  # a failed rerun leaves the last import's file whole
    capsys.readouterr()
    assert case.run(fake[1], out, tmp_path, env={}) == 1
    assert f"{case.name}: no credentials" in capsys.readouterr().err


def test_a_page_that_is_not_the_apis_names_its_url(
    case: Case, fake: tuple[LocalAPI, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api, url = fake
    api.garbage = True
    assert case.run(url, tmp_path / "import.jsonl", tmp_path) == 1
    error = capsys.readouterr().err
    assert f"{case.name}: {url}{case.listing}" in error and case.not_the_api in error
    page = api.NOT_THE_API[1]
    if isinstance(page, str):  # an HTML page is quoted, for the reader to see what answered
        assert page in error


def test_a_dry_run_counts_the_webhooks_events_and_writes_nothing(
    case: Case, fake: tuple[LocalAPI, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api, url = fake
    out = tmp_path / "import.jsonl"
    assert case.run(url, out, tmp_path, dry_run=True) == 0
    assert not out.exists() and not out.with_name("import.jsonl.checkpoint").exists()
    normalize = REGISTRY[case.name].normalize
    events = sum(len(normalize(h, b)) for h, b in case.hooks(api))  # before routing
    assert f"{case.items(api)} items, {events} events" in capsys.readouterr().err


def test_the_commands_import_then_report(
    case: Case,
    fake: tuple[LocalAPI, str],
    live: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, url = fake
    monkeypatch.setenv(case.variable, case.credentials[case.variable])
    monkeypatch.setenv("FLOWGAUGE_DATA_DIR", str(tmp_path / "data"))
    config, out = tmp_path / "flowgauge.yaml", tmp_path / "import.jsonl"
    config.write_text(case.config)
    argv = ["import", case.name, "--url", url, f"--{IMPORTERS[case.name].selector}", case.selector]
    assert cli.main([*argv, "--since", case.since, "--out", str(out), "--no-progress"]) == 0
    assert f"{case.items(api)} items" in capsys.readouterr().err
    assert cli.main(["report", str(out), "--format", "prom", "--config", str(config)]) == 0
    imported = capsys.readouterr().out
    assert cli.main(["report", str(live), "--format", "prom", "--config", str(config)]) == 0
    assert imported == capsys.readouterr().out
    assert "flowgauge_throughput_items" in imported
