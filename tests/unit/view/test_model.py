"""The view model shows exactly the numbers the exposition renders for the same processor, and
its charts are what the items' timelines say (checked against brute force over the events)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from view_history import STATES, config, history, item_events, processor

from flowgauge.exposition import render
from flowgauge.view.model import view

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def exposed(events: list[dict[str, Any]], wall: int = 0) -> Samples:
    text = render(processor(events).snapshot(wall)).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def get(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((f"flowgauge_{name}", frozenset(labels.items())))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_figure_of_the_view_is_the_exposed_sample(seed: int) -> None:
    events = history(seed)
    samples = exposed(events)
    model = view(processor(events), 0)
    checked = 0
    for s in model["streams"]:
        name, f = s["name"], s["figures"]
        assert f["throughput"] == get(samples, "throughput_items", stream=name)
        assert f["flow_efficiency"] == get(samples, "flow_efficiency_ratio", stream=name)
        for q in ("0.5", "0.85", "0.95"):
            assert f["lead_time"].get(q) == get(
                samples, "lead_time_seconds", stream=name, quantile=q
            )
            assert f["cycle_time"].get(q) == get(
                samples, "cycle_time_seconds", stream=name, quantile=q
            )
        wip = blocked = 0.0
        for g in s["stages"]:
            at = {"stream": name, "stage": g["name"]}
            if not g["done"]:
                assert g["wip"] == get(samples, "wip_items", **at)
                assert g["blocked"] == get(samples, "blocked_items", **at)
                wip += g["wip"]
                blocked += g["blocked"]
                assert g["bottleneck"] == (get(samples, "bottleneck", **at) == 1)
                assert g["score"] == get(samples, "bottleneck_score", **at)
                for signal, on in g["signals"].items():
                    assert on == (get(samples, "stage_signal", **at, signal=signal) == 1)
                    checked += 1
            assert g["age_p85"] == get(samples, "work_item_age_seconds", **at, quantile="0.85")
            assert g["age_oldest"] == get(samples, "work_item_age_seconds", **at, quantile="1")
            for q in ("0.5", "0.85", "0.95"):
                assert g["time_in_stage"].get(q) == get(
                    samples, "stage_time_seconds", **at, quantile=q
                )
            for kind, value in g["seconds"].items():
                assert value == get(samples, "stage_seconds", **at, kind=kind)
        assert (f["wip"], f["blocked"]) == (wip, blocked)
    for svc in model["services"]:
        at = {"service": svc["service"]}
        assert svc["deployment_frequency_per_day"] == get(
            samples, "dora_deployment_frequency_per_day", **at
        )
        assert svc["change_failure_ratio"] == get(samples, "dora_change_failure_ratio", **at)
        for q, value in svc["lead_time_for_changes"].items():
            assert value == get(samples, "dora_lead_time_for_changes_seconds", **at, quantile=q)
    assert checked > 0 and model["services"]


def test_the_bottleneck_is_named_with_the_alert_words() -> None:
    model = view(processor(history(1)), 0)
    delivery = model["streams"][0]
    marked = [g for g in delivery["stages"] if g["bottleneck"]]
    assert len(marked) == 1 and delivery["bottleneck"]["stage"] == marked[0]["name"]
    sentence = delivery["bottleneck"]["sentence"]
    assert sentence.startswith(f"delivery/{marked[0]['name']}: ")
    assert "bottleneck signals hold" in sentence
    assert sentence.endswith("Stop starting new work upstream and help this stage finish.")


def test_a_stream_without_events_says_so() -> None:
    empty = view(processor(history(1)), 0)["streams"][1]
    assert empty["name"] == "empty" and not empty["has_data"]
    assert empty["figures"]["throughput"] == 0 and empty["bottleneck"] is None
    assert empty["charts"]["cycle_time_scatter"]["items"] == []


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def brute_arrived(events: list[dict[str, Any]], stage: int, until: float) -> int:
    """Items (not deleted) with an event at or before `until` placing them in `stage` or later;
    every item created by then counts for the first stage."""
    by_item: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_item.setdefault(e["item"], []).append(e)
    count = 0
    for item_events_ in by_item.values():
        if any(e["type"] == "deleted" for e in item_events_):
            continue
        times = [_epoch(e["at"]) for e in item_events_]
        reached = min(times) <= until and stage == 0
        for e, t in zip(item_events_, times, strict=True):
            state = e.get("state")
            if t <= until and state in STATES and STATES.index(state) >= stage:
                reached = True
        count += reached
    return count


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 25))
def test_cumulative_flow_is_every_stage_reached_by_each_day(seed: int, n: int) -> None:
    events = item_events(random.Random(seed), n, days=12)
    cfd = view(processor(events), 0)["streams"][0]["charts"]["cumulative_flow"]
    assert cfd["stages"] == ["backlog", "development", "review", "testing", "done"]
    for index, counts in enumerate(cfd["arrived"]):
        expected = [brute_arrived(events, index, _epoch(at)) for at in cfd["at"]]
        assert counts == expected
        assert counts == sorted(counts)  # cumulative: never decreases
    for upper, lower in zip(cfd["arrived"], cfd["arrived"][1:], strict=False):
        assert all(a >= b for a, b in zip(upper, lower, strict=True))  # curves never cross


@pytest.mark.parametrize("seed", [4, 5])
def test_runs_and_scatter_are_the_window_the_metrics_count(seed: int) -> None:
    events = history(seed, n_items=120)
    model = view(processor(events), 0)["streams"][0]
    f, c = model["figures"], model["charts"]
    assert sum(c["throughput"]["completed"]) == f["throughput"]
    assert len(c["throughput"]["day"]) == len(c["cumulative_flow"]["at"]) >= 30
    cycles = c["cycle_time_scatter"]["cycle_seconds"]
    lines = c["cycle_time_scatter"]["lines"]
    assert lines == f["cycle_time"]
    for q in ("0.5", "0.85", "0.95"):
        assert float(np.quantile(cycles, float(q))) == pytest.approx(lines[q], rel=1e-9)
    aging = c["aging"]
    in_progress = sum(g["wip"] for g in model["stages"] if not g["done"])
    assert len(aging["age_seconds"]) == in_progress
    for g in model["stages"]:
        ages = [
            a for a, s in zip(aging["age_seconds"], aging["stage"], strict=True) if s == g["name"]
        ]
        if ages:
            assert max(ages) == g["age_oldest"]


def test_the_view_is_json() -> None:
    import orjson

    model = view(processor(history(2)), 0)
    assert orjson.loads(orjson.dumps(model)) == model
    assert config().streams[0].name == model["streams"][0]["name"]


def with_holders(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with assignees, teams, parents and blocked reasons (by position, seeded)."""
    rng = random.Random(20)
    out = []
    for event in events:
        event = dict(event)
        if event["type"] in ("blocked", "unblocked"):
            event["reason"] = rng.choice(["dependency", "flag"])
        elif event.get("item", "").startswith("IT-"):
            event["assignee"] = rng.choice(["ana", "bo", None])
            event["team"] = rng.choice(["pay", "core", None])
            event["parent"] = rng.choice(["EPIC-1", None])
        out.append(event)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_the_breakdown_of_the_view_is_the_exposed_samples(seed: int) -> None:
    events = with_holders(history(seed))
    samples = exposed(events)
    model = view(processor(events), 0)
    shown: Samples = {}
    for s in model["streams"]:
        name, b = s["name"], s["breakdown"]
        for kind, qs in b["handoffs"].items():
            for q, value in qs.items():
                shown[
                    ("flowgauge_handoffs_per_item", labels(stream=name, kind=kind, quantile=q))
                ] = value
        for r in b["blocked_reasons"]:
            at = labels(stream=name, reason=r["reason"])
            if r["items"] is not None:
                shown[("flowgauge_blocked_reason_items", at)] = r["items"]
            if r["seconds"] is not None:
                shown[("flowgauge_blocked_reason_seconds", at)] = r["seconds"]
        for d in b["distribution"]:
            at = labels(stream=name, dimension=d["dimension"], value=d["value"])
            if d["wip"] is not None:
                shown[("flowgauge_distribution_wip_items", at)] = d["wip"]
            if d["throughput"] is not None:
                shown[("flowgauge_distribution_throughput_items", at)] = d["throughput"]
    families = {name for name, _ in shown}
    expected = {k: v for k, v in samples.items() if k[0] in BREAKDOWN}
    assert families == BREAKDOWN  # the history names every one of them
    assert shown == expected


BREAKDOWN = {
    "flowgauge_handoffs_per_item",
    "flowgauge_blocked_reason_items",
    "flowgauge_blocked_reason_seconds",
    "flowgauge_distribution_wip_items",
    "flowgauge_distribution_throughput_items",
}


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())
