"""The project's topic names, shared by the ingester, the worker and replay (created by
`admin.ensure_topics`)."""

from __future__ import annotations

from dataclasses import dataclass

from flowgauge.settings import Settings

#: The worker's tables: the timelines stage's and the stream stage's (docs/architecture.md).
TIMELINES_TABLE = "timelines"
FACTS_TABLE = "streamfacts"
TABLES = (TIMELINES_TABLE, FACTS_TABLE)


@dataclass(frozen=True)
class Topics:
    """`raw`: delivery records (the request and its events); `events`: canonical events keyed
    by state key, on the partition their state lives on;
    `facts`: each item's (and DORA key's) absolute facts, keyed by stream, for the stream stage
    (stream/facts.py); `deadletter`: deliveries that could not be normalized, with the reason;
    `alerts`: every change of a stage's bottleneck signal, as a sentence (stream/alerts.py)."""

    raw: str
    events: str
    deadletter: str
    alerts: str
    facts: str

    @classmethod
    def of(cls, settings: Settings) -> Topics:
        p = settings.topic_prefix
        return cls(
            raw=f"{p}-raw",
            events=f"{p}-events",
            deadletter=f"{p}-deadletter",
            alerts=f"{p}-alerts",
            facts=f"{p}-facts",
        )

    def all(self) -> tuple[str, ...]:
        return (self.raw, self.events, self.deadletter, self.alerts, self.facts)

    def changelogs(self) -> tuple[str, ...]:
        """The tables' changelog topics (named by Faust: `<app id>-<table>-changelog`)."""
        prefix = self.raw.removesuffix("-raw")
        return tuple(f"{prefix}-{table}-changelog" for table in TABLES)
