"""`flowgauge import github` against a GitHub-like server over real HTTP: the import gives the same
`flowgauge report` as the webhooks did, resumes, adds nothing when run again, waits out rate
limits, and fails clearly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fake_github import FakeGitHub, serving
from github_world import REPO, delivery_lines, webhooks, world

from flowgauge import cli
from flowgauge.importers import Policy
from flowgauge.importers.command import ImportOptions, run_command
from flowgauge.model.config import parse_duration
from flowgauge.model.loader import parse_config
from flowgauge.records import read_events
from flowgauge.settings import Settings
from flowgauge.sources import REGISTRY

CONFIG = """
clock: event
streams:
  - name: code-review
    match: {source: [github], kind: [pull_request]}
    window: 90d
    commitment: review
    blocked_labels: [blocked]
    stages:
      - {name: draft,  kind: active, states: [draft]}
      - {name: review, kind: wait,   states: [open, review_requested, changes_requested]}
      - {name: ready,  kind: wait,   states: [approved]}
      - {name: done,   kind: done,   states: [merged, closed]}
  - name: issues
    match: {source: [github], kind: [issue]}
    window: 90d
    commitment: backlog
    defect_types: [bug]
    blocked_labels: [blocked]
    stages:
      - {name: backlog, kind: active, states: [open]}
      - {name: done,    kind: done,   states: [closed]}
dora:
  production: [production]
  incident_labels: [incident]
  window: 90d
"""
FAST = Policy(attempts=3, initial=0.01, maximum=0.05)
TOKEN = {"FLOWGAUGE_GITHUB_TOKEN": "good-token"}
ITEMS = 30


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
    env: dict[str, str] = TOKEN,
    repo: str = REPO,
    **extra: object,
) -> int:
    options = ImportOptions(
        source="github",
        url=url,
        selector=repo,
        since=parse_duration("3650d"),
        out=out,
        **{"progress": False, **extra},  # type: ignore[arg-type]
    )
    return run_command(Settings(data_dir=tmp_path / "data"), options, env=env, policy=FAST)


@pytest.fixture
def fake() -> Iterator[tuple[FakeGitHub, str]]:
    github = FakeGitHub(world(5, items=ITEMS))
    with serving(github) as url:
        yield github, url


@pytest.fixture
def live(tmp_path: Path, fake: tuple[FakeGitHub, str]) -> Path:
    """The same history as the webhooks GitHub sent while it happened."""
    path = tmp_path / "webhooks.jsonl"
    path.write_bytes(delivery_lines(webhooks(fake[0].history)))
    return path


def test_import_gives_the_report_the_webhooks_gave(
    fake: tuple[FakeGitHub, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    github, url = fake
    out = tmp_path / "import.jsonl"
    assert run(url, out, tmp_path) == 0
    assert ids(config_file, out) == ids(config_file, live)
    assert prom(config_file, out) == prom(config_file, live)
    text = prom(config_file, out)
    for family in (  # flow of both streams, and DORA from deployments, merges and commits
        'flowgauge_lead_time_seconds{quantile="0.5",stream="code-review"}',
        'flowgauge_lead_time_seconds{quantile="0.5",stream="issues"}',
        'flowgauge_dora_lead_time_for_changes_seconds{quantile="0.5",service="acme/shop"}',
        'flowgauge_dora_time_to_restore_seconds{quantile="0.5",service="acme/shop"}',
    ):
        assert family in text
    # one record per item and per deployment; the list paged by its Link header
    items, deployments = len(github.history.items), len(github.history.deployments)
    assert len(out.read_bytes().splitlines()) == items + deployments
    assert github.listings == -(-ITEMS // github.page_cap)


def test_the_events_are_the_webhooks_events_field_by_field(
    fake: tuple[FakeGitHub, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    """Not only the numbers: every event (holder, labels, states, times) is the webhooks'."""
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path) == 0
    config = parse_config(config_file.read_text(), str(config_file))
    imported = sorted(read_events([out], config), key=lambda e: e.id)
    sent = sorted(read_events([live], config), key=lambda e: e.id)
    assert [e.model_dump() for e in imported] == [e.model_dump() for e in sent]
    assert {e.assignee for e in sent} >= {"", "ana", "Bo"}


def test_import_overlapping_live_webhooks_counts_each_change_once(
    fake: tuple[FakeGitHub, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path) == 0
    assert prom(config_file, live, out) == prom(config_file, live)


def test_a_second_run_adds_nothing(
    fake: tuple[FakeGitHub, str], tmp_path: Path, config_file: Path
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run(fake[1], first, tmp_path) == 0
    assert run(fake[1], second, tmp_path) == 0
    assert ids(config_file, second) == ids(config_file, first)
    assert prom(config_file, first, second) == prom(config_file, first)


def test_an_interrupted_import_resumed_gives_the_same_numbers(
    fake: tuple[FakeGitHub, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github, url = fake
    out = tmp_path / "import.jsonl"
    github.outage_after = 2
    assert run(url, out, tmp_path) == 1
    error = capsys.readouterr().err
    assert "flowgauge import: github:" in error and "answered 500" in error
    checkpoint = orjson.loads(out.with_name("import.jsonl.checkpoint").read_bytes())
    assert checkpoint["cursor"].startswith("issues|") and not checkpoint["finished"]
    assert len(out.read_bytes().splitlines()) == 2 * github.page_cap
    github.outage_after, github.listings = None, 0
    assert run(url, out, tmp_path) == 0
    assert github.listings == -(-ITEMS // github.page_cap) - 2  # resumed at the third page
    assert "resumed" in capsys.readouterr().err
    assert prom(config_file, out) == prom(config_file, live)


def test_429_retry_after_and_the_secondary_limit_are_waited_out(
    fake: tuple[FakeGitHub, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    github, url = fake
    github.throttle, github.secondary = 1, 1
    out = tmp_path / "import.jsonl"
    started = time.monotonic()
    assert run(url, out, tmp_path) == 0
    assert time.monotonic() - started >= 2.0  # Retry-After: 1, then the reset 1-2 s away
    assert github.throttle == github.secondary == 0
    assert prom(config_file, out) == prom(config_file, live)


def test_wrong_token_says_what_to_set(
    fake: tuple[FakeGitHub, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path, env={"FLOWGAUGE_GITHUB_TOKEN": "wrong"}) == 1
    error = capsys.readouterr().err
    assert "github:" in error and "401" in error and "FLOWGAUGE_GITHUB_TOKEN" in error
    assert not out.exists()
    assert run(fake[1], out, tmp_path, env={}) == 1
    assert "no credentials" in capsys.readouterr().err


def test_an_unknown_repository_is_named(
    fake: tuple[FakeGitHub, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake[1], tmp_path / "i.jsonl", tmp_path, repo="acme/nope") == 1
    assert "repository acme/nope not found" in capsys.readouterr().err
    assert run(fake[1], tmp_path / "i.jsonl", tmp_path, repo="not-a-repo") == 1
    assert "OWNER/NAME" in capsys.readouterr().err


def test_a_page_that_is_not_a_list_names_the_url(
    fake: tuple[FakeGitHub, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake[0].garbage = True
    assert run(fake[1], tmp_path / "import.jsonl", tmp_path) == 1
    error = capsys.readouterr().err
    assert f"{fake[1]}/repos/{REPO}/issues?" in error and "did not answer a JSON list" in error


def test_dry_run_counts_the_webhooks_events(
    fake: tuple[FakeGitHub, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path, dry_run=True) == 0
    assert not out.exists()
    normalize = REGISTRY["github"].normalize
    events = sum(len(normalize(h, b)) for h, b in webhooks(fake[0].history))
    items = ITEMS + len(fake[0].history.deployments)
    assert f"{items} items, {events} events" in capsys.readouterr().err


def test_the_commands_import_then_report(
    fake: tuple[FakeGitHub, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWGAUGE_GITHUB_TOKEN", "good-token")
    monkeypatch.setenv("FLOWGAUGE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "import.jsonl"
    argv = ["import", "github", "--url", fake[1], "--repo", REPO, "--out", str(out)]
    assert cli.main([*argv, "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["report", str(out), "--format", "prom", "--config", str(config_file)]) == 0
    imported = capsys.readouterr().out
    assert cli.main(["report", str(live), "--format", "prom", "--config", str(config_file)]) == 0
    assert imported == capsys.readouterr().out
