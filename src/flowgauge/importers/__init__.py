"""`flowgauge import SOURCE`: a tool's history through the same normalization as its webhooks.

One module per tool turns its history API into webhook deliveries (`base.Importer`); `run` is the
shared loop (checkpoint, progress), `sink` where records go, `http` the polite client. `IMPORTERS`
is the list of tools that can be imported from, with the selector each one takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from flowgauge.importers import github, gitlab, jira, linear, plane
from flowgauge.importers.base import Importer
from flowgauge.importers.http import ImportFailed, Policy


@dataclass(frozen=True)
class ImporterSpec:
    """A tool: its selector option, and how to build its importer from URL, selector, env."""

    selector: str  # the command-line option that picks what to import: jql, repo, project, team
    default_url: str | None
    #: (url, selector, since, environment, retry policy) -> the importer
    build: Callable[[str, str, datetime, Mapping[str, str], Policy | None], Importer]


def _jira(
    url: str, jql: str, since: datetime, env: Mapping[str, str], policy: Policy | None
) -> Importer:
    return jira.JiraImporter(jira.client(url, env, policy), jira.bounded_jql(jql, since))


def _github(
    url: str, repo: str, since: datetime, env: Mapping[str, str], policy: Policy | None
) -> Importer:
    return github.GitHubImporter(github.client(url, env, policy), repo, since)


def _gitlab(
    url: str, project: str, since: datetime, env: Mapping[str, str], policy: Policy | None
) -> Importer:
    return gitlab.GitLabImporter(gitlab.client(url, env, policy), project, since)


def _linear(
    url: str, team: str, since: datetime, env: Mapping[str, str], policy: Policy | None
) -> Importer:
    return linear.LinearImporter(linear.client(url, env, policy), team, since)


def _plane(
    url: str, project: str, since: datetime, env: Mapping[str, str], policy: Policy | None
) -> Importer:
    return plane.PlaneImporter(plane.client(url, env, policy), project, since)


IMPORTERS: dict[str, ImporterSpec] = {
    "jira": ImporterSpec(selector="jql", default_url=None, build=_jira),
    "github": ImporterSpec(selector="repo", default_url=github.DEFAULT_URL, build=_github),
    "gitlab": ImporterSpec(selector="project", default_url=gitlab.DEFAULT_URL, build=_gitlab),
    "linear": ImporterSpec(selector="team", default_url=linear.DEFAULT_URL, build=_linear),
    "plane": ImporterSpec(selector="project", default_url=plane.DEFAULT_URL, build=_plane),
}

__all__ = ["IMPORTERS", "ImportFailed", "ImporterSpec", "Policy"]
