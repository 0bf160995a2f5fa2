"""Each tool's import as the tests drive it: a `ToolCase` says how to build the tool's history and
its local API, how to run `flowgauge import` against it, and what a full import of it looks like.
test_import_contract.py runs the properties every importer must show over all of them; each
test_<tool>_import.py uses its tool's case for what is that tool's alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import github_world
import gitlab_world
import jira_world
import linear_world
import plane_world
from fake_github import FakeGitHub
from fake_gitlab import FakeGitLab
from fake_jira import FakeJira
from fake_linear import FakeLinear
from fake_plane import FakePlane
from local_api import LocalAPI, serving
from recorded import Deliveries

from flowgauge import report
from flowgauge.importers import Policy
from flowgauge.importers.command import ImportOptions, run_command
from flowgauge.model import FlowEvent
from flowgauge.model.config import FlowConfig, parse_duration
from flowgauge.model.loader import parse_config
from flowgauge.records import read_events
from flowgauge.settings import Settings

FAST = Policy(attempts=3, initial=0.01, maximum=0.05)
Fake = TypeVar("Fake", bound=LocalAPI)


def _flow(states: tuple[str, str, str, str], blocked: str = "blocked") -> str:
    """One `delivery` stream over a tool's backlog, development, review and done states."""
    backlog, doing, review, done = states
    return f"""
clock: event
streams:
  - name: delivery
    window: 90d
    commitment: development
    defect_types: [bug]
    blocked_labels: [{blocked}]
    stages:
      - {{name: backlog,     kind: wait,   states: [{backlog}]}}
      - {{name: development, kind: active, states: [{doing}]}}
      - {{name: review,      kind: wait,   states: [{review}]}}
      - {{name: done,        kind: done,   states: [{done}]}}
"""


GITHUB_CONFIG = """
clock: event
streams:
  - name: code-review
    match: {source: [github], kind: [pull_request]}
    window: 90d
    commitment: review
    blocked_labels: [blocked]
    stages:
      - {name: draft,  kind: active, states: [draft]}
      - {name: review, kind: wait,   states: [open, review_requested, changes_requested]}
      - {name: ready,  kind: wait,   states: [approved]}
      - {name: done,   kind: done,   states: [merged, closed]}
  - name: issues
    match: {source: [github], kind: [issue]}
    window: 90d
    commitment: backlog
    defect_types: [bug]
    blocked_labels: [blocked]
    stages:
      - {name: backlog, kind: active, states: [open]}
      - {name: done,    kind: done,   states: [closed]}
dora:
  production: [production]
  incident_labels: [incident]
  window: 90d
"""
JIRA_CONFIG = (
    _flow(("To Do", "In Progress", "In Review", "Done"))
    + """dora:
  production: [production]
  window: 90d
"""
)
GITLAB_CONFIG = (
    _flow(("opened", "workflow::doing", "workflow::review", "closed, merged"))
    + """dora:
  production: [production]
  production_tiers: [production]
  window: 90d
"""
)
LINEAR_CONFIG = _flow(("Todo", "In Progress", "In Review", "Done"))
PLANE_CONFIG = _flow(("st-backlog", "st-doing", "st-review", "st-done"), blocked="lb-blocked")


def _config(text: str) -> FlowConfig:
    return parse_config(text, "flowgauge.yaml")


def _as_is(event: FlowEvent) -> FlowEvent | None:
    return event


def _gitlab_view(event: FlowEvent) -> FlowEvent | None:
    """GitLab's deployments aside (their ids are the delivery's)."""
    return None if event.kind == "deployment" else event


@dataclass(frozen=True)
class ToolCase(Generic[Fake]):
    """One tool (one variant of its API) for the import contract."""

    name: str  # the source and its importer
    id: str  # the variant, as tests name it
    fake: Callable[[], Fake]  # a fresh local API over the tool's history
    hooks: Callable[[Fake], Deliveries]  # the webhooks the tool sent for that history
    lines: Callable[[Deliveries], bytes]  # ... as recorded deliveries
    items: Callable[[Fake], int]  # the histories a full import reads
    records: Callable[[Fake], int]  # the record lines it writes (a history may render none)
    config: str
    selector: str
    since: str
    credentials: dict[str, str]  # the variable to set, and the value the fake lets in
    listing: str  # the path of the main list, named when it answers what the API does not
    not_the_api: str  # ... and what the error says of that answer
    pages: int  # listing pages a full import takes
    outage_after: int = 2  # the outage the resume test makes: after this many pages
    cut_records: int = 10  # the records written by then
    cursor: str = ""  # how the checkpoint's cursor starts then
    hints: tuple[str, ...] = ()  # what else a refused credential's error names
    compared: Callable[[FlowEvent], FlowEvent | None] = _as_is  # an event as held equal, or None

    @property
    def variable(self) -> str:
        return next(iter(self.credentials))

    def run(
        self,
        url: str,
        out: Path | None,
        tmp_path: Path,
        env: dict[str, str] | None = None,
        selector: str | None = None,
        **extra: object,
    ) -> int:
        """`flowgauge import` of this tool, the exit status."""
        options = ImportOptions(
            source=self.name,
            url=url,
            selector=self.selector if selector is None else selector,
            since=parse_duration(self.since),
            out=out,
            **{"progress": False, **extra},  # type: ignore[arg-type]
        )
        credentials = self.credentials if env is None else env
        return run_command(
            Settings(data_dir=tmp_path / "data"), options, env=credentials, policy=FAST
        )

    def prom(self, *files: Path) -> str:
        """`flowgauge report --format prom` of the files, wall time aside."""
        return report.prom_text(report.build(list(files), _config(self.config)), wall_micros=0)

    def events(self, *files: Path) -> list[FlowEvent]:
        """The events the files give after routing, by id."""
        return sorted(read_events(list(files), _config(self.config)), key=lambda e: e.id)

    @contextmanager
    def served(self) -> Iterator[tuple[Fake, str]]:
        """A fresh local API of the tool, serving: the fake and its base URL."""
        api = self.fake()
        with serving(api) as url:
            yield api, url

    def comparable_events(self, *files: Path) -> list[FlowEvent]:
        """The events, by id, that an import and the webhooks must both give (`compared`)."""
        views = (self.compared(event) for event in self.events(*files))
        return [view for view in views if view is not None]

    def live(self, fake: Fake, tmp_path: Path) -> Path:
        """The same history as the webhooks the tool sent while it happened, recorded."""
        path = tmp_path / "webhooks.jsonl"
        path.write_bytes(self.lines(self.hooks(fake)))
        return path


def _jira(edition: str) -> ToolCase[FakeJira]:
    return ToolCase[FakeJira](
        name="jira",
        id=f"jira-{edition}",
        fake=lambda: FakeJira(jira_world.world(11, issues=23), edition=edition),
        hooks=lambda fake: jira_world.webhooks(fake.issues),
        lines=jira_world.delivery_lines,
        items=lambda fake: len(fake.issues),
        records=lambda fake: len(fake.issues),  # one a history (item-grouped)
        config=JIRA_CONFIG,
        selector="project in (ABC, OPS)",
        since="180d",
        credentials={"FLOWGAUGE_JIRA_API_TOKEN": "good-token"},
        listing="/rest/api/3/search/jql" if edition == "Cloud" else "/rest/api/2/search",
        not_the_api="did not answer JSON",
        pages=5,
        hints=("FLOWGAUGE_JIRA_EMAIL",),
    )


JIRA_CLOUD, JIRA_DC = _jira("Cloud"), _jira("DataCenter")
GITHUB = ToolCase[FakeGitHub](
    name="github",
    id="github",
    fake=lambda: FakeGitHub(github_world.world(5, items=30)),
    hooks=lambda fake: github_world.webhooks(fake.history),
    lines=github_world.delivery_lines,
    items=lambda fake: len(fake.history.items) + len(fake.history.deployments),
    records=lambda fake: len(fake.history.items) + len(fake.history.deployments),
    config=GITHUB_CONFIG,
    selector=github_world.REPO,
    since="3650d",
    credentials={"FLOWGAUGE_GITHUB_TOKEN": "good-token"},
    listing=f"/repos/{github_world.REPO}/issues?",
    not_the_api="did not answer a JSON list",
    pages=5,  # 30 issues and pull requests, 7 a page
    cut_records=14,
    cursor="issues|",
)


def _gitlab(link_only: bool) -> ToolCase[FakeGitLab]:
    def finished(fake: FakeGitLab) -> int:  # a running deployment sends no hook
        return sum(1 for d in fake.world.deployments if d.status != "running")

    return ToolCase[FakeGitLab](
        name="gitlab",
        id="gitlab-link" if link_only else "gitlab-x-next-page",
        fake=lambda: FakeGitLab(gitlab_world.world(5, items=30), link_only=link_only),
        hooks=lambda fake: gitlab_world.webhooks(fake.world),
        lines=gitlab_world.delivery_lines,
        items=lambda fake: len(fake.world.items) + len(fake.world.deployments),
        records=lambda fake: len(fake.world.items) + finished(fake),
        config=GITLAB_CONFIG,
        selector=gitlab_world.PATH,
        since="3650d",
        credentials={"FLOWGAUGE_GITLAB_TOKEN": "good-token"},
        listing="/api/v4/projects/acme%2Fshop/issues",
        not_the_api="did not answer a JSON list",
        pages=3 + 2 + 1,  # 20 issues, 10 merge requests, 6 deployments; 7 a page
        outage_after=4,  # three issue pages and one merge request page
        cut_records=20 + 7,
        cursor="merge_requests ",
        hints=("read_api",),
        compared=_gitlab_view,
    )


GITLAB, GITLAB_LINK = _gitlab(link_only=False), _gitlab(link_only=True)
LINEAR = ToolCase[FakeLinear](
    name="linear",
    id="linear",
    fake=lambda: FakeLinear(linear_world.world(7, issues=23)),
    hooks=lambda fake: linear_world.webhooks(fake.issues),
    lines=linear_world.delivery_lines,
    items=lambda fake: len(fake.issues),
    records=lambda fake: len(fake.issues),
    config=LINEAR_CONFIG,
    selector="OPS",
    since="365d",
    credentials={"FLOWGAUGE_LINEAR_API_KEY": "lin_api_good"},
    listing="/graphql",
    not_the_api="did not answer JSON",
    pages=5,
)
PLANE = ToolCase[FakePlane](
    name="plane",
    id="plane",
    fake=lambda: FakePlane(plane_world.world(7, items=23, changes=12)),
    hooks=lambda fake: plane_world.webhooks(fake.items),
    lines=plane_world.delivery_lines,
    items=lambda fake: len(fake.items),
    records=lambda fake: len(fake.items),
    config=PLANE_CONFIG,
    selector=f"{plane_world.SLUG}/{plane_world.PROJECT}",
    since="365d",
    credentials={"FLOWGAUGE_PLANE_API_KEY": "plane_api_good"},
    listing=f"/api/v1/workspaces/{plane_world.SLUG}/projects/{plane_world.PROJECT}/work-items/",
    not_the_api="did not answer JSON",
    pages=5,
)
CASES: list[ToolCase[Any]] = [JIRA_CLOUD, JIRA_DC, GITHUB, GITLAB, GITLAB_LINK, LINEAR, PLANE]
