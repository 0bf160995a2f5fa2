"""Workarounds for bugs of the embedded broker (Tansu 0.6.0), applied only against it.

Each is measured in `../shared/notes/faust-on-tansu.md` and shown by a test in
`tests/integration/test_tansu_bugs.py` (the bug on the bare broker, and the fix):

1. ListOffsets(latest) answers "base offset of the newest batch + 1" instead of the end offset.
   Faust uses it as the changelog highwater, so table recovery stops before the changelog's end
   and the tail of the state is lost. Fix: ask for the Fetch high watermark, which is right.
2. Tansu numbers a group's first generation 0, and aiokafka sends LeaveGroup only for
   generation > 0, so a stopped first worker is not seen to leave: its successor waits for the
   session to expire. Fix: leave whenever we hold a member id.
3. A Fetch waiting for data is not answered when data arrives: Tansu holds it for the whole
   `max_wait_ms`. Faust hard-codes 1,500 ms, so every event waits 0-1.5 s in the broker before
   the worker sees it (and again for each topic hop), which alone breaks the 2 s freshness
   target under load. Fix: Faust's consumers wait at most `FETCH_MAX_WAIT_MS`.

Nothing here is applied against Apache Kafka: `apply()` is called only when
`Settings.embedded_broker` is true (set by `flowgauge up` when it starts the broker, and by tests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from flowgauge.stream.admin import running

log = logging.getLogger(__name__)
_applied = False
FETCH_MAX_WAIT_MS = 100  # not 0: Tansu answers max_wait 0 with no topics at all


async def fetch_highwaters(
    bootstrap: str, partitions: Iterable[TopicPartition], timeout: float = 10.0
) -> dict[TopicPartition, int]:
    """End offsets from Fetch responses' high watermarks (right on Tansu, unlike ListOffsets)."""
    tps = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
    if not tps:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        group_id=None,
    )
    async with running(consumer):
        consumer.assign(tps)
        listed = await consumer.end_offsets(tps)
        for tp in tps:  # at or before the true end, so the Fetch succeeds and reports it
            consumer.seek(tp, max(listed[tp] - 1, 0))
        result: dict[TopicPartition, int] = {}
        deadline = asyncio.get_running_loop().time() + timeout
        while len(result) < len(tps):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no high watermark for {set(tps) - set(result)}")
            await consumer.getmany(*tps, timeout_ms=200, max_records=1)
            for tp in tps:
                hw = consumer.highwater(tp)
                if hw is not None and hw >= 0:
                    result[tp] = max(hw, listed[tp])
        return result


def _patch_faust_highwaters() -> None:
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread_cls: Any = faust_aiokafka.AIOKafkaConsumerThread

    async def _highwaters(self: Any, partitions: list[TopicPartition]) -> Mapping[Any, int]:
        consumer = self._ensure_consumer()
        if self.consumer.in_transaction:
            return {tp: consumer.last_stable_offset(tp) for tp in partitions}
        bootstrap = consumer._client._bootstrap_servers
        fixed = await fetch_highwaters(bootstrap, partitions)
        return {tp: fixed[TopicPartition(tp.topic, tp.partition)] for tp in partitions}

    thread_cls._highwaters = _highwaters


def _patch_leave_group() -> None:
    from aiokafka.consumer import group_coordinator as gc
    from aiokafka.protocol.group import JoinGroupRequest, LeaveGroupRequest

    cls: Any = gc.GroupCoordinator

    async def _maybe_leave_group(self: Any) -> None:
        has_member = self.member_id != JoinGroupRequest.UNKNOWN_MEMBER_ID
        if has_member and self._group_instance_id is None:
            try:
                await self._send_req(LeaveGroupRequest(self.group_id, self.member_id))
            except Exception as err:  # minimal effort, as aiokafka itself does
                log.warning("LeaveGroup request failed: %s", err)
        self.reset_generation()

    cls._maybe_leave_group = _maybe_leave_group


def _patch_fetch_wait() -> None:
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread_cls: Any = faust_aiokafka.AIOKafkaConsumerThread
    for name in ("_create_worker_consumer", "_create_client_consumer"):
        original = getattr(thread_cls, name)

        def create(self: Any, transport: Any, _original: Any = original) -> Any:
            consumer = _original(self, transport)
            consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts
            return consumer

        setattr(thread_cls, name, create)


def apply() -> None:
    """Install the workarounds (idempotent). Only for the embedded broker."""
    global _applied
    if _applied:
        return
    _patch_faust_highwaters()
    _patch_leave_group()
    _patch_fetch_wait()
    _applied = True
    log.info(
        "Tansu workarounds applied: fetch highwaters for recovery, LeaveGroup at gen 0, "
        "fetch wait %d ms",
        FETCH_MAX_WAIT_MS,
    )
