"""The whole path on the real broker: signed webhook -> raw topic -> worker -> /metrics.

The exactness test is issue 9's criterion: a generated scenario delivered shuffled with
duplicates gives `/metrics` equal to `flowgauge report --format prom` over the same events.
"""

from __future__ import annotations

import http.client
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from compare import Sample, gauges, record, report_text, sample_value
from scenario import (
    EVENT_CLOCK_CONFIG,
    TEAMS_CONFIG,
    dora_history,
    item_history,
    post,
    post_generic,
    shuffled_with_duplicates,
)
from stackkit import Stack, http_get, wait_until

from flowgauge.signing import sha256_signature

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def announced_huge_body(port: int) -> int:
    """Announce a 2 MB body and send none of it: the answer must come before the body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", "/webhooks/generic")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(2_000_000))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_signed_webhook_becomes_a_gauge_and_bad_requests_are_refused(stack: Stack) -> None:
    stack.start_ingester()
    stack.start_worker()
    event = {
        "id": "e1",
        "type": "created",
        "item": "A-1",
        "at": "2026-11-01T10:00:00+02:00",
        "state": "In Progress",
    }
    status, body = post_generic(stack.ingest_url, stack.secret, [event])
    assert status == 202, body
    wait_until(
        lambda: (
            sample_value(
                stack.metrics(), "flowgauge_wip_items", stream="delivery", stage="development"
            )
            == 1.0
        ),
        30,
        what="WIP of development = 1",
    )

    # Wrongly signed, unsigned: 401, nothing stored, no metric moves.
    raw = orjson.dumps([{**event, "id": "e2", "item": "A-2"}])
    status, body = post(
        f"{stack.ingest_url}/webhooks/generic",
        raw,
        {"X-Flowgauge-Signature": sha256_signature("wrong", raw)},
    )
    assert (status, body["error"]) == (401, "unauthorized")
    assert post(f"{stack.ingest_url}/webhooks/generic", raw, {})[0] == 401
    # Not JSON, not a generic event: 400 with a reason. Too large: 413 before it is read.
    invalid = {  # body -> what the 400's message must say
        b"{not json": "not JSON",
        orjson.dumps(
            {"id": "x", "type": "moved", "item": "A", "at": "2026-01-01T00:00:00Z"}
        ): "type must be one of",
        orjson.dumps(
            {"id": "y", "type": "created", "item": "B", "at": "2026-01-01T00:00:00"}
        ): "at",
    }
    for bad, reason in invalid.items():
        status, body = post(
            f"{stack.ingest_url}/webhooks/generic",
            bad,
            {"X-Flowgauge-Signature": sha256_signature(stack.secret, bad)},
        )
        assert status == 400 and reason in body["message"], (bad, body)
    assert announced_huge_body(stack.ingest_port) == 413
    assert post(f"{stack.ingest_url}/webhooks/nosuch", raw, {})[0] == 404

    # A later valid event proves the refused ones were never applied.
    status, _ = post_generic(
        stack.ingest_url,
        stack.secret,
        [{"id": "e3", "type": "created", "item": "A-3", "at": "2026-11-01T11:00:00Z"}],
    )
    assert status == 202
    wait_until(
        lambda: (
            sample_value(stack.metrics(), "flowgauge_wip_items", stream="delivery", stage="backlog")
            == 1.0
        ),
        30,
        what="A-3 in backlog",
    )
    text = stack.metrics()
    assert sample_value(text, "flowgauge_wip_items", stream="delivery", stage="development") == 1
    assert sample_value(text, "flowgauge_events_total", outcome="applied") == 2.0
    ingest = http_get(f"{stack.ingest_url}/metrics")[1].decode()
    assert (
        sample_value(ingest, "flowgauge_webhooks_total", source="generic", outcome="unauthorized")
        == 2.0
    )
    assert (
        sample_value(ingest, "flowgauge_webhooks_total", source="generic", outcome="invalid") == 3.0
    )
    assert "test-secret" not in ingest and "test-secret" not in stack.log("ingest")


def test_shuffled_duplicated_scenario_equals_the_batch_report(stack: Stack, tmp_path: Path) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(EVENT_CLOCK_CONFIG)
    stack.config = config
    rng = random.Random(20261124)
    events = item_history(rng, 300) + dora_history(rng, 40)
    delivered = shuffled_with_duplicates(rng, events, dup_share=0.10)
    recorded = record(events, tmp_path / "events.jsonl")

    stack.start_ingester()
    stack.start_worker()
    for start in range(0, len(delivered), 50):
        status, body = post_generic(stack.ingest_url, stack.secret, delivered[start : start + 50])
        assert status == 202, body

    expected = gauges(report_text(config, recorded))
    assert expected, "the report produced no gauges"
    applied = len(events)

    def caught_up() -> bool:
        text = stack.metrics()
        return sample_value(text, "flowgauge_events_total", outcome="applied") == applied

    wait_until(caught_up, 120, interval=0.5, what=f"{applied} events applied")
    # then the stream stage, one topic hop behind the timelines (docs/architecture.md)
    wait_until(
        lambda: gauges(stack.metrics()) == expected, 30, 0.5, what="the stream stage caught up"
    )
    assert gauges(stack.metrics()) == expected


FORECAST_FAMILIES = {
    "flowgauge_forecast_items",
    "flowgauge_forecast_completion_seconds",
    "flowgauge_forecast_due_ratio",
    "flowgauge_forecast_remaining_items",
    "flowgauge_forecast_due_timestamp_seconds",
    "flowgauge_sle_attainment_ratio",
}


def test_forecasts_live_equal_the_batch_report(stack: Stack, tmp_path: Path) -> None:
    """Issue 19: the forecast families of `/metrics` are the report's, sample for sample, for a
    40-day history delivered shuffled with duplicates (a `bugs` target with a due date)."""
    config = tmp_path / "flow.yaml"
    config.write_text(
        EVENT_CLOCK_CONFIG.replace(
            "    sle: 5d\n",
            "    sle: 5d\n    forecast: {history: 30d}\n    forecasts:\n"
            "      - {name: bugs, match: {item_type: bug}, due: 2026-10-20}\n",
        )
    )
    stack.config = config
    rng = random.Random(19)
    events = item_history(rng, 300)
    delivered = shuffled_with_duplicates(rng, events, dup_share=0.10)
    recorded = record(events, tmp_path / "events.jsonl")
    expected = gauges(report_text(config, recorded), FORECAST_FAMILIES)
    names = {name for name, _, _ in expected}
    assert names == FORECAST_FAMILIES, f"missing from the report: {FORECAST_FAMILIES - names}"
    targets = {dict(labels).get("target") for name, labels, _ in expected}
    assert {"wip", "bugs"} <= targets

    _deliver_until_shown(stack, delivered, len(events), FORECAST_FAMILIES, expected)


def _deliver_until_shown(
    stack: Stack,
    delivered: list[dict[str, Any]],
    applied: int,
    families: set[str],
    expected: list[Sample],
) -> None:
    """Start ingester and worker, post the events 50 a request, wait until all are applied and
    the stream stage shows `expected` for `families`."""
    stack.start_ingester()
    stack.start_worker()
    for start in range(0, len(delivered), 50):
        status, body = post_generic(stack.ingest_url, stack.secret, delivered[start : start + 50])
        assert status == 202, body

    def caught_up() -> bool:
        text = stack.metrics()
        return sample_value(text, "flowgauge_events_total", outcome="applied") == applied

    wait_until(caught_up, 120, interval=0.5, what=f"{applied} events applied")
    wait_until(
        lambda: gauges(stack.metrics(), families) == expected,
        30,
        0.5,
        what="the stream stage caught up",
    )


BREAKDOWN_FAMILIES = {
    "flowgauge_handoffs_per_item",
    "flowgauge_blocked_reason_seconds",
    "flowgauge_blocked_reason_items",
    "flowgauge_distribution_wip_items",
    "flowgauge_distribution_throughput_items",
}


def test_handoffs_reasons_and_distribution_live_equal_the_batch_report(
    stack: Stack, tmp_path: Path
) -> None:
    """Issue 20: handoffs, blocked reasons and distribution of `/metrics` are the report's,
    sample for sample, for a history with assignees, teams (some through `teams:`), parents and
    blocked reasons, delivered shuffled with duplicates."""
    config = tmp_path / "flow.yaml"
    config.write_text(TEAMS_CONFIG + EVENT_CLOCK_CONFIG)
    stack.config = config
    rng = random.Random(20)
    events = item_history(rng, 300, with_holders=True)
    delivered = shuffled_with_duplicates(rng, events, dup_share=0.10)
    recorded = record(events, tmp_path / "events.jsonl")
    expected = gauges(report_text(config, recorded), BREAKDOWN_FAMILIES)
    names = {name for name, _, _ in expected}
    assert names == BREAKDOWN_FAMILIES, f"missing from the report: {BREAKDOWN_FAMILIES - names}"

    _deliver_until_shown(stack, delivered, len(events), BREAKDOWN_FAMILIES, expected)
    # and every other flow family of the same history too (the new fields change none of them)
    assert gauges(stack.metrics()) == gauges(report_text(config, recorded))
