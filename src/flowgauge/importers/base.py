"""What every importer yields: pages of items, each item its whole history as webhook deliveries.

An importer reads a tool's history API and renders each item's history as the webhook deliveries
the tool would have sent (headers and body). The source's own `normalize` then makes the events,
so an import and live webhooks share one home for normalization and event ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

Delivery = tuple[dict[str, str], dict[str, Any]]


@dataclass(frozen=True)
class ItemHistory:
    """One item: its id in the tool (for the checkpoint) and its history as deliveries."""

    key: str
    deliveries: list[Delivery]


@dataclass(frozen=True)
class Page:
    """One page of items; `cursor` fetches this page again, `next` the following (None: last)."""

    cursor: str | None
    items: list[ItemHistory]
    next: str | None
    total: int | None = None  # items in the whole import, when the API says


class Importer(Protocol):
    """One tool's history reader (importers/<tool>.py)."""

    source: str

    def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """Pages from `cursor` (None: the first page) to the last."""
        ...

    async def aclose(self) -> None: ...
