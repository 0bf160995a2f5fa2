"""Patches to Faust's per-message path where it is the wall (issue 16), each measured.

Unlike `tansu_workarounds.py` these are not bug fixes: they remove a cost Faust pays for every
record without changing what it does with it. Each is numbered, explained, scoped to the class
it patches, applied by `apply()` (every worker, any broker), and shown by a test in
tests/unit/stream/test_faust_patches.py (the same outcome as Faust's code, and the cost gone).

1. The consumer hands each fetched record to the conductor with
   `await self.wait_first(callback(message), self.suspend_flow.wait())`
   (faust/transport/consumer.py, `_drain_messages`): mode's `wait_first` wraps both and the
   service's `stopped` and `crashed` events in four tasks, waits for the first and cancels the
   rest, ~40 us a record (../shared/notes/faust-per-message.md); without them the worker used
   ~9 % less CPU per one-event record (median of 7 back-to-back pairs on Apache Kafka,
   docs/performance.md) and kept up with 1,000 webhooks/s beside the ingester, where it fell
   behind before. The callback nearly always completes without suspending
   (flow control open, producer buffer and channel queue not full): then its result is what
   `wait_first` would have returned, and no task is needed. So the patched `wait_first` runs the
   callback's first step itself; only when the callback suspends (a rebalance stopped the flow,
   a buffer is full) does the race with `suspend_flow` matter, and then Faust's own `wait_first`
   takes over, with the callback continued from where it stopped.
"""

from __future__ import annotations

import inspect
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.consumer import Consumer
from mode.services import WaitResults

_applied = False
_faust_wait_first = Consumer.wait_first


def apply() -> None:
    """Install the patches (idempotent)."""
    global _applied
    if _applied:
        return
    Consumer.wait_first = _wait_first  # type: ignore[assignment,method-assign]
    _applied = True


class _Continued:
    """Awaiting it continues `coro` from the awaitable it last yielded (`pending`), exactly as
    the task that started it would have: resumed with `send(None)` once `pending` is done,
    or with the exception (a cancellation) thrown into it."""

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coro, self.pending = coro, pending

    def __await__(self) -> Generator[Any, None, Any]:
        coro, pending = self.coro, self.pending
        while True:
            try:
                try:
                    yield pending
                except BaseException as exc:  # a cancellation: the callback handles it
                    pending = coro.throw(exc)
                else:
                    pending = coro.send(None)
            except StopIteration as done:
                return done.value


async def _continue(coro: Coroutine[Any, Any, Any], pending: Any) -> Any:
    return await _Continued(coro, pending)


async def _wait_first(self: Consumer, *coros: Any, timeout: Any = None) -> WaitResults:
    """Patch 1: the record's callback run in place while it does not suspend."""
    if (
        len(coros) != 2
        or timeout is not None
        or not all(map(inspect.iscoroutine, coros))  # `_drain_messages`'s call, nothing else
        or self.suspend_flow.is_set()
    ):
        return await _faust_wait_first(self, *coros, timeout=timeout)
    callback, suspended = coros
    try:
        pending = callback.send(None)
    except BaseException as ended:  # its result (StopIteration) or its error
        suspended.close()  # never started: not reported as never awaited
        if isinstance(ended, StopIteration):
            return WaitResults([callback], [ended.value], False)
        raise
    return await _faust_wait_first(self, _continue(callback, pending), suspended)
