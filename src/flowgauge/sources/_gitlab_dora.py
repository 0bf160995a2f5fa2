"""GitLab deployments, pipelines and pushes: the DORA events of a project (docs/dora.md).

Finished deployments and the deploy jobs of finished pipelines are `deployment` events of their
commit, tagged with the environment's tier; a push is a `commit` event with the commit times it
lists. Kept apart from gitlab.py's issues and merge requests, one reason to change each.
"""

from __future__ import annotations

import re
from typing import Any

from flowgauge.model import Change
from flowgauge.model.events import TIER_TAG
from flowgauge.sources._native import (
    Batch,
    dig,
    need_obj,
    need_text,
    opt_text,
    opt_when,
    when,
)

_DEPLOY_STATUS = {"success": "success", "failed": "failure"}
_SHA = re.compile(r"/commit/([0-9a-f]{40})$")


def deployment(batch: Batch, payload: dict[str, Any]) -> None:
    """A Deployment Hook: its id is the job that ran it (`deployable_id`), as the Pipeline Hook's
    job gives it, so both reports are one deployment (METRICS.md); else its `deployment_id`."""
    outcome = _DEPLOY_STATUS.get(opt_text(payload.get("status")) or "")
    if outcome is None:  # running, canceled
        return
    path = need_text(dig(payload, "project", "path_with_namespace"), "project.path_with_namespace")
    number = need_text(payload.get("deployment_id"), "deployment_id")
    job = opt_text(payload.get("deployable_id"))
    item = f"gitlab:{path}/jobs/{job}" if job else f"gitlab:{path}/deployments/{number}"
    full = _SHA.search(opt_text(payload.get("commit_url")) or "")
    sha = full[1] if full else opt_text(payload.get("short_sha"))
    batch.add(
        "deployment",
        item=item,
        at=when((payload.get("status_changed_at"), "status_changed_at")),
        project=path,
        kind="deployment",
        service=path,
        environment=opt_text(payload.get("environment")),
        labels=_tier(opt_text(payload.get("environment_tier"))),
        status=outcome,
        changes=(Change(id=sha),) if sha else (),
    )


def _tier(tier: str | None) -> tuple[str, ...] | None:
    """The environment's tier as a deployment tag; `dora.production_tiers` says what counts."""
    return (f"{TIER_TAG}{tier}",) if tier else None


_BUILD_STATUS = {"success": "success", "failed": "failure"}


def pipeline(batch: Batch, payload: dict[str, Any]) -> None:
    """A pipeline's deploy jobs (builds with an `environment` they start), finished: deployments.

    One `deployment` per finished job, item `gitlab:<path>/jobs/<job id>`, environment = the job's
    environment name, tagged with its tier; changes = the pipeline's `sha`, with the commit time
    the payload's `commit.timestamp` gives. A Deployment Hook for the same job names it by its
    `deployable_id`: the same id, so the same deployment.
    """
    builds = payload.get("builds")
    if not isinstance(builds, list):
        return
    attrs = need_obj(payload.get("object_attributes"), "object_attributes")
    path = need_text(dig(payload, "project", "path_with_namespace"), "project.path_with_namespace")
    sha = opt_text(attrs.get("sha")) or opt_text(dig(payload, "commit", "id"))
    stamp = dig(payload, "commit", "timestamp") if dig(payload, "commit", "id") == sha else None
    committed = opt_when(stamp, "commit.timestamp")
    for build in builds:
        environment = build.get("environment") if isinstance(build, dict) else None
        if not isinstance(environment, dict) or not isinstance(build, dict):
            continue
        name = opt_text(environment.get("name"))
        action = opt_text(environment.get("action")) or "start"
        outcome = _BUILD_STATUS.get(opt_text(build.get("status")) or "")
        if name is None or action != "start" or outcome is None:  # prepare/stop/verify/access
            continue
        number = need_text(build.get("id"), "builds[].id")
        batch.add(
            "deployment",
            item=f"gitlab:{path}/jobs/{number}",
            at=when(
                (build.get("finished_at"), "builds[].finished_at"),
                (attrs.get("finished_at"), "object_attributes.finished_at"),
            ),
            project=path,
            kind="deployment",
            service=path,
            environment=name,
            labels=_tier(opt_text(environment.get("deployment_tier"))),
            status=outcome,
            changes=(Change(id=sha, committed_at=committed),) if sha else (),
        )


_NO_SHA = "0" * 40


def push(batch: Batch, payload: dict[str, Any]) -> None:
    """A Push Hook: a `commit` event with the commit time of every commit it lists.

    GitLab lists at most 20 commits (`total_commits_count` tells how many were pushed): the
    others' times are unknown. The head (`checkout_sha`, else `after`) is put last.
    """
    path = need_text(dig(payload, "project", "path_with_namespace"), "project.path_with_namespace")
    head = opt_text(payload.get("checkout_sha")) or opt_text(payload.get("after"))
    raw = payload.get("commits")
    changes = [
        Change(id=sha, committed_at=opt_when(commit.get("timestamp"), "commits[].timestamp"))
        for commit in (raw if isinstance(raw, list) else [])
        if isinstance(commit, dict) and (sha := opt_text(commit.get("id")))
    ]
    times = [c.committed_at for c in changes if c.committed_at is not None]
    if not times or head is None or head == _NO_SHA:  # branch deleted, nothing (dated) listed
        return
    at = max(times)  # a Push Hook carries no time of its own
    tail = [c for c in changes if c.id == head]
    changes = [c for c in changes if c.id != head] + (tail[:1] or [Change(id=head)])
    batch.add(
        "commit",
        item=f"gitlab:{path}/commits/{head}",
        at=at,
        project=path,
        kind="push",
        service=path,
        changes=tuple(changes),
    )
