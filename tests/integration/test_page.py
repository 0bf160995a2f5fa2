"""The live page and the html report in a real browser (Debian's chromium, headless, selenium).

Against a running worker fed a generated history: the page renders with no console error and
no request leaving the machine, every number it shows equals `/metrics`, and after more events
arrive it shows the new numbers without a reload. The html report renders its charts from
file:// with no network. Screenshots land in the test's tmp dir (the path is printed).
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browserkit import (
    available,
    chromium,
    console_errors,
    full_page_screenshot,
    requested_urls,
    shown_samples,
)
from compare import record, sample_value
from scenario import EVENT_CLOCK_CONFIG, dora_history, item_history, post_generic
from stackkit import Stack, wait_until

from flowgauge.report import samples
from flowgauge.view.compare import keyed
from flowgauge.view.words import duration

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    if not available():
        pytest.fail("chromium and chromium-driver are missing: run scripts/install-tools.sh")


def expected_values(metrics_text: str) -> dict[str, float]:
    """Every sample of a scrape by the key the page writes (plus the per-stream sums)."""
    return {key: value for key, (_, _, value) in keyed(samples(metrics_text)).items()}


def mismatches(shown: dict[str, tuple[str, str]], expected: dict[str, float]) -> list[str]:
    """Numbers on the page that differ from the scrape (value, or its text for durations)."""
    wrong: list[str] = []
    for sample, (value, text) in shown.items():
        want = expected.get(sample)
        got = None if value == "" else float(value)
        if got != want:
            wrong.append(f"{sample}: page {value!r}, /metrics {want!r}")
        elif want is not None and text and "_seconds{" in sample and text != duration(want):
            wrong.append(f"{sample}: shown {text!r}, expected {duration(want)!r}")
    return wrong


def full_screenshot(driver: Any, path: Path) -> Path:
    full_page_screenshot(driver, path)
    print(f"screenshot: {path}")
    return path


def charts_drawn(driver: Any) -> int:
    count: int = driver.execute_script(
        "return document.querySelectorAll('[data-chart] .main-svg').length"
    )
    return count


def wait_drawn(driver: Any, timeout: float = 30) -> None:
    """Wait for the four charts and the two forecast charts; on timeout say what the page shows
    and what the console says."""
    try:
        wait_until(lambda: charts_drawn(driver) >= 6, timeout, what="the six charts drawn")
    except AssertionError as exc:
        status = driver.execute_script("return document.getElementById('status').textContent")
        raise AssertionError(f"{exc}; status {status!r}; log {driver.get_log('browser')}") from None


def forecasts_shown(shown: dict[str, tuple[str, str]]) -> int:
    """How many forecast numbers the page shows with a value (flowgauge_forecast_*)."""
    return sum(1 for key, (value, _) in shown.items() if "forecast_" in key and value != "")


def only_local(urls: list[str], allowed: Callable[[str], bool]) -> list[str]:
    return [url for url in urls if not allowed(url)]


def deliver(stack: Stack, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 50):
        status, body = post_generic(stack.ingest_url, stack.secret, events[start : start + 50])
        assert status == 202, body


def test_live_page_shows_metrics_and_follows_new_events(stack: Stack, tmp_path: Path) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(EVENT_CLOCK_CONFIG)
    stack.config = config
    rng = random.Random(20261129)
    events = item_history(rng, 160) + dora_history(rng, 30)
    first, later = events[: len(events) * 2 // 3], events[len(events) * 2 // 3 :]
    stack.start_ingester()
    stack.start_worker()

    def applied(n: int) -> Callable[[], bool]:
        return lambda: (
            sample_value(stack.metrics(), "flowgauge_events_total", outcome="applied") == n
        )

    deliver(stack, first)
    wait_until(applied(len(first)), 120, interval=0.5, what=f"{len(first)} events applied")
    base = stack.metrics_url().removesuffix("/metrics")  # the worker's http://127.0.0.1:port
    page = base + "/"
    with chromium() as driver:
        driver.get(page)
        wait_drawn(driver)
        expected = expected_values(stack.metrics())
        shown = shown_samples(driver)
        assert len(shown) > 40, shown
        assert forecasts_shown(shown) >= 9 + 3, shown  # how many: 3 x 3; when (wip): 3
        assert mismatches(shown, expected) == []
        driver.execute_script("window.flowgaugeLoaded = 'first load';")
        full_screenshot(driver, tmp_path / "page.png")

        deliver(stack, later)
        wait_until(applied(len(events)), 120, interval=0.5, what=f"{len(events)} events applied")
        expected = expected_values(stack.metrics())
        wait_until(
            lambda: mismatches(shown_samples(driver), expected) == [],
            30,
            interval=0.5,
            what="the page showing the new numbers",
        )
        assert driver.execute_script("return window.flowgaugeLoaded") == "first load"  # no reload
        throughput = 'flowgauge_throughput_items{stream="delivery"}'
        assert shown[throughput] != shown_samples(driver)[throughput]  # it did change
        full_screenshot(driver, tmp_path / "page-after.png")
        assert only_local(requested_urls(driver), lambda u: u.startswith(page)) == []
        assert console_errors(driver) == []


def report(config: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "flowgauge", "report", "--config", str(config), *args],
        capture_output=True,
        check=True,
        timeout=120,
    )


# A second stream that no generated event routes to: the page must say it has no data yet.
QUIET_STREAM = """\
  - name: operations
    match: {project: [no-such-project]}
    stages:
      - {name: todo, kind: wait,   states: [Todo]}
      - {name: done, kind: done,   states: [Closed]}
dora:"""


def test_html_report_renders_from_file_with_no_network(tmp_path: Path) -> None:
    config = tmp_path / "flow.yaml"
    config.write_text(EVENT_CLOCK_CONFIG.replace("dora:", QUIET_STREAM, 1))
    rng = random.Random(20261130)
    events = item_history(rng, 160) + dora_history(rng, 30)
    before = record(events[: len(events) // 2], tmp_path / "before.jsonl")
    after = record(events, tmp_path / "after.jsonl")
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(report(config, "--format", "json", str(before)).stdout)
    html, compared = tmp_path / "report.html", tmp_path / "report-compare.html"
    report(config, "--format", "html", "-o", str(html), str(after))
    report(config, "--format", "html", "-o", str(compared), "--compare", str(baseline), str(after))
    prom = report(config, "--format", "prom", str(after)).stdout.decode()

    with chromium() as driver:
        for path in (html, compared):
            uri = path.as_uri()
            driver.get(uri)
            wait_drawn(driver)
            shown = shown_samples(driver)
            assert forecasts_shown(shown) >= 9 + 3, shown
            assert mismatches(shown, expected_values(prom)) == []
            assert only_local(requested_urls(driver), uri.__eq__) == []
            assert console_errors(driver) == []
            quiet = driver.execute_script(
                "return document.querySelector('#stream-operations .nodata').textContent"
            )
            assert quiet.startswith("No data yet for stream operations"), quiet
            full_screenshot(driver, tmp_path / f"{path.stem}.png")
        marks = driver.execute_script(
            "return Array.from(document.querySelectorAll('.was.better, .was.worse')).length"
        )
        assert marks > 5
