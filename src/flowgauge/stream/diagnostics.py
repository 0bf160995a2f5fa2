"""Where a stalled worker waits: what its SIGUSR1 dump adds to Faust's.

`kill -USR1 <worker pid>` makes Faust's worker (mode's `cry`) print every thread's and task's
stack, but a task's stack ends at the first async generator it iterates ("rest of traceback
truncated"): the consumer's fetch loop waits inside `Consumer.getmany`, the agents inside their
own generators, and those are the frames that say why nothing moves. Python links a generator
to what it awaits (`ag_await`, `cr_await`), not to who awaits it, so they are found here by
walking the heap once and printing each suspended generator's chain down to the innermost
awaitable. Then what decides whether fetched records reach the agents (the Faust consumer's
flow and partition sets, aiokafka's position per partition) and the Kafka consumer thread's
tasks. Only on request: a walk of the heap is far too slow for anything periodic.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import Iterator
from typing import IO


def _frame_line(obj: object) -> str | None:
    frame = getattr(obj, "ag_frame", None) or getattr(obj, "cr_frame", None)
    frame = frame or getattr(obj, "gi_frame", None)
    if frame is None:
        return None
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_qualname}"


def await_chain(obj: object, limit: int = 64) -> Iterator[str]:
    """`obj`'s frame, then the frame of what it awaits, and so on; the last awaitable as is."""
    for _ in range(limit):
        line = _frame_line(obj)
        if line is None:
            yield repr(obj)[:300]
            return
        yield line
        awaited = getattr(obj, "ag_await", None) or getattr(obj, "cr_await", None)
        awaited = awaited or getattr(obj, "gi_yieldfrom", None)
        if awaited is None:
            return
        obj = awaited


def suspended_generators() -> list[object]:
    """Every async generator started and not finished. One awaiting inside counts as running
    (`ag_running`), so that says nothing; a frame still at its first instruction (`f_lasti`
    0) is one never started."""
    return [
        obj
        for obj in _tracked_objects()
        if inspect.isasyncgen(obj) and obj.ag_frame is not None and obj.ag_frame.f_lasti > 0
    ]


def _tracked_objects() -> list[object]:
    """Every object the collector tracks, the frozen ones too: the worker freezes what its
    first rebuild recovered (`recovery.without_cyclic_gc`), the agents' generators among them,
    and `gc.get_objects` leaves the frozen out. Frozen again afterwards (with what the young
    generations held then: a dump is rare)."""
    frozen = gc.get_freeze_count() > 0
    if frozen:
        gc.unfreeze()
    try:
        return gc.get_objects()
    finally:
        if frozen:
            gc.freeze()


def dump_generators(file: IO[str]) -> int:
    """Print each suspended async generator's await chain to `file`; the number printed."""
    generators = suspended_generators()
    print(f"ASYNC GENERATORS ({len(generators)} suspended)", file=file)
    for generator in generators:
        print("  generator", file=file)
        for line in await_chain(generator):
            print(f"    {line}", file=file)
    file.flush()
    return len(generators)


def dump_loop_tasks(loop: asyncio.AbstractEventLoop, title: str, file: IO[str]) -> int:
    """Print the await chain of every task of another thread's loop (the Kafka consumer's:
    mode's dump shows that thread's stack, idle in `select`, not what its tasks wait for)."""
    tasks = asyncio.all_tasks(loop)
    print(f"TASKS OF {title} ({len(tasks)})", file=file)
    for task in tasks:
        print(f"  task {task.get_name()}", file=file)
        for line in await_chain(task.get_coro()):
            print(f"    {line}", file=file)
    file.flush()
    return len(tasks)


def dump_attributes(obj: object, names: tuple[str, ...], title: str, file: IO[str]) -> None:
    """Print the named attributes of `obj` (a missing one as `<absent>`)."""
    print(title, file=file)
    for name in names:
        print(f"  {name} = {getattr(obj, name, '<absent>')!r}"[:4000], file=file)
    file.flush()


#: The Faust consumer's state that decides which fetched records reach the agents.
CONSUMER_STATE = (
    "flow_active",
    "_active_partitions",
    "_paused_partitions",
    "_buffered_partitions",
    "_read_offset",
    "_committed_offset",
)


def dump_fetch_positions(client: object, file: IO[str]) -> None:
    """Per assigned partition of an aiokafka consumer: position, highwater, paused, and whether
    fetched records wait in its fetcher (the fetch state a stall shows up in)."""
    subscription = getattr(getattr(client, "_subscription", None), "subscription", None)
    assignment = getattr(subscription, "assignment", None)
    fetcher = getattr(client, "_fetcher", None)
    waiting = set(getattr(fetcher, "_records", {}))
    print("FETCH POSITIONS (partition: position, highwater, paused, records waiting)", file=file)
    for tp in sorted(getattr(assignment, "tps", ()) or ()):
        state = assignment.state_value(tp)  # type: ignore[union-attr]
        position = state.position if state.has_valid_position else None
        print(
            f"  {tp.topic}[{tp.partition}]: {position}, {state.highwater}, "
            f"{state.paused}, {tp in waiting}",
            file=file,
        )
    file.flush()


def dump_worker(consumer: object, file: IO[str]) -> None:
    """Everything above for a Faust app's consumer, then `END OF DUMP` (what a reader of the
    log, or a test, waits for)."""
    dump_generators(file)
    dump_attributes(consumer, CONSUMER_STATE, "FAUST CONSUMER", file)
    thread = getattr(consumer, "_thread", None)  # Faust's Kafka consumer thread
    dump_fetch_positions(getattr(thread, "_consumer", None), file)
    loop = getattr(thread, "thread_loop", None)
    if isinstance(loop, asyncio.AbstractEventLoop) and loop.is_running():
        dump_loop_tasks(loop, "the Kafka consumer thread", file)
    print("END OF DUMP", file=file, flush=True)
