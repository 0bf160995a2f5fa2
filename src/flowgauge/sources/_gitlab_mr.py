"""GitLab merged merge requests: the commit they landed as stands for their commits (DORA).

A merge request hook with action `merge` names the merge request's head (`last_commit`: id and
commit time) and, once merged, the commit it landed as on the target branch: `squash_commit_sha`
when it was squashed, `merge_commit_sha` when a merge commit was made (both when squashed and
merged with a merge commit). As for a merged GitHub pull request (`_github_pr.py`), each landed
commit gets a `commit` event of kind `pull_request` listing the head then that commit, so the
engine gives the landed commit the earliest commit time it knows of the head and of what the
head's pushes brought (docs/dora.md, "Squash merges"). Unlike GitHub, GitLab gives the head's
commit time, so it is reported too. A fast-forward merge without squash lands the head itself:
nothing to map.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowgauge.model import Change
from flowgauge.sources._native import Batch, dig, opt_text, opt_when

#: Which fields name the commit a merge request landed as, in the order they are reported.
LANDED = ("squash_commit_sha", "merge_commit_sha")


def merge_commits(batch: Batch, attrs: dict[str, Any], path: str, at: datetime) -> None:
    """`commit` events mapping a merged merge request's landed commits to its head."""
    head = opt_text(dig(attrs, "last_commit", "id"))
    if head is None:
        return
    stamp = dig(attrs, "last_commit", "timestamp")
    head_change = Change(id=head, committed_at=opt_when(stamp, "last_commit.timestamp"))
    landed = dict.fromkeys(opt_text(attrs.get(field)) for field in LANDED)
    for sha in landed:
        if sha is None or sha == head:
            continue
        batch.add(
            "commit",
            item=f"gitlab:{path}/commits/{sha}",
            at=at,
            project=path,
            kind="pull_request",
            service=path,
            changes=(head_change, Change(id=sha)),
        )
