"""`flowgauge import github` against a GitHub-like server over real HTTP, what is GitHub's alone:
both streams and DORA from one repository, the secondary rate limit waited out, an unknown
repository named. What every importer shows (the report the webhooks gave, resume, reruns, a 429,
errors) is test_import_contract.py's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_github import FakeGitHub
from import_cases import GITHUB


@pytest.fixture
def fake() -> Iterator[tuple[FakeGitHub, str]]:
    with GITHUB.served() as served:
        yield served


def test_the_history_feeds_both_streams_dora_and_holders(tmp_path: Path) -> None:
    """What the contract's sample-for-sample equality then proves the import gives."""
    live = GITHUB.live(GITHUB.fake(), tmp_path)
    text = GITHUB.prom(live)
    for family in (  # flow of both streams, and DORA from deployments, merges and commits
        'flowgauge_lead_time_seconds{quantile="0.5",stream="code-review"}',
        'flowgauge_lead_time_seconds{quantile="0.5",stream="issues"}',
        'flowgauge_dora_lead_time_for_changes_seconds{quantile="0.5",service="acme/shop"}',
        'flowgauge_dora_time_to_restore_seconds{quantile="0.5",service="acme/shop"}',
    ):
        assert family in text
    assert {e.assignee for e in GITHUB.events(live)} >= {"", "ana", "Bo"}


def test_the_secondary_rate_limit_is_waited_out(
    fake: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    """A 403 with `x-ratelimit-remaining: 0` waits until `x-ratelimit-reset`, 1-2 s away."""
    github, url = fake
    github.secondary = 1
    out = tmp_path / "import.jsonl"
    started = time.monotonic()
    assert GITHUB.run(url, out, tmp_path) == 0
    assert time.monotonic() - started >= 1.0
    assert github.secondary == 0
    assert GITHUB.prom(out) == GITHUB.prom(GITHUB.live(github, tmp_path))


def test_an_unknown_repository_is_named(
    fake: tuple[FakeGitHub, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert GITHUB.run(fake[1], tmp_path / "i.jsonl", tmp_path, selector="acme/nope") == 1
    assert "repository acme/nope not found" in capsys.readouterr().err
    assert GITHUB.run(fake[1], tmp_path / "i.jsonl", tmp_path, selector="not-a-repo") == 1
    assert "OWNER/NAME" in capsys.readouterr().err
