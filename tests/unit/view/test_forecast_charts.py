"""The forecast charts mark exactly the `/metrics` forecast samples, and their curves are the
exact distributions those samples are read from (METRICS.md, "Forecasts")."""

from __future__ import annotations

import copy
import itertools
from fractions import Fraction
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from view_history import CONFIG, history

from flowgauge.engine.forecast import (
    DAY_SECONDS,
    DailyThroughput,
    completion_curve,
    probability_at_least,
    tail_curves,
)
from flowgauge.engine.processor import Processor
from flowgauge.exposition import render
from flowgauge.model import FlowConfig, FlowEvent
from flowgauge.view.forecasts import FEW_COMPLETIONS, warning
from flowgauge.view.model import view

TOLERANCE = 1e-9  # the float walk's error is far below this (engine/forecast.py `_float_error`)


def forecast_config(due: str = "2026-10-20") -> FlowConfig:
    raw: dict[str, Any] = copy.deepcopy(CONFIG)
    raw["streams"][0]["forecasts"] = [
        {"name": "bugs", "match": {"item_type": ["bug"]}, "due": due},
        {"name": "features", "match": {"item_type": "feature"}},
    ]
    return FlowConfig.model_validate(raw)


def run(seed: int, n_items: int = 250, due: str = "2026-10-20") -> Processor:
    events = [FlowEvent.model_validate(e) for e in history(seed, n_items)]
    return Processor.from_events(forecast_config(due), events)


def exposed(p: Processor) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = render(p.snapshot(0)).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("flowgauge_forecast_")
    }


def marked(name: str, chart: dict[str, Any]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every number the chart marks, keyed as its `/metrics` sample."""
    shown: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for h in chart["how_many"]:
        for c, k in h["items"].items():
            labels = {"stream": name, "days": str(h["days"]), "confidence": c}
            shown[("flowgauge_forecast_items", frozenset(labels.items()))] = k
    for t in chart["when"]:
        at = {"stream": name, "target": t["target"]}
        for c, seconds in t["completion_seconds"].items():
            labels = {**at, "confidence": c}
            shown[("flowgauge_forecast_completion_seconds", frozenset(labels.items()))] = seconds
        shown[("flowgauge_forecast_remaining_items", frozenset(at.items()))] = t["remaining"]
        if t["due"] is not None:
            shown[("flowgauge_forecast_due_ratio", frozenset(at.items()))] = t["due"]
        if t["due_seconds"] is not None:
            shown[("flowgauge_forecast_due_timestamp_seconds", frozenset(at.items()))] = t[
                "due_seconds"
            ]
    return shown


@pytest.mark.parametrize(("seed", "due"), [(1, "2026-10-20"), (2, "2026-10-14"), (3, "2027-03-01")])
def test_every_marked_number_is_the_exposed_sample(seed: int, due: str) -> None:
    p = run(seed, due=due)
    samples = exposed(p)
    shown: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for stream in view(p, 0)["streams"]:
        shown.update(marked(stream["name"], stream["forecast"]))
    assert shown == samples
    chart = view(p, 0)["streams"][0]["forecast"]
    assert [t["target"] for t in chart["when"]] == ["wip", "bugs", "features"]
    assert len(chart["how_many"]) == 3 and chart["warning"] is None


@pytest.mark.parametrize("seed", [1, 2])
def test_the_curves_pass_through_the_marked_numbers(seed: int) -> None:
    chart = view(run(seed), 0)["streams"][0]["forecast"]
    for h in chart["how_many"]:
        tail = h["probability"]
        assert tail[0] == pytest.approx(1.0, abs=TOLERANCE)
        assert all(a >= b - TOLERANCE for a, b in itertools.pairwise(tail))
        for c, k in h["items"].items():
            assert tail[k] >= float(c) - TOLERANCE  # at least k items with chance >= c
            assert k + 1 == len(tail) or tail[k + 1] < float(c) + TOLERANCE  # not k + 1
    drawn = 0
    for t in chart["when"]:
        curve = t["probability"]
        assert t["day"] == list(range(1, len(curve) + 1))
        assert all(a <= b + TOLERANCE for a, b in itertools.pairwise(curve))
        for c, seconds in t["completion_seconds"].items():
            d = round(seconds / DAY_SECONDS)
            assert d <= len(curve)
            assert curve[d - 1] >= float(c) - TOLERANCE
            assert d == 1 or curve[d - 2] < float(c) + TOLERANCE
            drawn += 1
        if t["due"] is not None and t["due_days"] is not None and 0 < t["due_days"] <= len(curve):
            assert curve[t["due_days"] - 1] == pytest.approx(t["due"], abs=1e-6)
    assert drawn >= 6


def test_the_curves_are_the_exact_distributions() -> None:
    """Against the integer counts (probability_at_least), for every point of a small history."""
    chart = view(run(4, n_items=50), 0)["streams"][0]["forecast"]
    daily = DailyThroughput.of(chart["samples"])
    for h in chart["how_many"][:1]:
        for k, value in enumerate(h["probability"]):
            exact = probability_at_least(daily, k, h["days"])
            assert value == pytest.approx(float(exact), abs=TOLERANCE)
    wip = chart["when"][0]
    assert wip["remaining"] > 0
    for d in range(1, min(len(wip["probability"]), 40) + 1, 3):
        exact = probability_at_least(daily, wip["remaining"], d)
        assert wip["probability"][d - 1] == pytest.approx(float(exact), abs=TOLERANCE)


def test_the_samples_are_the_daily_completions_of_the_history() -> None:
    p = run(5)
    chart = view(p, 0)["streams"][0]["forecast"]
    now = p.now_micros(0)
    completed = [
        f.completed_at for f in p.flow.items("delivery").values() if f.completed_at is not None
    ]
    day = DAY_SECONDS * 1_000_000
    expected = [
        sum(1 for t in completed if now - (j + 1) * day < t <= now - j * day)
        for j in range(chart["history_days"])
    ]
    assert chart["samples"] == expected and chart["completions"] == sum(expected)


def test_too_few_completions_are_said_plainly() -> None:
    assert warning((0, 0, 0)) == "No item completed in the last 3 days: no forecast."
    few = warning((1, 0, 2))
    assert few is not None and few.startswith("Only 3 items completed in the last 3 days")
    assert warning((0, 1)) is not None and "Only 1 item completed" in str(warning((0, 1)))
    assert warning((FEW_COMPLETIONS,)) is None
    empty = view(run(1), 0)["streams"][1]["forecast"]
    assert empty["warning"] == "No item completed in the last 30 days: no forecast."
    assert [h["probability"] for h in empty["how_many"]] == [[1.0]] * 3
    assert [(t["target"], t["probability"]) for t in empty["when"]] == [("wip", [])]


def test_a_probability_is_a_fraction_the_curve_rounds() -> None:
    """Two equally likely days {0, 2}: P(S_2 >= 2) = 3/4, by hand."""
    daily = DailyThroughput.of([0, 2])
    assert probability_at_least(daily, 2, 2) == Fraction(3, 4)
    assert completion_curve(daily, 2, 2) == [0.5, 0.75]
    assert tail_curves(daily, (2,)) == {2: [1.0, 0.75, 0.75, 0.25, 0.25]}
