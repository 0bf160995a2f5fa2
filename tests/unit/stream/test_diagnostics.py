"""The SIGUSR1 dump reaches inside suspended async generators, where a task's stack stops."""

from __future__ import annotations

import asyncio
import gc
import io
import threading
from collections.abc import AsyncGenerator

from flowgauge.stream.diagnostics import await_chain, dump_generators, dump_loop_tasks


async def _waits(event: asyncio.Event) -> None:
    await event.wait()


async def _fetches(event: asyncio.Event) -> AsyncGenerator[int, None]:
    yield 1
    await _waits(event)
    yield 2


def test_a_suspended_generator_shows_down_to_what_it_awaits() -> None:
    async def scene() -> tuple[str, int]:
        event = asyncio.Event()
        generator = _fetches(event)
        await generator.__anext__()
        second = asyncio.ensure_future(generator.__anext__())
        await asyncio.sleep(0)  # now suspended inside _waits
        out = io.StringIO()
        count = dump_generators(out)
        event.set()
        assert await second == 2
        await generator.aclose()
        return out.getvalue(), count

    text, count = asyncio.run(scene())
    assert count >= 1
    chain = text[text.index("in _fetches") :]
    assert chain.index("in _fetches") < chain.index("in _waits") < chain.index("Event.wait")


def test_a_generator_frozen_by_a_rebuild_is_listed_and_stays_frozen() -> None:
    async def scene() -> tuple[str, int]:
        generator = _fetches(asyncio.Event())
        await generator.__anext__()
        gc.freeze()  # as the worker's first rebuild does
        try:
            out = io.StringIO()
            dump_generators(out)
            return out.getvalue(), gc.get_freeze_count()
        finally:
            gc.unfreeze()
            await generator.aclose()

    text, frozen = asyncio.run(scene())
    assert "in _fetches" in text
    assert frozen > 0


def test_a_finished_or_unstarted_generator_is_not_listed() -> None:
    async def scene() -> str:
        never_started = _fetches(asyncio.Event())
        out = io.StringIO()
        dump_generators(out)
        await never_started.aclose()
        return out.getvalue()

    assert "in _fetches" not in asyncio.run(scene())


def test_a_plain_awaitable_ends_the_chain_as_itself() -> None:
    assert list(await_chain(42)) == ["42"]


def test_another_threads_loop_tasks_show_what_they_await() -> None:
    loop = asyncio.new_event_loop()
    started, release = threading.Event(), asyncio.Event()

    async def _polls() -> None:
        started.set()
        await _waits(release)

    thread = threading.Thread(target=loop.run_until_complete, args=(_polls(),), daemon=True)
    thread.start()
    assert started.wait(5)
    out = io.StringIO()
    try:
        assert dump_loop_tasks(loop, "the poller", out) == 1
    finally:
        loop.call_soon_threadsafe(release.set)
        thread.join(5)
        loop.close()
    text = out.getvalue()
    assert text.startswith("TASKS OF the poller (1)")
    assert text.index("in test_another_threads_loop_tasks") < text.index("in _waits")
