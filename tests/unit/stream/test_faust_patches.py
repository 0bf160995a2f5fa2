"""stream/faust_patches.py on a real (unconnected) Faust consumer: the same outcome as Faust's
`wait_first` in every case `_drain_messages` meets, and no tasks when the callback does not
suspend (the cost the patch removes)."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Coroutine, Generator
from typing import Any, cast

import faust
import pytest
from faust.transport.consumer import Consumer

from flowgauge.stream import faust_patches


def on_consumer(test: Callable[[Consumer], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run the async `test` with a fresh, never-connected Faust consumer, patches applied."""

    def run() -> None:
        async def main() -> None:
            faust_patches.apply()
            app = faust.App(
                "patches-test",
                broker="kafka://127.0.0.1:9",
                web_enabled=False,
                loop=asyncio.get_running_loop(),
            )
            try:
                await asyncio.wait_for(test(cast(Consumer, app.consumer)), 10)
            finally:  # the consumer's thread made a loop it never starts (never connected)
                app.consumer._thread.thread_loop.close()  # type: ignore[attr-defined]

        asyncio.run(main())

    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return run


class Tasks:
    """Counts the tasks the loop creates while installed (the loop's task factory)."""

    def __init__(self) -> None:
        self.created = 0

    def __call__(
        self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kw: Any
    ) -> asyncio.Task[Any]:
        self.created += 1
        return asyncio.Task(coro, loop=loop, **kw)


def counting() -> Tasks:
    tasks = Tasks()
    asyncio.get_running_loop().set_task_factory(tasks)  # type: ignore[arg-type]
    return tasks


@on_consumer
async def test_a_callback_that_does_not_suspend_runs_in_place(consumer: Consumer) -> None:
    async def callback() -> int:
        return 42

    tasks = counting()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the unstarted suspend_flow.wait() is closed, not leaked
        result = await consumer.wait_first(callback(), consumer.suspend_flow.wait())
    assert result.results == [42] and not result.stopped
    assert tasks.created == 0


@on_consumer
async def test_faust_as_shipped_creates_four_tasks(consumer: Consumer) -> None:
    """What the patch saves: the same call through mode's `wait_first`."""

    async def callback() -> int:
        return 42

    tasks = counting()
    await faust_patches._faust_wait_first(consumer, callback(), consumer.suspend_flow.wait())
    assert tasks.created == 4


@on_consumer
async def test_a_callback_that_suspends_is_continued_to_its_end(consumer: Consumer) -> None:
    """E.g. a full channel queue: the callback resumes where it stopped, with what it awaited."""
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def callback() -> str:
        steps.append("before")
        got = await gate
        await asyncio.sleep(0)  # a bare yield in between is continued too
        steps.append(got)
        return got

    waiting = asyncio.ensure_future(consumer.wait_first(callback(), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert steps == ["before"] and not waiting.done()
    gate.set_result("after")
    await asyncio.wait_for(waiting, 5)
    assert steps == ["before", "after"]


@on_consumer
async def test_a_suspended_callback_is_cancelled_when_the_flow_stops(consumer: Consumer) -> None:
    """A rebalance stops the flow while the callback waits: Faust cancels it, so must we."""
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def callback() -> None:
        try:
            await gate
            seen.append("ran on")
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    waiting = asyncio.ensure_future(consumer.wait_first(callback(), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    consumer.stop_flow()
    await asyncio.wait_for(waiting, 5)
    assert seen == ["cancelled"] and gate.cancelled()
    consumer.resume_flow()


@on_consumer
async def test_a_stopped_flow_goes_to_faust_at_once(consumer: Consumer) -> None:
    ran: list[bool] = []

    async def callback() -> None:
        ran.append(True)

    consumer.stop_flow()
    tasks = counting()
    result = await consumer.wait_first(callback(), consumer.suspend_flow.wait())
    consumer.resume_flow()
    assert tasks.created == 4 and result.done  # Faust's own race, untouched


@on_consumer
async def test_a_callback_error_propagates(consumer: Consumer) -> None:
    async def callback() -> None:
        raise ValueError("bad record")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="bad record"):
            await consumer.wait_first(callback(), consumer.suspend_flow.wait())


def test_continued_passes_a_thrown_exception_into_the_callback() -> None:
    """The generator protocol `_Continued` relies on, without a loop: a throw reaches the
    callback's own handler and its return value ends the await."""

    class Pending:
        def __await__(self) -> Generator[str, None, None]:
            yield "pending"

    async def callback() -> str:
        try:
            await Pending()
        except KeyError:
            return "handled"
        return "not thrown"

    coro = callback()
    first = coro.send(None)
    waiter = faust_patches._Continued(coro, first).__await__()
    assert next(waiter) == "pending"
    with pytest.raises(StopIteration) as done:
        waiter.throw(KeyError("x"))
    assert done.value.value == "handled"
