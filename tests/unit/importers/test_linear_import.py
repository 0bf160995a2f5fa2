"""`flowgauge import linear` against a Linear-like GraphQL server over real HTTP: the import gives
the same `flowgauge report` as the webhooks did, resumes, adds nothing when run again, honours
Linear's rate limits and fails clearly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fake_linear import FakeLinear, serving
from linear_world import delivery_lines, webhooks, world

from flowgauge import cli
from flowgauge.importers import Policy
from flowgauge.importers.command import ImportOptions, run_command
from flowgauge.importers.linear import reset_wait
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
      - {name: backlog,     kind: wait,   states: [Todo]}
      - {name: development, kind: active, states: [In Progress]}
      - {name: review,      kind: wait,   states: [In Review]}
      - {name: done,        kind: done,   states: [Done]}
"""
FAST = Policy(attempts=3, initial=0.01, maximum=0.05)
KEY = {"FLOWGAUGE_LINEAR_API_KEY": "lin_api_good"}


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
    url: str, out: Path | None, tmp_path: Path, env: dict[str, str] = KEY, **extra: object
) -> int:
    options = ImportOptions(
        source="linear",
        url=url,
        selector=str(extra.pop("team", "OPS")),
        since=parse_duration("365d"),
        out=out,
        **{"progress": False, **extra},  # type: ignore[arg-type]
    )
    return run_command(Settings(data_dir=tmp_path / "data"), options, env=env, policy=FAST)


@pytest.fixture
def fake() -> Iterator[tuple[FakeLinear, str]]:
    linear = FakeLinear(world(7, issues=23))
    with serving(linear) as url:
        yield linear, url


@pytest.fixture
def live(tmp_path: Path, fake: tuple[FakeLinear, str]) -> Path:
    """The same history as the webhooks Linear sent while it happened."""
    path = tmp_path / "webhooks.jsonl"
    path.write_bytes(delivery_lines(webhooks(fake[0].issues)))
    return path


def test_the_world_has_what_the_import_must_carry(fake: tuple[FakeLinear, str]) -> None:
    normalize = REGISTRY["linear"].normalize
    events = [e for h, b in webhooks(fake[0].issues) for e in normalize(h, b)]
    types = {e.type for e in events}
    assert {"created", "state", "labeled", "unlabeled", "blocked", "unblocked", "deleted"} <= types
    assert {e.reason for e in events if e.type == "blocked"} == {"dependency"}
    assert len({e.assignee for e in events}) >= 3 and "" in {e.assignee for e in events}
    assert {"Printing", "Shipping"} & {e.parent for e in events}
    assert any((e.parent or "").startswith("linear:OPS-") for e in events)


def test_import_gives_the_report_and_the_ids_the_webhooks_gave(
    fake: tuple[FakeLinear, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    linear, url = fake
    out = tmp_path / "import.jsonl"
    assert run(url, out, tmp_path) == 0
    assert ids(config_file, out) == ids(config_file, live)
    assert prom(config_file, out) == prom(config_file, live)
    assert "flowgauge_lead_time_seconds" in prom(config_file, out)
    assert len(out.read_bytes().splitlines()) == len(linear.issues)  # one record per issue
    assert linear.searches == 5 and linear.teams_asked == ["OPS"]


def test_import_overlapping_live_webhooks_counts_each_change_once(
    fake: tuple[FakeLinear, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path) == 0
    assert prom(config_file, live, out) == prom(config_file, live)


def test_a_second_run_adds_nothing(
    fake: tuple[FakeLinear, str], tmp_path: Path, config_file: Path
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run(fake[1], first, tmp_path) == 0
    assert run(fake[1], second, tmp_path) == 0
    assert ids(config_file, second) == ids(config_file, first)
    assert prom(config_file, first, second) == prom(config_file, first)


def test_an_interrupted_import_resumed_gives_the_same_numbers(
    fake: tuple[FakeLinear, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    linear, url = fake
    out = tmp_path / "import.jsonl"
    linear.outage_after = 2
    assert run(url, out, tmp_path) == 1
    assert "flowgauge import: linear:" in capsys.readouterr().err
    checkpoint = orjson.loads(out.with_name("import.jsonl.checkpoint").read_bytes())
    assert checkpoint["cursor"] is not None and not checkpoint["finished"]
    assert len(out.read_bytes().splitlines()) == 10
    linear.outage_after, linear.searches = None, 0
    assert run(url, out, tmp_path) == 0
    assert linear.searches == 3  # resumed at the third page
    assert "resumed" in capsys.readouterr().err
    assert prom(config_file, out) == prom(config_file, live)


@pytest.mark.parametrize("fault", ["ratelimited", "throttle", "budget_low"])
def test_rate_limits_are_waited_out(
    fault: str, fake: tuple[FakeLinear, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    """RATELIMITED until the reset header's time, 429 for its Retry-After, and a spent
    complexity budget before the next query: each about a second, not the 10 ms backoff."""
    linear, url = fake
    setattr(linear, fault, 1)
    out = tmp_path / "import.jsonl"
    started = time.monotonic()
    assert run(url, out, tmp_path) == 0
    assert time.monotonic() - started >= 0.5
    assert getattr(linear, fault) == 0
    assert prom(config_file, out) == prom(config_file, live)


def test_a_wrong_key_names_the_variable_to_set(
    fake: tuple[FakeLinear, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path, env={"FLOWGAUGE_LINEAR_API_KEY": "wrong"}) == 1
    error = capsys.readouterr().err
    assert "linear:" in error and "401" in error and "FLOWGAUGE_LINEAR_API_KEY" in error
    assert run(fake[1], out, tmp_path, env={}) == 1
    assert "no credentials" in capsys.readouterr().err


def test_a_wrong_key_refused_in_a_graphql_error_names_the_variable_too(
    fake: tuple[FakeLinear, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake[0].auth_status = 400
    env = {"FLOWGAUGE_LINEAR_API_KEY": "wrong"}
    assert run(fake[1], tmp_path / "import.jsonl", tmp_path, env=env) == 1
    error = capsys.readouterr().err
    assert f"linear: {fake[1]}/graphql refused the API key" in error
    assert "FLOWGAUGE_LINEAR_API_KEY" in error


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({}, None),
        ({"x-ratelimit-requests-remaining": "10", "x-ratelimit-requests-reset": "5000"}, None),
        ({"x-ratelimit-requests-remaining": "0", "x-ratelimit-requests-reset": "5000"}, 4.0),
        (  # the complexity left cannot pay for another query like the last one
            {
                "x-complexity": "500",
                "x-ratelimit-complexity-remaining": "499",
                "x-ratelimit-complexity-reset": "9000",
            },
            8.0,
        ),
        (
            {
                "x-complexity": "500",
                "x-ratelimit-complexity-remaining": "500",
                "x-ratelimit-complexity-reset": "9000",
            },
            None,
        ),
    ],
)
def test_reset_wait_reads_linears_budgets(headers: dict[str, str], wait: float | None) -> None:
    assert reset_wait(headers, now=1.0) == wait


def test_an_unknown_team_is_named(
    fake: tuple[FakeLinear, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake[1], tmp_path / "import.jsonl", tmp_path, team="NOPE") == 1
    assert "linear: no team with the key 'NOPE'" in capsys.readouterr().err


def test_a_page_that_is_not_linears_names_the_url(
    fake: tuple[FakeLinear, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake[0].garbage = True
    assert run(fake[1], tmp_path / "import.jsonl", tmp_path) == 1
    error = capsys.readouterr().err
    assert f"linear: {fake[1]}/graphql did not answer JSON" in error


def test_the_commands_import_then_report(
    fake: tuple[FakeLinear, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWGAUGE_LINEAR_API_KEY", "lin_api_good")
    monkeypatch.setenv("FLOWGAUGE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "import.jsonl"
    argv = ["import", "linear", "--url", fake[1], "--team", "OPS", "--since", "365d"]
    assert cli.main([*argv, "--out", str(out), "--no-progress"]) == 0
    assert "23 items" in capsys.readouterr().err
    assert cli.main(["report", str(out), "--format", "prom", "--config", str(config_file)]) == 0
    imported = capsys.readouterr().out
    assert cli.main(["report", str(live), "--format", "prom", "--config", str(config_file)]) == 0
    assert imported == capsys.readouterr().out
