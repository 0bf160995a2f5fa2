"""A failed start of the gap check's broker clients leaves nothing open (one leaked a consumer
per 5 s check while the broker was away: 'Unclosed AIOKafkaConsumer' in the worker log)."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from flowgauge.stream import admin


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize(
    "call",
    [
        lambda b: admin.log_start(b, "t", 0),
        lambda b: admin.committed_offsets(b, "g", "t", [0]),
        lambda b: admin.reread(b, "t", 0, 0, 1),
    ],
    ids=["log_start", "committed_offsets", "reread"],
)
def test_a_failed_start_leaves_no_client_open(
    call: Callable[[str], Coroutine[Any, Any, object]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    with pytest.raises(KafkaConnectionError):
        asyncio.run(call(_closed_port()))
    gc.collect()
    assert "Unclosed" not in caplog.text
