"""`flowgauge up` prints the page's URL first, and the README shows what it prints."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from flowgauge.local import DEMO_LINE, broker_line, endpoint_lines, page_line, up
from flowgauge.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def defaults(data_dir: Path = Path("./.flowgauge")) -> Settings:
    return Settings(
        broker_bind="127.0.0.1:9092",
        ingest_bind="127.0.0.1:8080",
        metrics_bind="127.0.0.1:9464",
        kafka=None,
        data_dir=data_dir,
    )


def test_the_readme_shows_what_make_run_prints() -> None:
    text = README.read_text()
    block = re.search(r"## What `make run` shows\n.*?```\n(.*?)```", text, re.DOTALL)
    assert block is not None
    settings = defaults()
    printed = [
        page_line(settings),
        broker_line(settings.broker_bind),
        *endpoint_lines(settings),
        DEMO_LINE,
    ]
    assert block.group(1).splitlines() == printed


def test_the_page_url_comes_before_anything_is_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even when the broker cannot start (its data dir is a file), the URL is already out."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(OSError):
            up(defaults(data_dir=blocker / "data"), with_demo=False)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "value stream map: http://127.0.0.1:9464/  "
        "(live once the worker is ready; the same numbers as /metrics)"
    ]
