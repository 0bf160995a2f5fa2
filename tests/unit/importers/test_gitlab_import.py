"""`flowgauge import gitlab` against a GitLab-like server over real HTTP: the import gives the same
`flowgauge report` as the hooks did, resumes, adds nothing when run again, and fails clearly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fake_gitlab import FakeGitLab, serving
from gitlab_world import PATH, delivery_lines, webhooks, world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
  - name: delivery
    window: 90d
    commitment: development
    defect_types: [bug]
    blocked_labels: [blocked]
    stages:
      - {name: backlog,     kind: wait,   states: [opened]}
      - {name: development, kind: active, states: [workflow::doing]}
      - {name: review,      kind: wait,   states: [workflow::review]}
      - {name: done,        kind: done,   states: [closed, merged]}
dora:
  production: [production]
  production_tiers: [production]
  window: 90d
"""
FAST = Policy(attempts=3, initial=0.01, maximum=0.05)
TOKEN = {"FLOWGAUGE_GITLAB_TOKEN": "good-token"}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "flowgauge.yaml"
    path.write_text(CONFIG)
    return path


def prom(config_file: Path, *files: Path) -> str:
    from flowgauge import report

    config = parse_config(config_file.read_text(), str(config_file))
    return report.prom_text(report.build(list(files), config), wall_micros=0)


def ids(config_file: Path, *files: Path, items_only: bool = True) -> list[str]:
    config = parse_config(config_file.read_text(), str(config_file))
    events = read_events(list(files), config)
    return sorted(e.id for e in events if not items_only or e.kind != "deployment")


def run(
    url: str,
    out: Path | None,
    tmp_path: Path,
    env: dict[str, str] = TOKEN,
    project: str = PATH,
    **extra: object,
) -> int:
    options = ImportOptions(
        source="gitlab",
        url=url,
        selector=project,
        since=parse_duration("3650d"),
        out=out,
        **{"progress": False, **extra},  # type: ignore[arg-type]
    )
    return run_command(Settings(data_dir=tmp_path / "data"), options, env=env, policy=FAST)


@pytest.fixture(params=["x-next-page", "link"])
def fake(request: pytest.FixtureRequest) -> Iterator[tuple[FakeGitLab, str]]:
    gitlab = FakeGitLab(world(5, items=30), link_only=request.param == "link")
    with serving(gitlab) as url:
        yield gitlab, url


@pytest.fixture
def live(tmp_path: Path, fake: tuple[FakeGitLab, str]) -> Path:
    """The same history as the hooks GitLab sent while it happened."""
    path = tmp_path / "webhooks.jsonl"
    path.write_bytes(delivery_lines(webhooks(fake[0].world)))
    return path


def test_import_gives_the_report_the_webhooks_gave(
    fake: tuple[FakeGitLab, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    gitlab, url = fake
    out = tmp_path / "import.jsonl"
    assert run(url, out, tmp_path) == 0
    assert ids(config_file, out) == ids(config_file, live)
    assert prom(config_file, out) == prom(config_file, live)
    text = prom(config_file, out)
    assert "flowgauge_lead_time_seconds" in text
    assert "flowgauge_dora_deployment_frequency_per_day" in text
    # one record per object and deployment, several list pages, the since bound sent each time
    finished = [d for d in gitlab.world.deployments if d.status != "running"]  # running: no hook
    assert len(out.read_bytes().splitlines()) == len(gitlab.world.items) + len(finished)
    assert gitlab.lists == 3 + 2 + 1  # 20 issues, 10 merge requests, 6 deployments; 7 a page
    assert all(gitlab.updated_after)


def test_the_import_carries_holders_and_parents_as_the_hooks_did(
    fake: tuple[FakeGitLab, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path) == 0
    config = parse_config(config_file.read_text(), str(config_file))

    def held(path: Path) -> list[tuple[str, str | None, str | None]]:
        events = read_events([path], config)
        return sorted((e.id, e.assignee, e.parent) for e in events if e.kind != "deployment")

    imported = held(out)
    assert imported == held(live)
    assert {a for _, a, _ in imported} >= {"", "ada", "bo"}
    assert any(p and p.startswith("gitlab:milestones/") for _, _, p in imported)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 10_000))
def test_any_history_imports_as_its_hooks(
    seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp_path = tmp_path_factory.mktemp("gl")
    config_file = tmp_path / "flowgauge.yaml"
    config_file.write_text(CONFIG)
    gitlab = FakeGitLab(world(seed, items=9, deployments=3), sub_page=100)
    live = tmp_path / "webhooks.jsonl"
    live.write_bytes(delivery_lines(webhooks(gitlab.world)))
    with serving(gitlab) as url:
        out = tmp_path / "import.jsonl"
        assert run(url, out, tmp_path) == 0
    assert ids(config_file, out) == ids(config_file, live)
    assert prom(config_file, out) == prom(config_file, live)


def test_import_overlapping_live_webhooks_counts_each_change_once(
    fake: tuple[FakeGitLab, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path) == 0
    assert prom(config_file, live, out) == prom(config_file, live)


def test_a_second_run_adds_nothing(
    fake: tuple[FakeGitLab, str], tmp_path: Path, config_file: Path
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run(fake[1], first, tmp_path) == 0
    assert run(fake[1], second, tmp_path) == 0
    assert ids(config_file, second, items_only=False) == ids(config_file, first, items_only=False)
    assert prom(config_file, first, second) == prom(config_file, first)


def test_an_interrupted_import_resumed_gives_the_same_numbers(
    fake: tuple[FakeGitLab, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gitlab, url = fake
    out = tmp_path / "import.jsonl"
    gitlab.outage_after = 4  # three issue pages and one merge request page
    assert run(url, out, tmp_path) == 1
    error = capsys.readouterr().err
    assert "flowgauge import: gitlab:" in error and "answered 500" in error
    checkpoint = orjson.loads(out.with_name("import.jsonl.checkpoint").read_bytes())
    assert checkpoint["cursor"].startswith("merge_requests ") and not checkpoint["finished"]
    assert len(out.read_bytes().splitlines()) == 20 + 7
    gitlab.outage_after, gitlab.lists = None, 0
    assert run(url, out, tmp_path) == 0
    assert gitlab.lists == 2  # the second merge request page, then deployments
    assert "resumed" in capsys.readouterr().err
    assert prom(config_file, out) == prom(config_file, live)


def test_429_retry_after_is_honoured(
    fake: tuple[FakeGitLab, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    gitlab, url = fake
    gitlab.throttle = 2
    out = tmp_path / "import.jsonl"
    started = time.monotonic()
    assert run(url, out, tmp_path) == 0
    assert time.monotonic() - started >= 2.0  # twice Retry-After: 1, not the 10 ms backoff
    assert gitlab.throttle == 0
    assert prom(config_file, out) == prom(config_file, live)


def test_wrong_token_says_what_to_set(
    fake: tuple[FakeGitLab, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path, env={"FLOWGAUGE_GITLAB_TOKEN": "wrong"}) == 1
    error = capsys.readouterr().err
    assert "gitlab:" in error and "401" in error
    assert "FLOWGAUGE_GITLAB_TOKEN" in error and "read_api" in error
    assert run(fake[1], out, tmp_path, env={}) == 1
    assert "no credentials" in capsys.readouterr().err


def test_an_oauth_token_is_sent_as_a_bearer(fake: tuple[FakeGitLab, str], tmp_path: Path) -> None:
    env = {"FLOWGAUGE_GITLAB_TOKEN": "Bearer good-token"}
    assert run(fake[1], tmp_path / "import.jsonl", tmp_path, env=env) == 0
    assert (
        run(fake[1], tmp_path / "i.jsonl", tmp_path, env={"FLOWGAUGE_GITLAB_TOKEN": "Bearer x"})
        == 1
    )


def test_an_unknown_project_is_named(
    fake: tuple[FakeGitLab, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake[1], tmp_path / "i.jsonl", tmp_path, project="acme/nope") == 1
    error = capsys.readouterr().err
    assert "gitlab: project acme/nope not found" in error


def test_a_page_that_is_not_a_list_names_its_url(
    fake: tuple[FakeGitLab, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake[0].garbage = True
    assert run(fake[1], tmp_path / "import.jsonl", tmp_path) == 1
    error = capsys.readouterr().err
    issues = f"{fake[1]}/api/v4/projects/acme%2Fshop/issues"
    assert f"gitlab: {issues} did not answer a JSON list" in error


def test_dry_run_counts_and_writes_nothing(
    fake: tuple[FakeGitLab, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path, dry_run=True) == 0
    assert not out.exists()
    normalize = REGISTRY["gitlab"].normalize
    hooks = webhooks(fake[0].world)
    events = sum(len(normalize(h, b)) for h, b in hooks)
    assert f"36 items, {events} events" in capsys.readouterr().err


def test_the_commands_import_then_report(
    fake: tuple[FakeGitLab, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWGAUGE_GITLAB_TOKEN", "good-token")
    monkeypatch.setenv("FLOWGAUGE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "import.jsonl"
    argv = ["import", "gitlab", "--url", fake[1], "--project", PATH, "--since", "3650d"]
    assert cli.main([*argv, "--out", str(out), "--no-progress"]) == 0
    assert "36 items" in capsys.readouterr().err
    assert cli.main(["report", str(out), "--format", "prom", "--config", str(config_file)]) == 0
    imported = capsys.readouterr().out
    assert cli.main(["report", str(live), "--format", "prom", "--config", str(config_file)]) == 0
    assert imported == capsys.readouterr().out
    assert "flowgauge_throughput_items" in imported
