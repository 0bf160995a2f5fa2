"""The SIGUSR1 dump reaches inside suspended async generators, where a task's stack stops."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncGenerator

from flowgauge.stream.diagnostics import await_chain, dump_generators


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
