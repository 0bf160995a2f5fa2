"""Where the worker's time goes: a summary of `py-spy record --format raw` (collapsed stacks).

py-spy samples only threads that are running (not idle), so shares are shares of busy CPU.
Two views: the package of the innermost frame (self time), and the inclusive share of the
frames that matter for flowgauge (a frame counts once per sample even if it recurs).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::\d+)?\)$")

#: (label, substring of "func (file" that identifies the frame), most specific first
INCLUSIVE = [
    ("state update: whole `Handlers.apply`", "Handlers.apply (flowgauge/stream/handlers.py"),
    ("  FlowEvent.model_validate_json (decode the event)", "BaseModel.model_validate_json"),
    ("  Timeline.from_bytes (decode the stored timeline)", "Timeline.from_bytes"),
    ("  Timeline.to_bytes (encode the timeline)", "Timeline.to_bytes"),
    ("  Processor.apply (derive + aggregates + signals)", "Processor.apply"),
    ("    SignalState.contribute (bottleneck signals)", "SignalState.contribute"),
    ("  table write (faust Table.__setitem__ -> changelog)", "Table.__setitem__"),
    (
        "normalize agent: whole `Handlers.normalize`",
        "Handlers.normalize (flowgauge/stream/handlers.py",
    ),
    ("  normalize_delivery (generic adapter + route)", "normalize_delivery"),
    ("  events topic send (faust Topic.send)", "Topic.send"),
    ("offset-gap bookkeeping (GapKeeper.absorbed / check)", "GapKeeper.absorbed"),
    ("  periodic gap check (GapKeeper.check)", "GapKeeper.check"),
    ("faust consumer: fetch/drain (Consumer._drain_messages)", "Consumer._drain_messages"),
    ("faust stream iteration (Stream._c_aiter)", "Stream._c_aiter"),
    ("faust producer buffer (ProducerBuffer)", "ProducerBuffer."),
    ("faust commit (Consumer.commit)", "Consumer.commit"),
    ("aiokafka (any frame in aiokafka/)", "aiokafka/"),
    ("  socket writes (asyncio transport write)", "_SelectorSocketTransport.write"),
    ("event-loop polling (EpollSelector.select)", "EpollSelector.select"),
    ("/metrics scrapes (generate_latest)", "generate_latest"),
]


def _package(frame: str) -> str:
    match = _FRAME.match(frame)
    path = match.group("file") if match else frame
    if path.startswith("flowgauge/"):
        return "flowgauge/" + path.split("/")[1].removesuffix(".py")
    head = path.split("/")[0]
    if head.startswith("<") or head in ("", "threading.py"):
        return "python (runtime)"
    if head in {"asyncio", "selectors.py", "socket.py", "ssl.py"}:
        return "asyncio / selectors"
    return head.removesuffix(".py")


def summarize(path: Path) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_time[_package(frames[-1])] += count
        for label, needle in INCLUSIVE:
            if needle in stack:
                inclusive[label] += count
    if not total:
        return 0, [], []
    selfs = [(name, n / total) for name, n in self_time.most_common(12)]
    incl = [(label, inclusive[label] / total) for label, _ in INCLUSIVE if inclusive[label]]
    return total, selfs, incl


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.005 else "<1%"


def markdown(path: Path) -> str:
    total, selfs, incl = summarize(path)
    if not total:
        return f"(no samples in {path.name})"
    lines = [
        f"py-spy, {total:,} samples of busy threads (`{path.name}`):",
        "",
        "| inclusive: frame on the stack | share of busy CPU |",
        "|---|---|",
        *[f"| {label} | {_pct(share)} |" for label, share in incl],
        "",
        "| self time: package of the innermost frame | share |",
        "|---|---|",
        *[f"| {name} | {_pct(share)} |" for name, share in selfs],
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(Path(sys.argv[1])))
