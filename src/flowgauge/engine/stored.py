"""The facts derived from an item's timeline, kept beside it in the stored value.

A worker rebuilds its processor from every stored timeline after each recovery. Decoding a
timeline (pydantic validation of every event) and deriving its facts is ~60 % of that rebuild
(bench: 1,000,000 items, ~27 s in process), so each stored value also carries the `ItemFacts`
its timeline gave when it was written, tagged with a fingerprint of everything `derive` reads
(the stream's `StreamPlan` and `FACTS_VERSION`). A rebuild uses them only when the fingerprint
is the one the current config gives; otherwise (the stage mapping, commitment, defect types or
blocked labels changed, or a newer flowgauge derives differently) it decodes and re-derives the
timeline as before, so the cache can never make a number differ from `derive`.

The timeline stays the source of truth: the cached facts are a pure function of it and the plan.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from flowgauge.engine.item import ItemFacts, StageTimes, StreamPlan

#: Bump whenever `derive` (or ItemFacts) changes meaning: every cached fact is then re-derived.
FACTS_VERSION = 1

#: What `Timeline.to_bytes(cached=...)` stores under "x": [fingerprint, last event µs, facts].
Cached = list[Any]


def fingerprint(stream: str, plan: StreamPlan) -> str:
    """A short digest of what `derive` reads of `stream`'s config; stable across processes."""
    canonical = [
        FACTS_VERSION,
        stream,
        sorted(plan.states.items()),
        list(plan.kinds),
        sorted(plan.blocked_labels),
        plan.commitment,
        sorted(plan.defect_types),
    ]
    return hashlib.blake2b(orjson.dumps(canonical), digest_size=8).hexdigest()


def cached(print_: str, last_micros: int | None, facts: ItemFacts | None) -> Cached:
    """The "x" entry of a stored value (facts None: a deleted item)."""
    return [print_, last_micros, None if facts is None else facts_to_json(facts)]


def facts_to_json(facts: ItemFacts) -> list[Any]:
    """ItemFacts as a positional JSON list (field order is part of FACTS_VERSION)."""
    return [
        facts.created_at,
        facts.started_at,
        facts.completed_at,
        facts.stage,
        facts.blocked,
        facts.stage_entered_at,
        facts.rework,
        facts.defect,
        facts.stages,
        facts.active,
        facts.wait,
        facts.blocked_time,
        facts.unmapped,
        facts.visits,
    ]


def facts_from_json(data: list[Any]) -> ItemFacts:
    """Inverse of `facts_to_json`."""
    (created, started, completed, stage, blocked, entered, rework, defect) = data[:8]
    stages, active, wait, blocked_time, unmapped, visits = data[8:]
    stage_times: tuple[StageTimes, ...] = tuple((s, a, w, b) for s, a, w, b in stages)
    return ItemFacts(
        created_at=created,
        started_at=started,
        completed_at=completed,
        stage=stage,
        blocked=blocked,
        stage_entered_at=entered,
        rework=rework,
        defect=defect,
        stages=stage_times,
        active=active,
        wait=wait,
        blocked_time=blocked_time,
        unmapped=unmapped,
        visits=tuple((t, s) for t, s in visits),
    )
