"""`flowgauge import gitlab` against a GitLab-like server over real HTTP, what is GitLab's alone:
any history imports as its hooks, holders, milestones and DORA carried, the since bound on every
list, an OAuth token sent as a bearer, an unknown project named. What every importer shows (the
report the hooks gave, resume, reruns, rate limits, errors) is test_import_contract.py's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_gitlab import FakeGitLab, serving
from gitlab_world import world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_cases import GITLAB, GITLAB_LINK, ToolCase


@pytest.fixture(params=[GITLAB, GITLAB_LINK], ids=["x-next-page", "link"])
def fake(request: pytest.FixtureRequest) -> Iterator[tuple[FakeGitLab, str]]:
    case: ToolCase[FakeGitLab] = request.param
    with case.served() as served:
        yield served


def test_the_hooks_carry_holders_milestones_and_dora(tmp_path: Path) -> None:
    """What the contract's event-for-event equality then proves the import carries."""
    live = GITLAB.live(GITLAB.fake(), tmp_path)
    assert "flowgauge_dora_deployment_frequency_per_day" in GITLAB.prom(live)
    held = [(e.assignee, e.parent) for e in GITLAB.events(live) if e.kind != "deployment"]
    assert {a for a, _ in held} >= {"", "ada", "bo"}
    assert any(p and p.startswith("gitlab:milestones/") for _, p in held)


def test_every_list_is_bounded_by_since(fake: tuple[FakeGitLab, str], tmp_path: Path) -> None:
    gitlab, url = fake
    assert GITLAB.run(url, tmp_path / "import.jsonl", tmp_path) == 0
    assert len(gitlab.updated_after) == gitlab.pages and all(gitlab.updated_after)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 10_000))
def test_any_history_imports_as_its_hooks(
    seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp_path = tmp_path_factory.mktemp("gl")
    gitlab = FakeGitLab(world(seed, items=9, deployments=3), sub_page=100)
    live = GITLAB.live(gitlab, tmp_path)
    with serving(gitlab) as url:
        out = tmp_path / "import.jsonl"
        assert GITLAB.run(url, out, tmp_path) == 0
    assert GITLAB.comparable_events(out) == GITLAB.comparable_events(live)
    assert GITLAB.prom(out) == GITLAB.prom(live)


def test_an_oauth_token_is_sent_as_a_bearer(fake: tuple[FakeGitLab, str], tmp_path: Path) -> None:
    env = {"FLOWGAUGE_GITLAB_TOKEN": "Bearer good-token"}
    assert GITLAB.run(fake[1], tmp_path / "import.jsonl", tmp_path, env=env) == 0
    wrong = {"FLOWGAUGE_GITLAB_TOKEN": "Bearer x"}
    assert GITLAB.run(fake[1], tmp_path / "i.jsonl", tmp_path, env=wrong) == 1


def test_an_unknown_project_is_named(
    fake: tuple[FakeGitLab, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert GITLAB.run(fake[1], tmp_path / "i.jsonl", tmp_path, selector="acme/nope") == 1
    assert "gitlab: project acme/nope not found" in capsys.readouterr().err
