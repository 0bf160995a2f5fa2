"""`flowgauge import jira` against a Jira-like server over real HTTP, what is Jira's alone: holders,
parents and reasons carried, former parents looked up once, the JQL bounded, email and token sent
as basic auth, a deleted former parent named by its id. What every importer shows (the report
the webhooks gave, resume, reruns, rate limits, errors) is test_import_contract.py's."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_jira import FakeJira
from import_cases import FAST, JIRA_CLOUD, JIRA_DC, ToolCase
from jira_world import EPICS

from flowgauge.importers.command import ImportOptions, run_command
from flowgauge.model.config import parse_duration
from flowgauge.settings import Settings

JIRA = JIRA_CLOUD


@pytest.fixture(params=[JIRA_CLOUD, JIRA_DC], ids=["Cloud", "DataCenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[tuple[FakeJira, str]]:
    case: ToolCase[FakeJira] = request.param
    with case.served() as served:
        yield served


def test_the_history_has_holders_parents_and_both_reasons(tmp_path: Path) -> None:
    """What the contract's event-for-event equality then proves the import carries."""
    sent = JIRA.events(JIRA.live(JIRA.fake(), tmp_path))
    assert {e.reason for e in sent if e.type == "unblocked"} == {"flag", "dependency"}
    assert {e.assignee for e in sent} >= {"", "712020:aa11", "712020:bb22"}
    assert {e.parent for e in sent} >= {"", "ABC-900", "OPS-901"}


def test_former_parents_are_looked_up_once_and_the_jql_is_bounded(
    fake: tuple[FakeJira, str], tmp_path: Path
) -> None:
    jira, url = fake
    assert JIRA.run(url, tmp_path / "import.jsonl", tmp_path) == 0
    # former parents named by id only were looked up, once each
    lookups = [p for m, p in jira.requests if m == "GET" and p.split("/")[-1] in EPICS]
    assert lookups and len(lookups) == len(set(lookups))
    # the since bound in every search's JQL, around the selector
    assert len(jira.jql) == jira.pages and all('updated >= "' in q for q in jira.jql)
    assert all(q.startswith("(project in (ABC, OPS)) AND ") for q in jira.jql)


def test_email_and_token_are_sent_as_basic_auth(fake: tuple[FakeJira, str], tmp_path: Path) -> None:
    jira, url = fake
    jira.authorization = "Basic " + base64.b64encode(b"me@acme.test:api-token").decode()
    env = {"FLOWGAUGE_JIRA_EMAIL": "me@acme.test", "FLOWGAUGE_JIRA_API_TOKEN": "api-token"}
    assert JIRA.run(url, tmp_path / "import.jsonl", tmp_path, env=env) == 0


def test_an_unreachable_host_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert JIRA.run("http://127.0.0.1:9", tmp_path / "import.jsonl", tmp_path) == 1
    error = capsys.readouterr().err
    assert "jira: cannot reach http://127.0.0.1:9/rest/api/2/serverInfo" in error


def test_the_progress_bar_shows_items_of_the_total_events_and_rate(
    fake: tuple[FakeJira, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert JIRA.run(fake[1], tmp_path / "import.jsonl", tmp_path, progress=True) == 0
    err = capsys.readouterr().err
    assert "import jira" in err and "23/23" in err and "events=" in err and "items/s" in err


def test_without_out_an_unreachable_broker_is_a_clear_error_before_any_request(
    fake: tuple[FakeJira, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ImportOptions("jira", fake[1], "project = ABC", parse_duration("30d"), progress=False)
    settings = Settings(kafka="127.0.0.1:9", data_dir=tmp_path)
    assert run_command(settings, options, env=JIRA.credentials, policy=FAST) == 1
    assert (
        "jira: cannot reach the broker at 127.0.0.1:9 (FLOWGAUGE_KAFKA" in capsys.readouterr().err
    )
    assert fake[0].pages == 0


def test_a_former_parent_deleted_since_is_named_by_its_id(
    fake: tuple[FakeJira, str], tmp_path: Path
) -> None:
    """The changelog names some parents by issue id only; one deleted since cannot be looked up
    (404): its children name it by that id, the import does not fail (docs/sources/jira.md)."""
    jira, url = fake
    jira.deleted_epics = frozenset({"30003"})
    out = tmp_path / "import.jsonl"
    assert JIRA.run(url, out, tmp_path) == 0
    imported, webhooks_gave = JIRA.events(out), JIRA.events(JIRA.live(jira, tmp_path))
    assert "30003" in {e.parent for e in imported} and "30003" not in {
        e.parent for e in webhooks_gave
    }
    assert [e.id for e in imported] == [e.id for e in webhooks_gave]
