"""GitLab blocking issues ("is blocked by" links): `blocked` / `unblocked` with reason `dependency`.

GitLab sends no hook when issues are linked or unlinked, so live webhooks cannot see
dependencies. `flowgauge import gitlab` reads them (`GET /projects/:id/issues/:iid/links`, the
links of type `is_blocked_by`, each with `link_created_at` and the blocking issue's `state` and
`closed_at`) and sends one delivery of flowgauge's own kind `issue_links`:

    {"object_kind": "issue_links", "project": {"path_with_namespace": "acme/shop"},
     "object_attributes": {"iid": 9},
     "blocked_by": [{"link_created_at": "...", "state": "closed", "closed_at": "..."}, ...]}

The issue is blocked for reason `dependency` while at least one blocker is linked and not closed:
`blocked` when the first one starts, `unblocked` when the last one closes (a blocker linked and
closed at the same instant as another starts keeps it blocked). Ids name the change:
`gitlab:<path>#<iid>@<epoch seconds>/blocked:dependency` (and `unblocked:`), the same on every
import, so a rerun counts nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowgauge.sources._gitlab_change import change_id
from flowgauge.sources._native import Batch, dig, need_text, opt_text, opt_when, when

REASON = "dependency"


def _spans(blockers: list[Any]) -> list[tuple[datetime, int]]:
    """(instant, +1 blocker starts / -1 blocker ends), starts first at equal instants."""
    points: list[tuple[datetime, int]] = []
    for blocker in blockers:
        if not isinstance(blocker, dict):
            continue
        start = when((blocker.get("link_created_at"), "blocked_by[].link_created_at"))
        end = None
        if opt_text(blocker.get("state")) == "closed":
            end = opt_when(blocker.get("closed_at"), "blocked_by[].closed_at") or when(
                (blocker.get("updated_at"), "blocked_by[].updated_at")
            )
        if end is not None and end <= start:  # closed before it was linked: never blocked
            continue
        points.append((start, 1))
        if end is not None:
            points.append((end, -1))
    return sorted(points, key=lambda p: (p[0], -p[1]))


def issue_links(batch: Batch, payload: dict[str, Any]) -> None:
    """The dependency-blocked spans of one issue as `blocked` / `unblocked` events."""
    path = need_text(dig(payload, "project", "path_with_namespace"), "project.path_with_namespace")
    iid = need_text(dig(payload, "object_attributes", "iid"), "object_attributes.iid")
    blockers = payload.get("blocked_by")
    item = f"gitlab:{path}#{iid}"
    open_blockers = 0
    for at, step in _spans(blockers if isinstance(blockers, list) else []):
        before, open_blockers = open_blockers, open_blockers + step
        if (before == 0) == (open_blockers == 0):
            continue
        type_ = "blocked" if open_blockers else "unblocked"
        batch.add(type_, item=item, at=at, project=path, kind="issue", reason=REASON)
        event = batch.events[-1]
        batch.events[-1] = event.model_copy(update={"id": change_id(item, at, f"{type_}:{REASON}")})
