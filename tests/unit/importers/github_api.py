"""What GitHub's REST API answers about a github_world history, after the fact: issues and pull
requests as they are now, their timelines, pull requests and their commits (shapes from GitHub's
REST API documentation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from github_world import REPO, Item, apply, gh_time, object_at


def final_state(item: Item) -> dict[str, Any]:
    state = {
        "labels": list(item.labels),
        "assignees": list(item.assignees),
        "open": True,
        "closed_at": None,
        "draft": item.draft,
    }
    for change in item.changes:
        apply(state, change)
    return state


def updated(item: Item) -> datetime:
    return item.changes[-1].at if item.changes else item.created


def api_issue(item: Item) -> dict[str, Any]:
    body = object_at(item, final_state(item), updated(item))
    if item.pull:  # the issues endpoint lists pull requests with a `pull_request` stub
        for key in ("draft", "head", "merged", "merged_at", "merge_commit_sha"):
            body.pop(key)
        merged = item.merged
        body["pull_request"] = {
            "url": f"https://api.github.com/repos/{REPO}/pulls/{item.number}",
            "merged_at": gh_time(merged.at) if merged else None,
        }
    return body


def api_pull(item: Item) -> dict[str, Any]:
    state = final_state(item)
    merged = item.merged
    return {
        "number": item.number,
        "state": "open" if state["open"] else "closed",
        "draft": state["draft"],
        "head": {"ref": f"feature-{item.number}", "sha": item.head},
        "merged": merged is not None,
        "merged_at": gh_time(merged.at) if merged else None,
        "merge_commit_sha": item.merge_sha if merged else None,
    }


def api_timeline(item: Item) -> list[dict[str, Any]]:
    """The issue timeline API's entries, with a comment and a commit in between (read as
    nothing); a merge lists `merged` then `closed`, as GitHub does."""
    out: list[dict[str, Any]] = [
        {"event": "commented", "id": 1, "created_at": gh_time(item.created), "body": "hi"}
    ]
    for change in item.changes:
        entry: dict[str, Any] = {
            "id": change.id,
            "event": change.event,
            "actor": {"login": "octocat"},
        }
        if change.event == "reviewed":
            entry.update(state=change.value, submitted_at=gh_time(change.at), user={"login": "cy"})
        else:
            entry["created_at"] = gh_time(change.at)
        if change.event in ("labeled", "unlabeled"):
            entry["label"] = {"name": change.value, "color": "ededed"}
        elif change.event in ("assigned", "unassigned"):
            entry["assignee"] = {"login": change.value}
        elif change.event == "review_requested":
            entry["requested_reviewer"] = {"login": change.value}
        out.append(entry)
        if change.event == "merged":
            out.append({"id": change.id + 1, "event": "closed", "created_at": gh_time(change.at)})
    if item.commits:
        out.append({"event": "committed", "sha": item.head, "author": {"name": "Ana"}})
    return out


def api_commits(item: Item) -> list[dict[str, Any]]:
    return [
        {"sha": sha, "commit": {"author": {"name": "Ana", "date": gh_time(at)}, "message": "x"}}
        for sha, at in item.commits
    ]
