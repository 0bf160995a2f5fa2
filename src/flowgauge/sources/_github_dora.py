"""GitHub deployments, pushes and CI runs: the DORA events of a repository (docs/dora.md).

`deployment_status` (success or failure) and completed `workflow_run`s are `deployment` events
of their commit; a `push` is a `commit` event carrying the commit time of each commit it first
pushed. Kept apart from github.py's issues and boards, as `_github_pr.py` keeps pull requests.
"""

from __future__ import annotations

from typing import Any

from flowgauge.model import Change
from flowgauge.model.events import WORKFLOW_TAG
from flowgauge.sources._native import Batch, dig, need_obj, need_text, opt_text, opt_when, when

_DEPLOY_STATUS = {"success": "success", "failure": "failure", "error": "failure"}


def deployment_status(batch: Batch, payload: dict[str, Any]) -> None:
    """A finished deployment status: a `deployment` of the deployment's sha.

    Its id is the workflow run's that created it when the payload names one (`workflow_run`, as
    GitHub Actions' deployments do), so that the run's own `workflow_run` event is the same
    deployment (METRICS.md: one deployment, one id); else the deployment's own id.
    """
    status = need_obj(payload.get("deployment_status"), "deployment_status")
    outcome = _DEPLOY_STATUS.get(opt_text(status.get("state")) or "")
    if outcome is None:  # pending, queued, in_progress, inactive
        return
    deployment = need_obj(payload.get("deployment"), "deployment")
    repo = need_text(dig(payload, "repository", "full_name"), "repository.full_name")
    number = need_text(deployment.get("id"), "deployment.id")
    run = payload.get("workflow_run")
    run_id = opt_text(run.get("id")) if isinstance(run, dict) else None
    item = (
        f"github:{repo}/actions/runs/{run_id}" if run_id else f"github:{repo}/deployments/{number}"
    )
    sha = opt_text(deployment.get("sha"))
    environment = opt_text(status.get("environment")) or opt_text(deployment.get("environment"))
    batch.add(
        "deployment",
        item=item,
        at=when(
            (status.get("created_at"), "deployment_status.created_at"),
            (status.get("updated_at"), "deployment_status.updated_at"),
        ),
        project=repo,
        kind="deployment",
        service=repo,
        environment=environment,
        status=outcome,
        changes=(Change(id=sha),) if sha else (),
    )


# --- commit times and CI runs (DORA) -------------------------------------------------------------

_NO_SHA = "0" * 40


def push(batch: Batch, payload: dict[str, Any]) -> None:
    """A push: a `commit` event with the commit time of every commit first pushed by it.

    Only `distinct` commits (not pushed to the repository before): the others' times came with
    their first push, and must not make a pull request's branch look older (docs/dora.md).
    """
    if payload.get("deleted") is True:
        return
    repo = need_text(dig(payload, "repository", "full_name"), "repository.full_name")
    raw = payload.get("commits")
    changes = [
        Change(id=sha, committed_at=opt_when(commit.get("timestamp"), "commits[].timestamp"))
        for commit in (raw if isinstance(raw, list) else [])
        if isinstance(commit, dict)
        and commit.get("distinct") is not False
        and (sha := opt_text(commit.get("id")))
    ]
    head = opt_text(dig(payload, "head_commit", "id")) or opt_text(payload.get("after"))
    if not changes or head is None or head == _NO_SHA:
        return
    if changes[-1].id != head:  # the head last: a deployment of it brings the others
        changes = [c for c in changes if c.id != head]
        stamp = dig(payload, "head_commit", "timestamp")
        changes.append(Change(id=head, committed_at=opt_when(stamp, "head_commit.timestamp")))
    pushed_at = dig(payload, "repository", "pushed_at")
    if isinstance(pushed_at, int | float) and not isinstance(pushed_at, bool):
        pushed_at *= 1000  # Unix seconds in push payloads; `when` reads numbers as milliseconds
    times = [c.committed_at for c in changes if c.committed_at is not None]
    if pushed_at is None and not times:
        return  # no time at all to date the push by
    at = opt_when(pushed_at, "repository.pushed_at") or max(times)
    batch.add(
        "commit",
        item=f"github:{repo}/commits/{head}",
        at=at,
        project=repo,
        kind="push",
        service=repo,
        changes=tuple(changes),
    )


_RUN_STATUS = {"success": "success", "failure": "failure"}


def workflow_run(batch: Batch, payload: dict[str, Any]) -> None:
    """A completed run, successful or failed: a `deployment` of its `head_sha`, tagged with the
    workflow's name and path. Only runs of `dora.deploy_workflows` count (the engine decides)."""
    if payload.get("action") != "completed":
        return
    run = need_obj(payload.get("workflow_run"), "workflow_run")
    outcome = _RUN_STATUS.get(opt_text(run.get("conclusion")) or "")
    if outcome is None:  # cancelled, skipped, neutral, timed_out, action_required, stale
        return
    repo = need_text(dig(payload, "repository", "full_name"), "repository.full_name")
    number = need_text(run.get("id"), "workflow_run.id")
    sha = opt_text(run.get("head_sha"))
    stamp = dig(run, "head_commit", "timestamp") if dig(run, "head_commit", "id") == sha else None
    committed = opt_when(stamp, "workflow_run.head_commit.timestamp")
    tags = [
        opt_text(run.get("name")) or opt_text(dig(payload, "workflow", "name")),
        opt_text(run.get("path")) or opt_text(dig(payload, "workflow", "path")),
    ]
    batch.add(
        "deployment",
        item=f"github:{repo}/actions/runs/{number}",  # re-run attempts: the same run
        at=when(
            (run.get("updated_at"), "workflow_run.updated_at"),
            (run.get("run_started_at"), "workflow_run.run_started_at"),
        ),
        project=repo,
        kind="workflow_run",
        service=repo,
        labels=tuple(dict.fromkeys(f"{WORKFLOW_TAG}{tag}" for tag in tags if tag)),
        status=outcome,
        changes=(Change(id=sha, committed_at=committed),) if sha else (),
    )
