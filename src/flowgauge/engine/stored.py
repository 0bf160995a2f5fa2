"""The facts derived from an item's timeline, kept beside it in the stored value.

A worker rebuilds its processor from every stored timeline after each recovery. Decoding a
timeline (pydantic validation of every event) and deriving its facts is ~60 % of that rebuild
(bench: 1,000,000 items, ~27 s in process), so each stored value also carries the `ItemFacts`
its timeline gave when it was written, tagged with a fingerprint of everything `derive` reads
(the stream's `StreamPlan` and `FACTS_VERSION`). A rebuild uses them only when the fingerprint
is the one the current config gives; otherwise (the stage mapping, commitment, defect types,
blocked labels or the people -> team mapping changed, or a newer flowgauge derives differently) it
decodes and re-derives the timeline as before, so the cache can never make a number differ from
`derive`.

The timeline stays the source of truth: the cached facts are a pure function of it and the plan.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from typing import Any

import orjson

from flowgauge.engine.item import ItemFacts, StreamPlan

#: Bump whenever `derive` (or ItemFacts) changes meaning: every cached fact is then re-derived.
#: 2: blocked reasons, handoffs, team and parent (issue 20); a version-1 cache is re-derived.
FACTS_VERSION = 2

#: What `Timeline.to_bytes(cached=...)` stores under "x": [fingerprint, last event µs, facts].
Cached = list[Any]

_FIELDS = tuple(field.name for field in fields(ItemFacts))


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
        sorted(plan.teams.items()),
        _FIELDS,  # a renamed, added or reordered field invalidates every cache by itself
    ]
    return hashlib.blake2b(orjson.dumps(canonical), digest_size=8).hexdigest()


def cached(print_: str, last_micros: int | None, facts: ItemFacts | None) -> Cached:
    """The "x" entry of a stored value (facts None: a deleted item)."""
    return [print_, last_micros, None if facts is None else facts_to_json(facts)]


def facts_to_json(facts: ItemFacts) -> list[Any]:
    """ItemFacts as a positional JSON list, in field order (the fingerprint covers the order)."""
    return [getattr(facts, name) for name in _FIELDS]


#: Positions in `facts_to_json`'s list of the fields JSON turns into lists of lists, and lists.
_NESTED = tuple(_FIELDS.index(name) for name in ("stages", "visits", "reason_time"))
_FLAT = tuple(_FIELDS.index(name) for name in ("unmapped_states", "blocked_reasons", "handoffs"))


def facts_from_json(data: list[Any]) -> ItemFacts:
    """Inverse of `facts_to_json`: JSON arrays back into the tuples ItemFacts holds.

    Positional, not by name: a stream stage's rebuild calls it once per item (1,000,000 at
    the issue's size), and a dict of the fields per call was a fifth of that rebuild."""
    if len(data) != len(_FIELDS):
        raise ValueError(f"cached facts have {len(data)} fields, not {len(_FIELDS)}")
    values = list(data)
    for at in _NESTED:
        values[at] = tuple(map(tuple, values[at]))
    for at in _FLAT:
        values[at] = tuple(values[at])
    return ItemFacts(*values)
