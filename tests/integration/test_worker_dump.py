"""`kill -USR1` on a running worker: its log gets every task, and inside the generators.

The dump is what explains a worker alive but not progressing (docs/operations.md); the
consumer's fetch loop waits inside `Consumer.getmany`, an async generator a task's stack does
not show, so the test holds the log to that frame, and the worker running on afterwards.
"""

from __future__ import annotations

import signal

import pytest
from stackkit import Stack, wait_until

pytestmark = [pytest.mark.integration]


def test_sigusr1_writes_tasks_and_generators_and_the_worker_runs_on(stack: Stack) -> None:
    stack.start_worker("w1")
    stack.processes["w1"].send_signal(signal.SIGUSR1)
    wait_until(lambda: "END OF DUMP" in stack.log("w1"), 30, what="the whole dump in the log")
    log = stack.log("w1")
    assert "TASKS" in log  # mode's part: every task's stack
    generators = log[log.index("ASYNC GENERATORS") :]
    assert "in Consumer.getmany" in generators  # the fetch loop, cut off in the task stacks
    assert "in drained" in generators  # an agent's batches: frozen by the rebuild, listed still
    state = log[log.index("FAUST CONSUMER") : log.index("FETCH POSITIONS")]
    assert "flow_active = True" in state and f"{stack.prefix}-raw" in state
    positions = log[log.index("FETCH POSITIONS") :]
    assert f"{stack.prefix}-events[0]: 0," in positions  # an empty topic read from its start
    consumer_thread = log[log.index("TASKS OF the Kafka consumer thread") :]
    assert "in Fetcher._fetch_requests_routine" in consumer_thread  # aiokafka's own fetching
    assert stack.processes["w1"].poll() is None
    assert stack.ready(f"{stack.metrics_url('w1')[:-8]}/readyz")
