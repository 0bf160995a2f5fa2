"""Which offsets of a partition the worker's state has absorbed, and the holes between them.

Faust can commit past offsets nobody processed (a fetch jump taken for a compaction hole, its
commit races: faust-streaming#596, #606). The agents record every offset they handle in an
`OffsetSet` per (topic, partition), persisted in the table beside the timelines (so it lives and
recovers with them); a periodic check re-reads every hole through the idempotent path. Recording
is lazy (persisted every second or so): after a crash the set can only be *smaller* than the
truth, which makes the check re-read events the state already holds, a no-op. Never the reverse.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

import orjson

#: Message key of a repair marker: "offsets [a, b) of this partition were re-sent below me".
REPAIR_KEY = b"\x00flowgauge-repaired"
#: Table key prefix of persisted offset sets: `\x00o|<role>|<partition>`.
TABLE_PREFIX = "\x00o|"


def table_key(role: str, partition: int) -> bytes:
    return f"{TABLE_PREFIX}{role}|{partition}".encode()


class OffsetSet:
    """Disjoint half-open ranges [start, end) of offsets, merged as they touch."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, ranges: list[tuple[int, int]] | None = None) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for start, end in ranges or ():
            self.add_range(start, end)

    def add(self, offset: int) -> None:
        """Record one offset: O(1) for the usual case of the next offset after the last range."""
        if self._ends and self._ends[-1] == offset:
            self._ends[-1] = offset + 1
            return
        self.add_range(offset, offset + 1)

    def add_range(self, start: int, end: int) -> None:
        if end <= start:
            return
        i = bisect.bisect_left(self._ends, start)  # first range that ends at/after start
        j = bisect.bisect_right(self._starts, end)  # ranges starting at/before end overlap
        if i < j:
            start = min(start, self._starts[i])
            end = max(end, self._ends[j - 1])
        self._starts[i:j] = [start]
        self._ends[i:j] = [end]

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends, strict=True))

    def __contains__(self, offset: object) -> bool:
        if not isinstance(offset, int):
            return False
        i = bisect.bisect_right(self._starts, offset) - 1
        return i >= 0 and offset < self._ends[i]

    def holes(self, low: int, high: int) -> Iterator[tuple[int, int]]:
        """The ranges of [low, high) not in the set."""
        cursor = low
        for start, end in zip(self._starts, self._ends, strict=True):
            if end <= cursor:
                continue
            if start >= high:
                break
            if start > cursor:
                yield (cursor, start)
            cursor = max(cursor, end)
        if cursor < high:
            yield (cursor, high)

    @property
    def end(self) -> int:
        """One past the highest offset recorded (0 when empty)."""
        return self._ends[-1] if self._ends else 0

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.ranges())

    @classmethod
    def from_bytes(cls, raw: bytes) -> OffsetSet:
        return cls([(int(a), int(b)) for a, b in orjson.loads(raw)])
