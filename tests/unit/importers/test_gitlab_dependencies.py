"""GitLab blocking issues, which no hook reports: the import adds `blocked` / `unblocked` with
reason `dependency` while at least one blocker is open, and nothing else."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fake_gitlab import FakeGitLab, serving
from gitlab_api import closed_at
from gitlab_world import PATH, World, world
from import_cases import GITLAB


def expected(w: World) -> set[tuple[str, str, int]]:
    """An independent oracle: walk each issue's blocker intervals instant by instant."""
    out: set[tuple[str, str, int]] = set()
    for item in w.items:
        spans: list[tuple[datetime, datetime | None]] = []
        for iid, linked in item.blockers:
            blocker = next(i for i in w.items if i.kind == "issue" and i.iid == iid)
            closed = closed_at(blocker)
            if closed is None or closed > linked:
                spans.append((linked, closed))
        instants = sorted({t for span in spans for t in span if t is not None})
        was = False
        for t in instants:
            now = any(start <= t and (end is None or t < end) for start, end in spans)
            if now != was:
                item_id = f"gitlab:{PATH}#{item.iid}"
                out.add((item_id, "blocked" if now else "unblocked", int(t.timestamp())))
            was = now
    return out


def test_blocking_issues_are_dependency_blocks(tmp_path: Path) -> None:
    gitlab = FakeGitLab(world(17, items=24, links=True), sub_page=100)
    live = GITLAB.live(gitlab, tmp_path)
    with serving(gitlab) as url:
        out = tmp_path / "import.jsonl"
        assert GITLAB.run(url, out, tmp_path) == 0
        again = tmp_path / "again.jsonl"
        assert GITLAB.run(url, again, tmp_path) == 0
    hooks = {e.id for e in GITLAB.events(live)}
    imported = GITLAB.events(out)  # deployments aside: their ids are the delivery's
    extra = [e for e in imported if e.id not in hooks and e.kind != "deployment"]
    assert all(e.reason == "dependency" and e.kind == "issue" for e in extra), [
        e.id for e in extra if e.reason is None
    ]
    got = {(e.item, e.type, int(e.at.timestamp())) for e in extra}
    assert got == expected(gitlab.world) and got  # the world has some
    assert [e.id for e in GITLAB.events(again)] == [e.id for e in GITLAB.events(out)]
