"""OffsetSet: the record of absorbed offsets that gap repair reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flowgauge.stream.offsets import OffsetSet


def test_sequential_offsets_make_one_range_and_holes_are_the_complement() -> None:
    s = OffsetSet()
    for offset in [0, 1, 2, 3, 7, 8, 12]:
        s.add(offset)
    assert s.ranges() == [(0, 4), (7, 9), (12, 13)]
    assert list(s.holes(0, 15)) == [(4, 7), (9, 12), (13, 15)]
    assert list(s.holes(5, 8)) == [(5, 7)]
    assert s.end == 13
    assert 3 in s and 4 not in s


def test_ranges_merge_when_they_touch_or_overlap() -> None:
    s = OffsetSet([(10, 20), (30, 40)])
    s.add_range(20, 30)
    assert s.ranges() == [(10, 40)]
    s.add_range(0, 5)
    s.add_range(3, 12)
    assert s.ranges() == [(0, 40)]


@given(st.lists(st.integers(0, 200), max_size=300), st.integers(0, 100), st.integers(0, 250))
def test_set_equals_a_python_set_and_survives_serialization(
    offsets: list[int], low: int, high: int
) -> None:
    s = OffsetSet()
    for offset in offsets:
        s.add(offset)
    truth = set(offsets)
    s = OffsetSet.from_bytes(s.to_bytes())
    assert all((o in s) == (o in truth) for o in range(0, 202))
    missing = {o for a, b in s.holes(low, high) for o in range(a, b)}
    assert missing == {o for o in range(low, high) if o not in truth}
    starts = [a for a, _ in s.ranges()]
    assert starts == sorted(starts)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(s.ranges(), s.ranges()[1:], strict=False))
