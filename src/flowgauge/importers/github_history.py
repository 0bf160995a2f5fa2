"""A GitHub issue, pull request or deployment, as the webhook deliveries GitHub sent. Pure.

The REST API gives an issue as it is now and its timeline (labeled, unlabeled, assigned,
unassigned, closed, reopened, merged, reviewed, review_requested, convert_to_draft,
ready_for_review, each with its time). Walking the timeline backwards from now gives the labels,
assignees and draft flag the item had at creation; walking it forwards again gives the item as
each webhook carried it (`updated_at` = the change's time). `sources.github.normalize` then gives
the same events and ids as the webhooks did (its ids name the change: item, action, what changed
and when). Timeline entries flowgauge does not read (comments, mentions, commits...) give nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flowgauge.importers.base import Delivery
from flowgauge.sources._common import timestamp
from flowgauge.sources._native import dig, names, need_obj, need_text, opt_text
from flowgauge.sources.base import PayloadError

#: Timeline events that become an `issues` / `pull_request` webhook, by timeline name: action.
_ACTIONS = {
    "labeled": "labeled",
    "unlabeled": "unlabeled",
    "assigned": "assigned",
    "unassigned": "unassigned",
    "closed": "closed",
    "reopened": "reopened",
    "merged": "closed",  # a merge is the pull request's `closed` webhook with `merged: true`
    "review_requested": "review_requested",
    "convert_to_draft": "converted_to_draft",
    "ready_for_review": "ready_for_review",
}
_RUN = re.compile(r"/actions/runs/(\d+)")
#: Timeline entries GitHub records at the creation instant for what the item was created with;
#: its `opened` webhook already carries them (and their own webhooks follow).
_AT_CREATION = frozenset({"labeled", "assigned"})


def _same_instant(one: str, other: str) -> bool:
    try:
        return timestamp(one, "time") == timestamp(other, "time")
    except PayloadError:
        return one == other


def _event(entry: Mapping[str, Any]) -> str:
    return opt_text(entry.get("event")) or ""


def _when(entry: Mapping[str, Any]) -> str:
    stamp = opt_text(entry.get("created_at")) or opt_text(entry.get("submitted_at"))
    return need_text(stamp, f"timeline {_event(entry)}: created_at")


def _read(timeline: Iterable[Any]) -> list[dict[str, Any]]:
    """The entries normalize reads, oldest first (stable: GitHub lists them in order). The
    `closed` entry GitHub lists with a merge (at the merge's time) is dropped: the merge's
    webhook is one `closed` with `merged: true`, which the `merged` entry gives."""
    entries = [need_obj(e, "a timeline entry") for e in timeline]
    kept = [e for e in entries if _event(e) in _ACTIONS or _event(e) == "reviewed"]
    merges = {_when(e) for e in kept if _event(e) == "merged"}
    return sorted(
        (e for e in kept if not (_event(e) == "closed" and _when(e) in merges)), key=_when
    )


def _login(entry: Mapping[str, Any], key: str) -> str | None:
    return opt_text(dig(entry, key, "login"))


class _Snapshot:
    """The item's fields that change over its timeline, starting from now and undone back to its
    creation, then replayed forwards."""

    def __init__(self, item: Mapping[str, Any], pull: Mapping[str, Any] | None) -> None:
        self.labels = list(names(item.get("labels")) or ())
        self.assignees = list(names(item.get("assignees"), "login") or ())
        self.draft = bool((pull or {}).get("draft"))
        self.open = True

    def apply(self, entry: Mapping[str, Any], forwards: bool) -> None:
        event = _event(entry)
        label, assignee = opt_text(dig(entry, "label", "name")), _login(entry, "assignee")
        adds = {"labeled": True, "unlabeled": False, "assigned": True, "unassigned": False}
        if event in adds:
            values = self.labels if event.endswith("labeled") else self.assignees
            value = label if event.endswith("labeled") else assignee
            add = adds[event] == forwards
            if value is not None and add and value not in values:
                values.append(value)
            elif value is not None and not add and value in values:
                values.remove(value)
        elif event in ("convert_to_draft", "ready_for_review"):
            self.draft = (event == "convert_to_draft") == forwards
        elif event in ("closed", "merged", "reopened") and forwards:
            self.open = event == "reopened"

    def body(self, item: Mapping[str, Any], at: str, closed_at: str | None) -> dict[str, Any]:
        out = {
            key: item[key]
            for key in ("id", "number", "title", "body", "created_at", "type", "parent_issue_url")
            if key in item
        }
        out.update(
            labels=[{"name": name} for name in self.labels],
            assignees=[{"login": login} for login in self.assignees],
            state="open" if self.open else "closed",
            updated_at=at,
            closed_at=closed_at,
        )
        return out


def item_deliveries(
    repo: str,
    item: Mapping[str, Any],
    timeline: Iterable[Any],
    pull: Mapping[str, Any] | None = None,
    commits: Iterable[Any] = (),
) -> list[Delivery]:
    """`opened`, then one webhook per timeline entry normalize reads; for a merged pull request
    (`pull`: its `/pulls/{n}` object) a push of its commits (`/pulls/{n}/commits`) too."""
    merged_at = opt_text((pull or {}).get("merged_at"))
    entries = _read(timeline)
    snap = _Snapshot(item, pull)
    for entry in reversed(entries):
        snap.apply(entry, forwards=False)
    snap.open = True
    created = need_text(item.get("created_at"), "created_at")
    for entry in entries:  # labels and assignees given with the item: its `opened` carries them
        if _event(entry) in _AT_CREATION and _same_instant(_when(entry), created):
            snap.apply(entry, forwards=True)  # (replayed below again: a no-op)
    kind = "pull_request" if pull is not None else "issues"
    out = [_delivery(kind, "opened", repo, snap, item, pull, created, None, {})]
    closed_at: str | None = None
    for entry in entries:
        at, event = _when(entry), _event(entry)
        snap.apply(entry, forwards=True)
        if event in ("closed", "merged", "reopened"):
            closed_at = None if event == "reopened" else at
        if event == "reviewed":
            if pull is not None:
                out.append(_review(repo, snap, item, pull, entry))
            continue
        extra: dict[str, Any] = {}
        if event in ("labeled", "unlabeled"):
            extra["label"] = {"name": dig(entry, "label", "name")}
        elif event in ("assigned", "unassigned"):
            extra["assignee"] = {"login": _login(entry, "assignee")}
        elif event == "review_requested":
            extra["requested_reviewer"] = {"login": _login(entry, "requested_reviewer")}
        elif event == "merged":
            extra["merged"] = True
        out.append(_delivery(kind, _ACTIONS[event], repo, snap, item, pull, at, closed_at, extra))
    if pull is not None and merged_at is not None:
        push = _push(repo, pull, commits)
        if push is not None:
            out.append(push)
    return out


def _delivery(
    kind: str,
    action: str,
    repo: str,
    snap: _Snapshot,
    item: Mapping[str, Any],
    pull: Mapping[str, Any] | None,
    at: str,
    closed_at: str | None,
    extra: dict[str, Any],
) -> Delivery:
    body = snap.body(item, at, closed_at)
    key = "issue"
    if pull is not None:
        key = "pull_request"
        merged = extra.pop("merged", False) is True
        body.update(
            draft=snap.draft,
            head={"ref": dig(pull, "head", "ref"), "sha": dig(pull, "head", "sha")},
            merged=merged,
            merged_at=pull.get("merged_at") if merged else None,
            merge_commit_sha=pull.get("merge_commit_sha") if merged else None,
        )
    payload = {"action": action, key: body, "repository": {"full_name": repo}, **extra}
    return {"x-github-event": kind}, payload


def _review(
    repo: str,
    snap: _Snapshot,
    item: Mapping[str, Any],
    pull: Mapping[str, Any],
    entry: Mapping[str, Any],
) -> Delivery:
    at = _when(entry)
    _, body = _delivery("pull_request", "submitted", repo, snap, item, pull, at, None, {})
    body["review"] = {"id": entry.get("id"), "state": entry.get("state"), "submitted_at": at}
    return {"x-github-event": "pull_request_review"}, body


def _push(repo: str, pull: Mapping[str, Any], commits: Iterable[Any]) -> Delivery | None:
    """The pull request's commits as one push of its head (their author times: DORA's commit
    times); None when it has none."""
    listed = [
        {
            "id": need_text(dig(c, "sha"), "commit sha"),
            "timestamp": dig(c, "commit", "author", "date"),
            "distinct": True,
        }
        for c in commits
    ]
    if not listed:
        return None
    head = listed[-1]
    body = {
        "ref": f"refs/heads/{dig(pull, 'head', 'ref')}",
        "after": head["id"],
        "commits": listed,
        "head_commit": {"id": head["id"], "timestamp": head["timestamp"]},
        "repository": {"full_name": repo},
        "pusher": {"name": "import"},
    }
    return {"x-github-event": "push"}, body


def deployment_deliveries(
    repo: str, deployment: Mapping[str, Any], statuses: Iterable[Any]
) -> list[Delivery]:
    """One `deployment_status` webhook per status, oldest first. A status whose `log_url` or
    `target_url` names a GitHub Actions run carries that run (`workflow_run.id`), as the webhook
    of a deployment made by Actions does."""
    ordered = sorted(
        (need_obj(s, "a deployment status") for s in statuses),
        key=lambda s: (str(s.get("created_at")), str(s.get("id"))),
    )
    out: list[Delivery] = []
    for status in ordered:
        body: dict[str, Any] = {
            "action": "created",
            "deployment_status": status,
            "deployment": dict(deployment),
            "repository": {"full_name": repo},
        }
        for url in (status.get("log_url"), status.get("target_url")):
            found = _RUN.search(url) if isinstance(url, str) else None
            if found:
                body["workflow_run"] = {"id": int(found[1])}
                break
        out.append(({"x-github-event": "deployment_status"}, body))
    return out
