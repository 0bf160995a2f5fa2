"""Reading recorded events: JSON lines of generic events, or of delivery records (the raw topic).

Shared by `report` and `replay`, so both read files the same way. A delivery record is read as
it was received: the events a format-2 record carries are left out and the delivery goes
through today's adapter again, once (a dump of the raw topic is how a newer adapter is applied
to history).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from flowgauge.model import FlowConfig, FlowEvent
from flowgauge.model.delivery import Delivery
from flowgauge.sources import generic
from flowgauge.stream.pipeline import normalize_delivery


class RecordError(ValueError):
    """A line that is neither a generic event (or array of them) nor a delivery record."""


@dataclass(frozen=True)
class Record:
    """One line: a delivery to post as-is, or generic event objects."""

    where: str
    delivery: Delivery | None = None
    generic: list[Any] | None = None


def read_records(paths: list[Path]) -> Iterator[Record]:
    for path in paths:
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    data: Any = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise RecordError(f"{where}: not JSON: {exc}") from None
                if isinstance(data, dict) and {"source", "body", "headers"} <= data.keys():
                    yield Record(where, delivery=Delivery.from_bytes(line).as_received())
                else:
                    yield Record(where, generic=data if isinstance(data, list) else [data])


def read_events(paths: list[Path], config: FlowConfig) -> Iterator[FlowEvent]:
    """Canonical events of recorded lines, through the same normalizers as the worker."""
    for record in read_records(paths):
        if record.delivery is not None:
            result = normalize_delivery(record.delivery, config)
            if result.error is not None:
                raise RecordError(f"{record.where}: {result.error}")
            yield from (event for _, event in result.events)
        else:
            try:
                yield from generic.normalize({}, record.generic)
            except ValueError as exc:
                raise RecordError(f"{record.where}: {exc}") from None
