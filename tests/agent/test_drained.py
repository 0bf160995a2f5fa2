"""`batches.drained` on a real Faust agent (its test context: the agent's own stream and channel
queue, no broker): a backlog comes as full batches, a trickle as batches of one, every event is
handed over once and in order, and an event is acked only after the body for its batch ran."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust
import pytest

from flowgauge.stream.batches import PATIENCE, drained


def _app() -> faust.App:
    """An app on the running loop (no broker is contacted by an agent's test context)."""
    return faust.App(
        "drained-test",
        broker="kafka://127.0.0.1:1",
        store="memory://",
        autodiscover=False,
        loop=asyncio.get_running_loop(),
    )


def _close_consumer_loop(app: faust.App) -> None:
    """The stream's iterator builds the app's consumer, whose thread made an event loop that an
    agent's test context never starts nor closes (faust-streaming 0.15): close it here."""
    app.consumer._thread.thread_loop.close()  # type: ignore[attr-defined]


def _agent(app: faust.App, most: int, seen: list[list[int]], acked_in_body: list[bool]) -> Any:
    channel = app.channel()

    @app.agent(channel)
    async def take(stream: faust.StreamT[int]) -> AsyncIterator[None]:
        async for batch in drained(stream, most):  # type: ignore[arg-type]
            seen.append([int(event.value) for event in batch])
            acked_in_body.extend(bool(event.message.acked) for event in batch)
            yield None

    return take


@pytest.mark.parametrize(("most", "sizes"), [(4, [4, 4, 2]), (1000, [10]), (1, [1] * 10)])
def test_a_backlog_comes_in_full_batches_in_order(most: int, sizes: list[int]) -> None:
    seen: list[list[int]] = []
    acked: list[bool] = []

    async def go() -> None:
        agent = _agent(_app(), most, seen, acked)
        async with agent.test_context() as running:
            events = [await running.put(n, wait=False) for n in range(10)]
            for _ in range(200):
                if sum(map(len, seen)) == 10 and all(e.message.acked for e in events):
                    break
                await asyncio.sleep(0.01)
        _close_consumer_loop(agent.app)

    asyncio.run(go())
    assert [len(batch) for batch in seen] == sizes
    assert [n for batch in seen for n in batch] == list(range(10))
    assert acked == [False] * 10  # none acked before its batch's body ran


def test_a_trickle_comes_one_by_one_without_waiting() -> None:
    seen: list[list[int]] = []
    acked: list[bool] = []

    async def go() -> None:
        agent = _agent(_app(), 1000, seen, acked)
        async with agent.test_context() as running:
            for n in range(5):
                event = await running.put(n, wait=False)
                for _ in range(200):
                    if event.message.acked:
                        break
                    await asyncio.sleep(0.005)
        _close_consumer_loop(agent.app)

    asyncio.run(go())
    assert seen == [[n] for n in range(5)]


def test_records_handed_over_a_few_loop_turns_apart_gather_into_one_batch() -> None:
    """Faust's consumer hands a fetched backlog over a record every few loop turns: without a
    little patience each would be a batch of its own (measured: 7 batches in 10 of one)."""
    seen: list[list[int]] = []
    acked: list[bool] = []

    async def go() -> None:
        agent = _agent(_app(), 1000, seen, acked)
        async with agent.test_context() as running:
            events = []
            for n in range(10):
                events.append(await running.put(n, wait=False))
                for _ in range(PATIENCE // 4):  # the consumer's own turns between records
                    await asyncio.sleep(0)
            for _ in range(200):
                if all(e.message.acked for e in events):
                    break
                await asyncio.sleep(0.01)
        _close_consumer_loop(agent.app)

    asyncio.run(go())
    assert seen == [list(range(10))]
