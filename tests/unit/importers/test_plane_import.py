"""`flowgauge import plane` against a Plane-like REST server over real HTTP, what is Plane's alone:
the project named as WORKSPACE_SLUG/PROJECT_ID, an unknown one named. What every importer shows
(the report the webhooks gave, resume, reruns, a 429, errors) is test_import_contract.py's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_plane import FakePlane
from import_cases import PLANE
from plane_world import PROJECT, SLUG


@pytest.fixture
def fake() -> Iterator[tuple[FakePlane, str]]:
    with PLANE.served() as served:
        yield served


def test_the_project_is_named_as_workspace_and_id(
    fake: tuple[FakePlane, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import.jsonl"
    assert PLANE.run(fake[1], out, tmp_path, selector=f"{SLUG}/nope") == 1
    assert f"plane: no project 'nope' in workspace '{SLUG}'" in capsys.readouterr().err
    assert PLANE.run(fake[1], out, tmp_path, selector=PROJECT) == 1
    assert "give WORKSPACE_SLUG/PROJECT_ID" in capsys.readouterr().err
