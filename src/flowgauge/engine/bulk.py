"""Bulk loading of the sorted structures the aggregates keep, for a fresh processor.

After every recovery the worker rebuilds its processor from up to millions of stored timelines
(`stream/recovery.py`, `restore`). Each item adds a handful of values to `SortedList`s, one
bisect-insert each; building each list once from all its values is one sort instead. While a
processor is loading, its sorted lists are `Pending` lists (an add is an append, a remove is a
plain list remove); `settle` turns each into the `SortedList` it stands for. The values, and so
every metric, are the same either way (tests/unit/engine/test_properties.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sortedcontainers import SortedKeyList, SortedList


class Pending(list[Any]):
    """A `SortedList` stand-in while loading: `add` appends, the sorting happens in `settle`."""

    add = list.append


def change(values: Any, value: Any, sign: int) -> None:
    """Add (sign 1) or remove (sign -1) one value of a `SortedList` (or a `Pending` list)."""
    if sign > 0:
        values.add(value)
    else:
        values.remove(value)


def pending(values: Any) -> Any:
    """A `Pending` list holding what `values` (a SortedList or a Pending list) holds."""
    return values if isinstance(values, Pending) else Pending(values)


def settle(values: Any, key: Callable[[Any], Any] | None = None) -> Any:
    """The `SortedList` (or `SortedKeyList` with `key`) a `Pending` list stands for."""
    if not isinstance(values, Pending):
        return values
    return SortedList(values) if key is None else SortedKeyList(values, key=key)
