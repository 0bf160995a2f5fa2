"""The facts topic: what the timelines stage tells the stream stage, and how a fact is judged.

The timelines stage (partitioned by item) derives an item's facts whenever its timeline takes an
event and sends them, absolute, to `<prefix>-facts` keyed by the item's stream (`keys.facts_key`),
so one partition, hence one worker, holds every item of a stream. A DORA key's fact is its whole
timeline (DORA joins entities across keys), all on one partition. Every value is absolute and
carries `n`, the number of events of the timeline it came from: a timeline only grows, so a
larger `n` is newer, an equal `n` is the same fact, and a replayed, duplicated or late fact is a
no-op. A *watermark* carries the latest event time a worker's timelines hold: the `now` of
`clock: event` is the maximum over them, as in a report.

Record values (JSON):
  item       {"k": "i|<stream>|<item>", "n": 12, "x": [fingerprint, last µs, facts | null]}
  DORA       {"k": "d|<service>|<entity>", "n": 3, "t": <the timeline as stored>}
  watermark  {"w": <µs>}   (sent to every partition)
The stream stage stores each fact as it came, under the state key (a watermark under
`WATERMARK_PREFIX` + its partition), so its table is co-partitioned with the topic.

A record carries one fact or a *pack* of them: facts of one facts key joined by newlines (compact
JSON has none of its own), so a batch of the timelines stage costs the facts topic one record per
stream, not one per item: Faust's per-message path, paid twice per record (produced, then
consumed), was a fifth of a one-event record's cost. A single fact is a pack of one, so records
written before packs read the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from flowgauge.engine.stored import Cached
from flowgauge.engine.timeline import Timeline

#: Table keys of the watermarks, one per facts partition (never a state key: those start i|, d|).
WATERMARK_PREFIX = b"\x00w|"


#: Timelines-table key of a partition whose every key's fact was sent to the facts topic, as
#: derived under the config its value names (`sent_marker`): `\x00f|<partition>`. A rebuild sends
#: the facts of a held partition without it (a store written before the facts topic existed),
#: re-derives those of a partition marked under another config, and reads nothing of a partition
#: marked under this one (`recovery.rebuild`); the agents write it at the partition's next
#: message (`Handlers.mark`).
SENT_PREFIX = b"\x00f|"


def sent_key(partition: int) -> bytes:
    return SENT_PREFIX + str(partition).encode()


def sent_marker(fingerprints: Iterable[tuple[str, str]]) -> bytes:
    """The marker's value: a digest of every stream's facts fingerprint (engine/stored.py), so
    a marker written under another stage mapping, commitment or flowgauge version differs."""
    canonical = orjson.dumps(sorted(fingerprints))
    return b"c" + hashlib.blake2b(canonical, digest_size=8).hexdigest().encode()


def item_fact(key: str, events: int, entry: Cached) -> bytes:
    """An item's fact: its stored-facts entry (engine/stored.py) and its timeline's length."""
    return orjson.dumps({"k": key, "n": events, "x": entry})


def dora_fact(key: str, timeline: Timeline) -> bytes:
    """A DORA key's fact: its whole timeline."""
    return orjson.dumps(
        {"k": key, "n": len(timeline.events), "t": orjson.Fragment(timeline.to_bytes())}
    )


#: A pack's size bound: far below the broker's and the producer's 1 MiB record limit.
PACK_BYTES = 256 * 1024
SEPARATOR = b"\n"


def packs(
    facts: Iterable[tuple[bytes, bytes]], most: int = PACK_BYTES
) -> Iterator[tuple[bytes, bytes]]:
    """(facts key, pack) records of (facts key, fact) pairs: each key's facts in their order,
    joined while the pack stays within `most` bytes (a larger fact goes alone)."""
    held: dict[bytes, tuple[list[bytes], int]] = {}
    for key, fact in facts:
        group, size = held.get(key) or ([], 0)
        if group and size + len(fact) + 1 > most:
            yield key, SEPARATOR.join(group)
            group, size = [], 0
        group.append(fact)
        held[key] = (group, size + len(fact) + 1)
    for key, (group, _) in held.items():
        yield key, SEPARATOR.join(group)


def unpacked(record: bytes) -> list[bytes]:
    """The facts of one facts record, in order (an empty record is one bad fact, not none)."""
    return record.split(SEPARATOR)


def watermark_fact(micros: int) -> bytes:
    return orjson.dumps({"w": micros})


def watermark_key(partition: int) -> bytes:
    return WATERMARK_PREFIX + str(partition).encode()


@dataclass(frozen=True, slots=True)
class Fact:
    """One decoded facts record; exactly one of `entry` (item), `timeline` (DORA), `watermark`."""

    key: str
    events: int
    entry: Cached | None = None
    timeline: dict[str, Any] | None = None
    watermark: int | None = None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Fact:
        """Decode a record; ValueError (with the reason) for anything else."""
        try:
            data = orjson.loads(raw)
            if "w" in data:
                return cls(key="", events=0, watermark=int(data["w"]))
            key, events = str(data["k"]), int(data["n"])
            if "x" in data and key.startswith("i|"):
                entry = data["x"]
                if not isinstance(entry, list) or len(entry) != 3:
                    raise ValueError("a facts entry is [fingerprint, last, facts]")
                return cls(key=key, events=events, entry=entry)
            if "t" in data and key.startswith("d|"):
                return cls(key=key, events=events, timeline=data["t"])
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"bad fact: {exc!r}") from None
        raise ValueError("bad fact: neither an item, a DORA key nor a watermark")


def supersedes(new: Fact, old: Fact | None, fingerprint: str | None) -> bool:
    """Whether `new` replaces `old` (same table key). `fingerprint`: the one this worker's config
    gives the item's stream; an item's fact derived under another config is never taken."""
    if new.watermark is not None:
        return old is None or old.watermark is None or new.watermark > old.watermark
    if new.entry is not None:
        if new.entry[0] != fingerprint:
            return False
        if old is None or old.entry is None or old.entry[0] != fingerprint:
            return True
    elif old is None:
        return True
    return new.events > old.events
