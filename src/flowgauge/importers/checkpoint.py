"""Where an import stands, so that a rerun continues where it stopped.

The checkpoint names the run (source, URL, selector, since) and holds the cursor of the next page
to import and the running counts. It is written atomically (a temporary file renamed over it)
after each page is durably written, so a crash leaves the previous state whole. Items written
after the last save are written again on resume: they carry the same event ids, and the engine
counts an event id once, so nothing is counted twice.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson


@dataclass
class Checkpoint:
    """The state of one import run; `run` identifies it (a different run starts afresh)."""

    run: str
    since: str = ""  # the absolute bound of the run's `--since`, kept as the run began
    cursor: str | None = None
    items: int = 0
    events: int = 0
    finished: bool = False

    @staticmethod
    def run_id(*parts: str) -> str:
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def load(path: Path, run: str) -> Checkpoint | None:
    """The unfinished checkpoint of this run, or None (absent, finished, or another run's)."""
    try:
        data: Any = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError):
        return None  # unreadable: start afresh, which is safe (same ids)
    if not isinstance(data, dict) or data.get("run") != run or data.get("finished"):
        return None
    try:
        return Checkpoint(**data)
    except TypeError:
        return None


def save(path: Path, checkpoint: Checkpoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(orjson.dumps(asdict(checkpoint)))
    os.replace(temp, path)
