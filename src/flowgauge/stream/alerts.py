"""The alerts topic: every change of a stage's bottleneck signal, as one sentence with numbers.

Prometheus alerts page on the gauges; this topic is for everything else that wants to know
(chat bots, an audit trail, a board's "what changed" panel) without running Alertmanager.
A Faust timer on every worker diffs the signals of the state *that worker holds* every few
seconds and sends one JSON event per change to `<prefix>-alerts`, keyed `stream|stage|signal`
so that a key's events stay in order on one partition.

Delivery is at least once: a worker remembers what it announced in memory, so after a restart
it announces the signals that are firing again (never a "resolved" it did not see). With several
workers, each speaks for its partitions' items (see docs/bottlenecks.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from flowgauge.engine.snapshot import StageSignals, StreamSignals
from flowgauge.model import FlowConfig
from flowgauge.model.micros import from_micros

if TYPE_CHECKING:
    import faust

    from flowgauge.stream.state import WorkerState

log = logging.getLogger(__name__)

#: How often each worker diffs its signals (seconds). Cheap: no item is walked.
ALERT_INTERVAL_SECONDS = 2.0


def duration(seconds: float) -> str:
    """A duration as a person says it: `4.6 days`, `1 day`, `5.5 hours`, `12 minutes`."""
    for unit, size in (("day", 86_400.0), ("hour", 3_600.0), ("minute", 60.0)):
        if abs(seconds) >= size or unit == "minute":
            value = round(seconds / size, 1)
            text = f"{value:g}"
            return f"{text} {unit}" + ("" if value == 1 else "s")
    raise AssertionError("unreachable")


def _n(value: float) -> str:
    return f"{round(value, 1):g}"


def _items(count: float) -> str:
    return f"{_n(count)} item" + ("" if count == 1 else "s")


def sentence(stream: str, stage: StageSignals, signal: str, on: bool, kind: str) -> str:
    """One sentence a person can act on, with the numbers behind the signal."""
    v = stage.values.get(signal, {})
    where = f"{stream}/{stage.stage}"
    state = "in progress" if kind == "active" else "waiting"
    wip = int(stage.values.get("wip_limit", {}).get("wip", 0))
    oldest = stage.values.get("aging", {}).get("oldest_seconds")
    oldest_text = f"; oldest {duration(oldest)} in the stage" if oldest is not None and wip else ""
    if signal == "wip_limit":
        limit = _n(v.get("limit", 0))
        if on:
            return (
                f"{where}: {_items(wip)} {state}, limit {limit}{oldest_text}. "
                "Finish or unblock work here before starting more."
            )
        return f"{where}: back within its WIP limit ({_items(wip)} {state}, limit {limit})."
    if signal == "aging":
        sle = duration(v.get("sle_seconds", 0))
        if on:
            return (
                f"{where}: {_n(v.get('items', 0))} of {wip} items {state} longer than the SLE of "
                f"{sle}{oldest_text}. Swarm on the oldest item first."
            )
        return f"{where}: no item is older than the SLE of {sle} any more."
    if signal == "accumulating":
        departures = _n(v.get("departures", 0))
        period = duration(v.get("interval_seconds", 0))
        text = f"{_items(v.get('arrivals', 0))} arrived and {departures} left in the last {period}"
        if on:
            return (
                f"{where}: {text}; {_n(wip)} now {state}. "
                "Work piles up here: look at what slows this stage down."
            )
        return f"{where}: no longer accumulating ({text})."
    return _limits_sentence(where, v, on, state)


def _limits_sentence(where: str, v: dict[str, float], on: bool, state: str) -> str:
    wip = v.get("wip", 0)
    parts: list[str] = []
    if "wip_upper" in v:
        if wip > v["wip_upper"]:
            parts.append(f"{_n(wip)} items {state}, above the upper limit {_n(v['wip_upper'])}")
        elif v["wip_lower"] > 0 and wip < v["wip_lower"]:
            parts.append(f"{_n(wip)} items {state}, below the lower limit {_n(v['wip_lower'])}")
        else:
            parts.append(
                f"{_n(wip)} items {state}, limits {_n(v['wip_lower'])}-{_n(v['wip_upper'])}"
            )
        parts[-1] += f" (usual {_n(v['wip_mean'])} over {_n(v['baseline_days'])} days)"
    if "wait_upper_seconds" in v and "wait_seconds" in v:
        relation = "above" if v["wait_seconds"] > v["wait_upper_seconds"] else "within"
        parts.append(
            f"mean time in stage {duration(v['wait_seconds'])}, {relation} the upper limit "
            f"{duration(v['wait_upper_seconds'])} (usual {duration(v['wait_mean_seconds'])})"
        )
    numbers = "; ".join(parts) or "no baseline yet"
    if on:
        return f"{where}: outside its natural process limits: {numbers}. Something changed here."
    return f"{where}: back within its natural process limits: {numbers}."


@dataclass(frozen=True)
class Change:
    """One signal that changed since the last announcement, ready to send."""

    key: tuple[str, str, str]  # stream, stage, signal
    on: bool
    payload: bytes


class AlertPublisher:
    """Diffs successive evaluations; `changes` is pure, `commit` records what was sent."""

    def __init__(self, config: FlowConfig, worker: str) -> None:
        self.worker = worker
        self._kinds = {(s.name, g.name): g.kind for s in config.streams for g in s.stages}
        self._announced: dict[tuple[str, str, str], bool] = {}

    def changes(self, signals: Iterable[StreamSignals], now_micros: int) -> list[Change]:
        """Signals whose state differs from the last announced one (absent: off)."""
        at = from_micros(now_micros).isoformat()
        out: list[Change] = []
        for stream in signals:
            for stage in stream.stages:
                for signal, on in stage.firing.items():
                    key = (stream.stream, stage.stage, signal)
                    if self._announced.get(key, False) == on:
                        continue
                    kind = self._kinds.get((stream.stream, stage.stage), "wait")
                    event: dict[str, Any] = {
                        "stream": stream.stream,
                        "stage": stage.stage,
                        "signal": signal,
                        "state": "firing" if on else "resolved",
                        "at": at,
                        "sentence": sentence(stream.stream, stage, signal, on, kind),
                        "values": stage.values.get(signal, {}),
                        "score": stage.score,
                        "bottleneck": stage.bottleneck,
                        "worker": self.worker,
                    }
                    out.append(Change(key, on, orjson.dumps(event)))
        return out

    def commit(self, change: Change) -> None:
        self._announced[change.key] = change.on


def install_alerts(
    app: faust.App, state: WorkerState, topic_name: str, worker: str, partitions: int
) -> None:
    """Add the alerts topic and the timer that publishes signal changes to it."""
    topic = app.topic(
        topic_name, key_serializer="raw", value_serializer="raw", partitions=partitions
    )
    publisher = AlertPublisher(state.config, worker)

    @app.timer(interval=ALERT_INTERVAL_SECONDS)  # type: ignore[untyped-decorator]
    async def publish_signal_changes() -> None:
        if not state.ready:
            return
        processor = state.processor
        now = processor.now_micros(state.clock())
        for change in publisher.changes(processor.signals(now), now):
            try:
                await topic.send(key="|".join(change.key).encode(), value=change.payload)
            except Exception:  # the broker is away: announce it at the next tick instead
                log.warning("cannot publish alert %s; will retry", change.key, exc_info=True)
                return
            publisher.commit(change)
            log.info("signal %s: %s", "|".join(change.key), "firing" if change.on else "resolved")
