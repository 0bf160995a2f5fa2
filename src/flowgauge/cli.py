"""The `flowgauge` command: up, ingest, worker, check-config, replay, report, import."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flowgauge.settings import Settings

if TYPE_CHECKING:
    from flowgauge.engine.processor import Processor


def _settings() -> Settings:
    return Settings()


def cmd_up(args: argparse.Namespace) -> int:
    from flowgauge.local import up

    return up(_settings(), with_demo=args.demo)


def cmd_ingest(_: argparse.Namespace) -> int:
    from flowgauge.ingest.server import run

    run(_settings())
    return 0


def cmd_worker(_: argparse.Namespace) -> int:
    from flowgauge.stream.worker import run

    run(_settings())
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from flowgauge.model.loader import ConfigError, load_config

    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    for stream in config.streams:
        stages = ", ".join(f"{s.name} ({s.kind})" for s in stream.stages)
        print(f"{args.file}: stream {stream.name}: {stages}")
    print(f"{args.file}: OK")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from flowgauge import report
    from flowgauge.model.loader import ConfigError, load_config
    from flowgauge.records import RecordError

    if args.format == "html" and args.output is None:
        print("flowgauge report: --format html needs -o FILE", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config or _settings().config)
        processor = report.build(args.files, config)
        out = _report_text(args, processor)
        if args.format == "html":
            args.output.write_text(out)
            print(f"flowgauge report: wrote {args.output}", file=sys.stderr)
            return 0
    except (ConfigError, RecordError, OSError) as exc:
        print(f"flowgauge report: {exc}", file=sys.stderr)
        return 1
    except (ValueError, KeyError, TypeError) as exc:  # a baseline that is no report json
        print(
            f"flowgauge report: {args.compare}: not a report --format json: {exc}", file=sys.stderr
        )
        return 1
    sys.stdout.write(out)
    return 0


def _report_text(args: argparse.Namespace, processor: Processor) -> str:
    from flowgauge import report

    wall = report.wall_now()
    text = report.prom_text(processor, wall)
    if args.format == "prom":
        return text
    rows = report.samples(text)
    if args.format == "html":
        return report.html(processor, wall, rows, args.compare)
    if args.compare is not None:
        return report.compare(rows, args.compare)
    if args.format == "table":
        return report.table(processor, wall) + report.forecast_sentences(processor.snapshot(wall))
    return report.FORMATS[args.format](rows)


def cmd_replay(args: argparse.Namespace) -> int:
    from flowgauge.replay import replay

    return replay(_settings(), args.files, to=args.to, url=args.url, batch=args.batch)


def cmd_import(args: argparse.Namespace) -> int:
    from flowgauge.importers import IMPORTERS
    from flowgauge.importers.command import ImportOptions, run_command
    from flowgauge.model.config import parse_duration

    selector_name = IMPORTERS[args.source].selector
    selector = getattr(args, selector_name)
    if not selector:
        print(f"flowgauge import {args.source}: --{selector_name} is required", file=sys.stderr)
        return 2
    try:
        since = parse_duration(args.since)
    except ValueError as exc:
        print(f"flowgauge import: --since: {exc}", file=sys.stderr)
        return 2
    options = ImportOptions(
        source=args.source,
        url=args.url,
        selector=selector,
        since=since,
        out=args.out,
        dry_run=args.dry_run,
        checkpoint=args.checkpoint,
        progress=not args.no_progress,
    )
    return run_command(_settings(), options)


def _import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from flowgauge.importers import IMPORTERS

    imp = sub.add_parser("import", help="history from a tool's API, as its webhooks would give it")
    imp.add_argument("source", choices=sorted(IMPORTERS))
    imp.add_argument("--url", help="the tool's base URL (e.g. https://acme.atlassian.net)")
    for selector in sorted({spec.selector for spec in IMPORTERS.values()}):
        users = ", ".join(name for name, spec in IMPORTERS.items() if spec.selector == selector)
        imp.add_argument(f"--{selector}", help=f"{users}: what to import")
    imp.add_argument("--since", default="180d", help="items updated this long ago or later")
    imp.add_argument("--out", type=Path, help="write JSON lines here instead of the raw topic")
    imp.add_argument("--dry-run", action="store_true", help="read everything, write nothing")
    imp.add_argument("--checkpoint", type=Path, help="default: OUT.checkpoint or the data dir")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "up": cmd_up,
    "ingest": cmd_ingest,
    "worker": cmd_worker,
    "check-config": cmd_check_config,
    "report": cmd_report,
    "replay": cmd_replay,
    "import": cmd_import,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowgauge", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="broker (embedded unless FLOWGAUGE_KAFKA), worker, ingester")
    up.add_argument("--demo", action="store_true", help="also post a simulated value stream")
    sub.add_parser("ingest", help="the webhook ingester alone")
    sub.add_parser("worker", help="a Faust worker alone")
    check = sub.add_parser("check-config", help="validate a value-stream config")
    check.add_argument("file", type=Path)
    rep = sub.add_parser("report", help="the metrics, in batch, from recorded events")
    rep.add_argument("files", type=Path, nargs="+")
    rep.add_argument("--format", choices=["table", "json", "csv", "prom", "html"], default="table")
    rep.add_argument("-o", "--output", type=Path, metavar="FILE", help="html: the file to write")
    rep.add_argument(
        "--compare", type=Path, metavar="BASELINE.json", help="a previous --format json output"
    )
    rep.add_argument("--config", type=Path, help="default: FLOWGAUGE_CONFIG or the built-in")
    rp = sub.add_parser("replay", help="send recorded webhooks / generic events again")
    rp.add_argument("files", type=Path, nargs="+")
    rp.add_argument("--to", choices=["ingester", "topic"], default="ingester")
    rp.add_argument("--url", help="ingester base URL (default: http://FLOWGAUGE_INGEST_BIND)")
    rp.add_argument("--batch", type=int, default=200, help="generic events per request")
    _import_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, _settings().log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
