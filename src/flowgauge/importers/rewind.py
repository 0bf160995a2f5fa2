"""What the history renderers (jira_history, gitlab_history, linear_history, plane_history) share:
an API gives an item as it is now and its changes, and a webhook carried the item as it was
right after each change; walking the changes back from now, each undone, gives those. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from typing import Any, TypeVar

from flowgauge.model.micros import to_micros
from flowgauge.sources._common import timestamp

State = TypeVar("State")
Step = TypeVar("Step")
Entry = TypeVar("Entry")


def rewind(
    now: State, steps: Sequence[Step], undo: Callable[[State, Step], State]
) -> tuple[State, list[State]]:
    """The state before the first step and the state right after each step (oldest first),
    from the state now: the steps undone newest first."""
    after: list[State] = []
    state = now
    for step in reversed(steps):
        after.append(state)
        state = undo(state, step)
    after.reverse()
    return state, after


def undo_each(undo: Callable[[State, Entry], State]) -> Callable[[State, Sequence[Entry]], State]:
    """Undo a group of entries (one instant's) as its entries, newest first."""

    def undo_group(state: State, group: Sequence[Entry]) -> State:
        for entry in reversed(group):
            state = undo(state, entry)
        return state

    return undo_group


def instants(
    entries: Iterable[Entry], order: Callable[[Entry], tuple[int, str]]
) -> list[list[Entry]]:
    """The entries in `order`, grouped by its first part, the instant (one webhook each)."""
    ordered = sorted(entries, key=order)
    return [list(group) for _, group in groupby(ordered, key=lambda entry: order(entry)[0])]


def millis(value: Any, what: str) -> int:
    """A tool's time as the epoch milliseconds a webhook carries, or PayloadError naming it."""
    return to_micros(timestamp(value, what)) // 1000
