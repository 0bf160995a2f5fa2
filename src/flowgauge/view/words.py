"""Durations and the bottleneck sentence as a person reads them (the alerts' own words)."""

from __future__ import annotations

from flowgauge.engine.snapshot import SIGNALS, StageSignals
from flowgauge.stream.alerts import duration, sentence

__all__ = ["bottleneck_sentence", "duration", "signal_sentences"]


def bottleneck_sentence(stream: str, stage: StageSignals) -> str:
    """The bottleneck alert's description (deploy/prometheus/rules/flowgauge-alerts.yml)."""
    holding = [signal for signal in SIGNALS if stage.firing.get(signal, False)]
    names = " ".join(sorted(holding))  # the rule lists them sorted by label
    return (
        f"{stream}/{stage.stage}: {len(holding)} of {len(SIGNALS)} bottleneck signals hold "
        f"({names}), bottleneck score {stage.score:.2f}. "
        "Stop starting new work upstream and help this stage finish."
    )


def signal_sentences(stream: str, stage: StageSignals, kind: str) -> list[str]:
    """The alert sentence of every signal firing for the stage, in SIGNALS order."""
    return [
        sentence(stream, stage, signal, True, kind)
        for signal in SIGNALS
        if stage.firing.get(signal, False)
    ]
