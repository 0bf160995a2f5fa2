"""GitLab blocking issues, which no hook reports: the import adds `blocked` / `unblocked` with
reason `dependency` while at least one blocker is open, and nothing else."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fake_gitlab import FakeGitLab, serving
from gitlab_api import closed_at
from gitlab_world import PATH, World, delivery_lines, webhooks, world
from test_gitlab_import import CONFIG, run

from flowgauge.model.loader import parse_config
from flowgauge.records import read_events


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
    config_file = tmp_path / "flowgauge.yaml"
    config_file.write_text(CONFIG)
    config = parse_config(CONFIG, str(config_file))
    gitlab = FakeGitLab(world(17, items=24, links=True), sub_page=100)
    live = tmp_path / "webhooks.jsonl"
    live.write_bytes(delivery_lines(webhooks(gitlab.world)))
    with serving(gitlab) as url:
        out = tmp_path / "import.jsonl"
        assert run(url, out, tmp_path) == 0
        again = tmp_path / "again.jsonl"
        assert run(url, again, tmp_path) == 0
    hooks = {e.id for e in read_events([live], config)}
    imported = read_events([out], config)  # deployments aside: their ids are the delivery's
    extra = [e for e in imported if e.id not in hooks and e.kind != "deployment"]
    assert all(e.reason == "dependency" and e.kind == "issue" for e in extra), [
        e.id for e in extra if e.reason is None
    ]
    got = {(e.item, e.type, int(e.at.timestamp())) for e in extra}
    assert got == expected(gitlab.world) and got  # the world has some
    assert sorted(e.id for e in read_events([again], config)) == sorted(
        e.id for e in read_events([out], config)
    )
