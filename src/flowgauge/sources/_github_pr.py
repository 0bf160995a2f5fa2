"""GitHub pull requests and reviews: their own kind, `pull_request`, with review states.

States: `draft`, `open`, `review_requested`, `changes_requested`, `approved`, `merged`, `closed`.
Links: `Fixes #12` / `closes owner/repo#12` and Jira keys in the title, body or head branch.
Holder: the lowest assignee login (`_github_relations.holder`), on every event and on its own
for `assigned` / `unassigned`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flowgauge.model import Change
from flowgauge.sources._github_relations import holder
from flowgauge.sources._native import (
    HOLDER_EVENT,
    Batch,
    dig,
    links_from,
    names,
    need_obj,
    need_text,
    opt_text,
    type_from_labels,
    when,
)

PullHandler = Callable[[Batch, dict[str, Any], dict[str, Any]], None]


def pr_fields(payload: dict[str, Any], pull: dict[str, Any]) -> dict[str, Any]:
    """What every event of a pull request carries: item, project, kind, labels, links."""
    repo = need_text(dig(payload, "repository", "full_name"), "repository.full_name")
    number = need_text(pull.get("number"), "pull_request.number")
    labels = names(pull.get("labels"))
    texts = (pull.get("title"), pull.get("body"), dig(pull, "head", "ref"))
    return {
        "item": f"github:{repo}#{number}",
        "project": repo,
        "kind": "pull_request",
        "labels": labels,
        "item_type": type_from_labels(labels),
        "links": links_from(texts, "github", repo),
        "assignee": holder(pull),
    }


def _updated(pull: dict[str, Any]) -> datetime:
    return when((pull.get("updated_at"), "pull_request.updated_at"))


def _open_state(pull: dict[str, Any]) -> str:
    return "draft" if pull.get("draft") is True else "open"


def _opened(batch: Batch, payload: dict[str, Any], pull: dict[str, Any]) -> None:
    at = when(
        (pull.get("created_at"), "pull_request.created_at"),
        (pull.get("updated_at"), "pull_request.updated_at"),
    )
    batch.add("created", at=at, state=_open_state(pull), **pr_fields(payload, pull))


def _state(state: str) -> PullHandler:
    def handler(batch: Batch, payload: dict[str, Any], pull: dict[str, Any]) -> None:
        batch.add("state", at=_updated(pull), state=state, **pr_fields(payload, pull))

    return handler


def _reopened(batch: Batch, payload: dict[str, Any], pull: dict[str, Any]) -> None:
    batch.add("state", at=_updated(pull), state=_open_state(pull), **pr_fields(payload, pull))


def _closed(batch: Batch, payload: dict[str, Any], pull: dict[str, Any]) -> None:
    if pull.get("merged") is True or opt_text(pull.get("merged_at")):
        state = "merged"
        at = when(
            (pull.get("merged_at"), "pull_request.merged_at"),
            (pull.get("closed_at"), "pull_request.closed_at"),
            (pull.get("updated_at"), "pull_request.updated_at"),
        )
    else:
        state = "closed"
        at = when(
            (pull.get("closed_at"), "pull_request.closed_at"),
            (pull.get("updated_at"), "pull_request.updated_at"),
        )
    fields = pr_fields(payload, pull)
    batch.add("state", at=at, state=state, **fields)
    if state == "merged":
        _merge_commit(batch, fields["project"], pull, at)


def _merge_commit(batch: Batch, repo: str, pull: dict[str, Any], at: datetime) -> None:
    """A merged pull request: a `commit` event saying its merge commit stands for its commits.

    The payload names the pull request's head (`head.sha`, its last commit) and the commit it was
    merged as (`merge_commit_sha`: the merge, squash or last rebased commit) but carries no commit
    time. The event lists the head then the merge commit, without times: the engine gives the
    merge commit the earliest commit time it knows of the head and of what the head's pushes
    brought (docs/dora.md, "Squash merges"). Nothing is emitted when either sha is missing.
    """
    merge = opt_text(pull.get("merge_commit_sha"))
    head = opt_text(dig(pull, "head", "sha"))
    if merge is None or head is None:
        return
    batch.add(
        "commit",
        item=f"github:{repo}/commits/{merge}",
        at=at,
        project=repo,
        kind="pull_request",
        service=repo,
        changes=tuple(Change(id=sha) for sha in dict.fromkeys((head, merge))),
    )


def _labeled(batch: Batch, payload: dict[str, Any], pull: dict[str, Any]) -> None:
    label = need_text(dig(payload, "label", "name"), "label.name")
    kind = "labeled" if payload.get("action") == "labeled" else "unlabeled"
    batch.add(kind, at=_updated(pull), label=label, **pr_fields(payload, pull))


def _assigned(batch: Batch, payload: dict[str, Any], pull: dict[str, Any]) -> None:
    batch.add(HOLDER_EVENT, at=_updated(pull), **pr_fields(payload, pull))


_ACTIONS: dict[str, PullHandler] = {
    "assigned": _assigned,
    "unassigned": _assigned,
    "opened": _opened,
    "converted_to_draft": _state("draft"),
    "ready_for_review": _state("open"),
    "review_requested": _state("review_requested"),
    "closed": _closed,
    "reopened": _reopened,
    "labeled": _labeled,
    "unlabeled": _labeled,
}


def pull_request(batch: Batch, payload: dict[str, Any]) -> None:
    handler = _ACTIONS.get(opt_text(payload.get("action")) or "")
    if handler is not None:
        handler(batch, payload, need_obj(payload.get("pull_request"), "pull_request"))


_REVIEW_STATES = {"approved": "approved", "changes_requested": "changes_requested"}


def pull_request_review(batch: Batch, payload: dict[str, Any]) -> None:
    """A submitted review that approves or requests changes; comments move nothing."""
    if payload.get("action") != "submitted":
        return
    review = need_obj(payload.get("review"), "review")
    state = _REVIEW_STATES.get((opt_text(review.get("state")) or "").lower())
    if state is None:
        return
    pull = need_obj(payload.get("pull_request"), "pull_request")
    at = when(
        (review.get("submitted_at"), "review.submitted_at"),
        (pull.get("updated_at"), "pull_request.updated_at"),
    )
    batch.add("state", at=at, state=state, **pr_fields(payload, pull))
