"""The config's `teams:` (people -> team): validated with the line of the mistake, and read as
the team of an event that names an assignee but no team."""

from __future__ import annotations

import pytest

from flowgauge.model.loader import ConfigError, parse_config

STREAM = """\
streams:
  - name: s
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: done, kind: done, states: [Done]}
"""


def test_teams_map_people_to_their_team() -> None:
    config = parse_config("teams:\n  pay: [ana, bo]\n  core: cy\n" + STREAM, "t.yaml")
    assert config.team_of() == {"ana": "pay", "bo": "pay", "cy": "core"}


def test_no_teams_is_an_empty_mapping() -> None:
    assert parse_config(STREAM, "t.yaml").team_of() == {}


@pytest.mark.parametrize(
    ("teams", "message"),
    [
        (
            "teams:\n  pay: [ana]\n  core: [ana]\n",
            "t.yaml:2: teams: Value error, 'ana' is in two teams: pay, core",
        ),
        (
            "teams:\n  pay: ['']\n",
            "t.yaml:2: teams: Value error, team 'pay': a person's name must not be empty",
        ),
        ("teams: [ana]\n", "t.yaml:1: teams: Input should be a valid dictionary"),
        ("teams:\n  pay: 3\n", "t.yaml:2: teams.pay: Input should be a valid tuple"),
    ],
)
def test_a_bad_teams_mapping_is_a_clear_error(teams: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(teams + STREAM, "t.yaml")
    assert caught.value.problems == [message]
