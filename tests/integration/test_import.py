"""`flowgauge import jira` onto the raw topic of a running worker: the worker's gauges equal the
report of the same history sent as webhooks, and a second import changes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from compare import gauges, report_text, sample_value
from stackkit import Stack, wait_until

# the Jira-like server and the history builder of the unit tests
sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "importers"))

from fake_jira import FakeJira, serving
from import_cases import JIRA_CONFIG as CONFIG
from jira_world import delivery_lines, webhooks, world

from flowgauge.importers import Policy
from flowgauge.importers.command import ImportOptions, run_command
from flowgauge.model.config import parse_duration
from flowgauge.model.loader import parse_config
from flowgauge.records import read_events
from flowgauge.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_import_onto_the_topic_of_a_running_worker(stack: Stack, tmp_path: Path) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(CONFIG)
    stack.config = config
    issues = world(29, issues=40)
    recorded = tmp_path / "webhooks.jsonl"
    recorded.write_bytes(delivery_lines(webhooks(issues)))
    expected = gauges(report_text(config, recorded))
    routed = sum(1 for _ in read_events([recorded], parse_config(CONFIG, "flow.yaml")))
    stack.start_worker()
    settings = Settings(
        kafka=stack.broker.bootstrap,
        topic_prefix=stack.prefix,
        data_dir=tmp_path / "import",
        embedded_broker=stack.broker.embedded,
    )
    env = {"FLOWGAUGE_JIRA_API_TOKEN": "good-token"}
    with serving(FakeJira(issues)) as url:
        options = ImportOptions(
            source="jira",
            url=url,
            selector="project = ABC",
            since=parse_duration("180d"),
            progress=False,
        )
        assert run_command(settings, options, env=env, policy=Policy(attempts=3)) == 0

        def counted(outcome: str, n: int) -> bool:
            return sample_value(stack.metrics(), "flowgauge_events_total", outcome=outcome) == n

        wait_until(lambda: counted("applied", routed), 120, interval=0.5, what="import applied")
        assert gauges(stack.metrics()) == expected
        assert run_command(settings, options, env=env, policy=Policy(attempts=3)) == 0
        wait_until(lambda: counted("duplicate", routed), 120, interval=0.5, what="rerun seen")
    assert gauges(stack.metrics()) == expected
    assert sample_value(stack.metrics(), "flowgauge_events_total", outcome="applied") == routed
