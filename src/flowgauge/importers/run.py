"""The import loop shared by every tool: pages in, item records out, checkpoint, progress.

Per page: render each item's record, write the page durably (file flushed, or every record
acknowledged by the broker), then save the checkpoint with the next page's cursor. A rerun of an
unfinished run starts at that cursor; a finished run starts afresh (picking up new history), and
counts nothing twice because the ids are the webhooks' own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from flowgauge.importers import checkpoint as cp
from flowgauge.importers.base import Importer
from flowgauge.importers.sink import Sink, item_records


@dataclass(frozen=True)
class Summary:
    source: str
    items: int
    events: int
    pages: int
    seconds: float
    resumed: bool

    def text(self, where: str) -> str:
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        resumed = " (resumed from the checkpoint; counts include the earlier part)"
        return (
            f"{self.source}: {self.items} items, {self.events} events, {self.pages} pages in "
            f"{self.seconds:.1f}s ({rate:,.0f} events/s) -> {where}"
            f"{resumed if self.resumed else ''}"
        )


async def run_import(
    importer: Importer,
    sink: Sink,
    checkpoint: Path | None,
    state: cp.Checkpoint,
    *,
    progress: bool = True,
) -> Summary:
    """Import every page from `state`'s cursor on, saving it at `checkpoint` after each page
    (`None`: keep none, as `--dry-run` does)."""
    resumed = state.cursor is not None
    started, pages = time.monotonic(), 0
    bar = tqdm(
        desc=f"import {importer.source}",
        unit=" items",
        initial=state.items,
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        async for page in importer.pages(state.cursor):
            records = [r for item in page.items for r in item_records(importer.source, item)]
            await sink.write(records)
            pages += 1
            state.items += len(page.items)
            state.events += sum(len(r.events) for r in records)
            state.cursor = page.next
            if checkpoint is not None:
                cp.save(checkpoint, state)
            if page.total is not None and bar.total != page.total:
                bar.total = page.total
            bar.update(len(page.items))
            bar.set_postfix(events=state.events, refresh=False)
    finally:
        bar.close()
    state.finished = True
    if checkpoint is not None:
        cp.save(checkpoint, state)
    return Summary(
        importer.source, state.items, state.events, pages, time.monotonic() - started, resumed
    )
