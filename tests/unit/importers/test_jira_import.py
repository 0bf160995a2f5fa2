"""`flowgauge import jira` against a Jira-like server over real HTTP: the import gives the same
`flowgauge report` as the webhooks did, resumes, adds nothing when run again, and fails clearly."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fake_jira import FakeJira, serving
from jira_world import EPICS, delivery_lines, webhooks, world

from flowgauge import cli
from flowgauge.importers import Policy
from flowgauge.importers.command import ImportOptions, run_command
from flowgauge.model import FlowEvent
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
      - {name: backlog,     kind: wait,   states: [To Do]}
      - {name: development, kind: active, states: [In Progress]}
      - {name: review,      kind: wait,   states: [In Review]}
      - {name: done,        kind: done,   states: [Done]}
dora:
  production: [production]
  window: 90d
"""
FAST = Policy(attempts=3, initial=0.01, maximum=0.05)
TOKEN = {"FLOWGAUGE_JIRA_API_TOKEN": "good-token"}


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
    return [e.id for e in events(config_file, *files)]


def events(config_file: Path, *files: Path) -> list[FlowEvent]:
    config = parse_config(config_file.read_text(), str(config_file))
    return sorted(read_events(list(files), config), key=lambda e: e.id)


def run(
    url: str, out: Path | None, tmp_path: Path, env: dict[str, str] = TOKEN, **extra: object
) -> int:
    options = ImportOptions(
        source="jira",
        url=url,
        selector="project in (ABC, OPS)",
        since=parse_duration("180d"),
        out=out,
        **{"progress": False, **extra},  # type: ignore[arg-type]
    )
    return run_command(Settings(data_dir=tmp_path / "data"), options, env=env, policy=FAST)


@pytest.fixture(params=["Cloud", "DataCenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[tuple[FakeJira, str]]:
    jira = FakeJira(world(11, issues=23), edition=request.param)
    with serving(jira) as url:
        yield jira, url


@pytest.fixture
def live(tmp_path: Path, fake: tuple[FakeJira, str]) -> Path:
    """The same history as the webhooks Jira sent while it happened."""
    path = tmp_path / "webhooks.jsonl"
    path.write_bytes(delivery_lines(webhooks(fake[0].issues)))
    return path


def test_import_gives_the_report_the_webhooks_gave(
    fake: tuple[FakeJira, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    jira, url = fake
    out = tmp_path / "import.jsonl"
    assert run(url, out, tmp_path) == 0
    assert prom(config_file, out) == prom(config_file, live)
    imported = events(config_file, out)
    assert imported == events(config_file, live)  # holders, parents and reasons included
    assert "flowgauge_lead_time_seconds" in prom(config_file, out)
    # the history has them all: assignees (and unassignments), parents, flags, dependencies
    assert {e.reason for e in imported if e.type == "unblocked"} == {"flag", "dependency"}
    assert {e.assignee for e in imported} >= {"", "712020:aa11", "712020:bb22"}
    assert {e.parent for e in imported} >= {"", "ABC-900", "OPS-901"}
    # former parents named by id only were looked up, once each
    lookups = [p for m, p in jira.requests if m == "GET" and p.split("/")[-1] in EPICS]
    assert lookups and len(lookups) == len(set(lookups))
    # one record per issue (item-grouped), several search pages, the since bound in the JQL
    assert len(out.read_bytes().splitlines()) == len(jira.issues)
    assert jira.searches == 5 and all('updated >= "' in q for q in jira.jql)
    assert all(q.startswith("(project in (ABC, OPS)) AND ") for q in jira.jql)


def test_import_overlapping_live_webhooks_counts_each_change_once(
    fake: tuple[FakeJira, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path) == 0
    assert prom(config_file, live, out) == prom(config_file, live)


def test_a_second_run_adds_nothing(
    fake: tuple[FakeJira, str], tmp_path: Path, config_file: Path
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run(fake[1], first, tmp_path) == 0
    assert run(fake[1], second, tmp_path) == 0
    assert events(config_file, second) == events(config_file, first)
    assert prom(config_file, first, second) == prom(config_file, first)
    assert run(fake[1], first, tmp_path) == 0  # a finished run, rerun: rewritten, not appended
    assert ids(config_file, first) == ids(config_file, second)


def test_an_interrupted_import_resumed_gives_the_same_numbers(
    fake: tuple[FakeJira, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jira, url = fake
    out = tmp_path / "import.jsonl"
    jira.outage_after = 2
    assert run(url, out, tmp_path) == 1
    error = capsys.readouterr().err
    assert "flowgauge import: jira:" in error and "answered 500" in error
    checkpoint = orjson.loads(out.with_name("import.jsonl.checkpoint").read_bytes())
    assert checkpoint["cursor"] is not None and not checkpoint["finished"]
    assert len(out.read_bytes().splitlines()) == 10  # two pages of five
    jira.outage_after, jira.searches = None, 0
    assert run(url, out, tmp_path) == 0
    assert jira.searches == 3  # resumed at the third page, not from the start
    assert "resumed" in capsys.readouterr().err
    assert prom(config_file, out) == prom(config_file, live)
    assert events(config_file, out) == events(config_file, live)  # holders, parents, reasons


def test_429_retry_after_is_honoured(
    fake: tuple[FakeJira, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    jira, url = fake
    jira.throttle = 2
    out = tmp_path / "import.jsonl"
    started = time.monotonic()
    assert run(url, out, tmp_path) == 0
    assert time.monotonic() - started >= 2.0  # twice Retry-After: 1, not the 10 ms backoff
    assert jira.throttle == 0
    assert prom(config_file, out) == prom(config_file, live)


def test_wrong_credentials_name_the_variables_to_set(
    fake: tuple[FakeJira, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path) == 0
    before = out.read_bytes()
    assert run(fake[1], out, tmp_path, env={"FLOWGAUGE_JIRA_API_TOKEN": "wrong"}) == 1
    assert out.read_bytes() == before  # a failed rerun leaves the last import's file whole
    error = capsys.readouterr().err
    assert "jira:" in error and "401" in error and "FLOWGAUGE_JIRA_API_TOKEN" in error
    assert "FLOWGAUGE_JIRA_EMAIL" in error
    assert run(fake[1], out, tmp_path, env={}) == 1
    assert "no credentials" in capsys.readouterr().err


def test_email_and_token_are_sent_as_basic_auth(fake: tuple[FakeJira, str], tmp_path: Path) -> None:
    jira, url = fake
    jira.authorization = "Basic " + base64.b64encode(b"me@acme.test:api-token").decode()
    env = {"FLOWGAUGE_JIRA_EMAIL": "me@acme.test", "FLOWGAUGE_JIRA_API_TOKEN": "api-token"}
    assert run(url, tmp_path / "import.jsonl", tmp_path, env=env) == 0


def test_a_page_that_is_not_jiras_is_a_clear_error(
    fake: tuple[FakeJira, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake[0].garbage = True
    assert run(fake[1], tmp_path / "import.jsonl", tmp_path) == 1
    error = capsys.readouterr().err
    assert "jira:" in error and "did not answer JSON" in error and "Log in" in error


def test_an_unreachable_host_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("http://127.0.0.1:9", tmp_path / "import.jsonl", tmp_path) == 1
    error = capsys.readouterr().err
    assert "jira: cannot reach http://127.0.0.1:9/rest/api/2/serverInfo" in error


def test_dry_run_counts_and_writes_nothing(
    fake: tuple[FakeJira, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "import.jsonl"
    assert run(fake[1], out, tmp_path, dry_run=True) == 0
    assert not out.exists() and not out.with_name("import.jsonl.checkpoint").exists()
    normalize = REGISTRY["jira"].normalize
    events = sum(len(normalize(h, b)) for h, b in webhooks(fake[0].issues))  # before routing
    assert f"23 items, {events} events" in capsys.readouterr().err


def test_the_commands_import_then_report(
    fake: tuple[FakeJira, str],
    live: Path,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWGAUGE_JIRA_API_TOKEN", "good-token")
    monkeypatch.setenv("FLOWGAUGE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "import.jsonl"
    argv = ["import", "jira", "--url", fake[1], "--jql", "project = ABC", "--out", str(out)]
    assert cli.main([*argv, "--no-progress"]) == 0
    assert "23 items" in capsys.readouterr().err
    assert cli.main(["report", str(out), "--format", "prom", "--config", str(config_file)]) == 0
    imported = capsys.readouterr().out
    assert cli.main(["report", str(live), "--format", "prom", "--config", str(config_file)]) == 0
    assert imported == capsys.readouterr().out
    assert "flowgauge_throughput_items" in imported


def test_the_progress_bar_shows_items_of_the_total_events_and_rate(
    fake: tuple[FakeJira, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake[1], tmp_path / "import.jsonl", tmp_path, progress=True) == 0
    err = capsys.readouterr().err
    assert "import jira" in err and "23/23" in err and "events=" in err and "items/s" in err


def test_without_out_an_unreachable_broker_is_a_clear_error_before_any_request(
    fake: tuple[FakeJira, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ImportOptions("jira", fake[1], "project = ABC", parse_duration("30d"), progress=False)
    settings = Settings(kafka="127.0.0.1:9", data_dir=tmp_path)
    assert run_command(settings, options, env=TOKEN, policy=FAST) == 1
    assert (
        "jira: cannot reach the broker at 127.0.0.1:9 (FLOWGAUGE_KAFKA" in capsys.readouterr().err
    )
    assert fake[0].searches == 0


def test_a_former_parent_deleted_since_is_named_by_its_id(
    fake: tuple[FakeJira, str], live: Path, tmp_path: Path, config_file: Path
) -> None:
    """The changelog names some parents by issue id only; one deleted since cannot be looked up
    (404): its children name it by that id, the import does not fail (docs/sources/jira.md)."""
    jira, url = fake
    jira.deleted_epics = frozenset({"30003"})
    out = tmp_path / "import.jsonl"
    assert run(url, out, tmp_path) == 0
    imported, webhooks_gave = events(config_file, out), events(config_file, live)
    assert "30003" in {e.parent for e in imported} and "30003" not in {
        e.parent for e in webhooks_gave
    }
    assert [e.id for e in imported] == [e.id for e in webhooks_gave]
