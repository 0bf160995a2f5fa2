"""`flowgauge import linear` against a Linear-like GraphQL server over real HTTP, what is Linear's
alone: the team asked by its key, Linear's own rate limits (RATELIMITED, the complexity budget)
waited out, a key refused in a GraphQL error, an unknown team named. What every importer shows
(the report the webhooks gave, resume, reruns, a 429, errors) is test_import_contract.py's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_linear import FakeLinear
from import_cases import LINEAR

from flowgauge.importers.linear import reset_wait
from flowgauge.sources import REGISTRY


@pytest.fixture
def fake() -> Iterator[tuple[FakeLinear, str]]:
    with LINEAR.served() as served:
        yield served


def test_the_world_has_what_the_import_must_carry() -> None:
    """What the contract's event-for-event equality then proves the import carries."""
    normalize = REGISTRY["linear"].normalize
    events = [e for h, b in LINEAR.hooks(LINEAR.fake()) for e in normalize(h, b)]
    types = {e.type for e in events}
    assert {"created", "state", "labeled", "unlabeled", "blocked", "unblocked", "deleted"} <= types
    assert {e.reason for e in events if e.type == "blocked"} == {"dependency"}
    assert len({e.assignee for e in events}) >= 3 and "" in {e.assignee for e in events}
    assert {"Printing", "Shipping"} & {e.parent for e in events}
    assert any((e.parent or "").startswith("linear:OPS-") for e in events)


def test_the_team_is_asked_once_by_its_key(fake: tuple[FakeLinear, str], tmp_path: Path) -> None:
    linear, url = fake
    assert LINEAR.run(url, tmp_path / "import.jsonl", tmp_path) == 0
    assert linear.teams_asked == ["OPS"]


@pytest.mark.parametrize("fault", ["ratelimited", "budget_low"])
def test_linears_own_rate_limits_are_waited_out(
    fault: str, fake: tuple[FakeLinear, str], tmp_path: Path
) -> None:
    """RATELIMITED until the reset header's time, and a spent complexity budget before the
    next query: each about a second, not the 10 ms backoff (a 429 is the contract's)."""
    linear, url = fake
    setattr(linear, fault, 1)
    out = tmp_path / "import.jsonl"
    started = time.monotonic()
    assert LINEAR.run(url, out, tmp_path) == 0
    assert time.monotonic() - started >= 0.5
    assert getattr(linear, fault) == 0
    assert LINEAR.prom(out) == LINEAR.prom(LINEAR.live(linear, tmp_path))


def test_a_wrong_key_refused_in_a_graphql_error_names_the_variable_too(
    fake: tuple[FakeLinear, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake[0].auth_status = 400
    env = {"FLOWGAUGE_LINEAR_API_KEY": "wrong"}
    assert LINEAR.run(fake[1], tmp_path / "import.jsonl", tmp_path, env=env) == 1
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
    assert LINEAR.run(fake[1], tmp_path / "import.jsonl", tmp_path, selector="NOPE") == 1
    assert "linear: no team with the key 'NOPE'" in capsys.readouterr().err
