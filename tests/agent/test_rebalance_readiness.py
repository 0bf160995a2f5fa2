"""The worker's app at a rebalance (its real `on_partitions_revoked` receivers, no broker): it
stops being ready until both stages are rebuilt for the new assignment, so `/readyz` answers 503
and the offset gap check waits (it read a partition just taken over, whose offset records the
rebuild had not loaded yet, as one big hole and re-produced it: seen in a CI run's worker log)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from faust.types import TP
from prometheus_client import CollectorRegistry

from flowgauge.model.loader import load_config
from flowgauge.settings import Settings
from flowgauge.stream.state import STAGES, WorkerState
from flowgauge.stream.topology import create_app


def test_a_rebalance_makes_the_worker_not_ready_until_both_stages_are_rebuilt(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, kafka="127.0.0.1:9", topic_prefix="ready-test")
    state = WorkerState(load_config(None), CollectorRegistry())

    async def go() -> None:
        app = create_app(settings, state)
        state.recovered.update(STAGES)
        assert state.ready
        assert state.registry.get_sample_value("flowgauge_worker_ready") == 1
        revoked = {TP("ready-test-facts", 0), TP("ready-test-raw", 1)}
        await app.on_partitions_revoked.send(revoked)
        assert not state.ready
        assert state.registry.get_sample_value("flowgauge_worker_ready") == 0

    asyncio.run(go())
