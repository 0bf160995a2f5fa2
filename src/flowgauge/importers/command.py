"""`flowgauge import`: options in, an import run out, a summary or one clear error line.

Exit status: 0 done, 1 the import failed (the message names the source and what to do); a rerun
after a failure continues from the checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flowgauge.importers import IMPORTERS, ImportFailed, Policy
from flowgauge.importers import checkpoint as cp
from flowgauge.importers.run import Summary, run_import
from flowgauge.importers.sink import DrySink, FileSink, Sink, TopicSink
from flowgauge.settings import Settings


@dataclass(frozen=True)
class ImportOptions:
    source: str
    url: str | None
    selector: str
    since: timedelta
    out: Path | None = None
    dry_run: bool = False
    checkpoint: Path | None = None
    progress: bool = True


def checkpoint_path(settings: Settings, options: ImportOptions, run: str) -> Path:
    """Beside `--out` when there is one, else under the data dir, named by the run."""
    if options.checkpoint is not None:
        return options.checkpoint
    if options.out is not None:
        return options.out.with_name(options.out.name + ".checkpoint")
    return settings.data_dir / "import" / f"{options.source}-{run}.checkpoint"


async def _run(
    settings: Settings, options: ImportOptions, env: Mapping[str, str], policy: Policy | None
) -> tuple[Summary, str]:
    spec = IMPORTERS[options.source]
    url = options.url or spec.default_url
    if not url:
        raise ImportFailed(f"{options.source}: --url is required (the tool's base URL)")
    since_text = f"{options.since.total_seconds():.0f}s"
    run = cp.Checkpoint.run_id(options.source, url, options.selector, since_text)
    path = None if options.dry_run else checkpoint_path(settings, options, run)
    state = (cp.load(path, run) if path is not None else None) or cp.Checkpoint(run)
    if not state.since:
        state.since = (datetime.now(UTC) - options.since).isoformat()
    importer = spec.build(url, options.selector, datetime.fromisoformat(state.since), env, policy)
    sink: Sink
    if options.dry_run:
        sink, where = DrySink(), "nowhere (dry run)"
    elif options.out is not None:
        sink, where = FileSink(options.out, append=state.cursor is not None), str(options.out)
    else:
        topic = TopicSink(settings, options.source)
        await topic.start()
        sink, where = topic, f"the raw topic at {settings.bootstrap}"
    try:
        summary = await run_import(importer, sink, path, state, progress=options.progress)
    finally:
        await sink.close()
        await importer.aclose()
    return summary, where


def run_command(
    settings: Settings,
    options: ImportOptions,
    env: Mapping[str, str] | None = None,
    policy: Policy | None = None,
) -> int:
    """Run one import; print its summary (stderr) or its error. The CLI's `import` command."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request
    try:
        summary, where = asyncio.run(_run(settings, options, env or os.environ, policy))
    except ImportFailed as exc:
        print(f"flowgauge import: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"flowgauge import {options.source}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"\nflowgauge import {options.source}: interrupted; the same command continues "
            "from the last page written",
            file=sys.stderr,
        )
        return 130
    print(summary.text(where), file=sys.stderr)
    return 0
