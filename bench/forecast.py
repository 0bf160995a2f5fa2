"""Cost of a stream's forecasts (engine/forecast.py): `python -m bench.forecast [runs]`.

The issue's case: 90 days of history, 500 remaining items. What a scrape pays when a stream's
daily samples changed: the how-many distributions (7, 14, 30 days at three confidences) and the
`when` of the 500 items (with a due date, so the due probability rides on the same pass). A
scrape whose inputs did not change pays only the H + 1 bisections and a cache lookup.

Throughput is drawn from four seeded shapes: steady (~5 a day), bursty (many idle days, some
big ones), slow (~2 a day) and bulk (~3 a day and one day that closed 300 items at once); each
line gives the median of `runs` computations in ms.
`measure()` returns the figures for bench/run.py to include.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

from flowgauge.engine.forecast import DailyThroughput, how_many, when

HISTORY_DAYS = 90
REMAINING = 500
TARGET_MS = 50.0


def _days(draw: Callable[[random.Random], int]) -> Callable[[random.Random], list[int]]:
    return lambda rng: [draw(rng) for _ in range(HISTORY_DAYS)]


SHAPES: dict[str, Callable[[random.Random], list[int]]] = {
    "steady": _days(lambda rng: sum(rng.random() < 0.5 for _ in range(10))),
    "bursty": _days(lambda rng: rng.choice([0, 0, 0, 1, 2, 5, 12])),
    "slow": _days(lambda rng: sum(rng.random() < 0.2 for _ in range(10))),
    "bulk": lambda rng: [rng.randint(0, 6) for _ in range(HISTORY_DAYS - 1)] + [300],
}


def stream_cost_ms(samples: list[int], due_days: int | None, runs: int) -> float:
    """Median ms of one full forecast recomputation of one stream."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        daily = DailyThroughput.of(samples)
        how_many(daily)
        when(daily, REMAINING, due_days)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]


def measure(runs: int = 5) -> dict[str, dict[str, float]]:
    """Per shape: the mean daily throughput, the p95 days of `when`, and the cost in ms."""
    result = {}
    for name, shape in SHAPES.items():
        samples = shape(random.Random(19))
        daily = DailyThroughput.of(samples)
        p95 = max(when(daily, REMAINING).days.values(), default=0)
        result[name] = {
            "mean_per_day": sum(samples) / HISTORY_DAYS,
            "p95_days": float(p95),
            "ms": stream_cost_ms(samples, p95, runs),  # due on the p95 day: the longest pass
        }
    return result


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 5
    print(f"forecast per stream: {HISTORY_DAYS} days of history, {REMAINING} remaining items")
    slowest = 0.0
    for name, figures in measure(runs).items():
        slowest = max(slowest, figures["ms"])
        print(
            f"  {name:<7} {figures['mean_per_day']:5.2f} items/day, p95 in "
            f"{figures['p95_days']:4.0f} days: {figures['ms']:7.1f} ms"
        )
    verdict = "met" if slowest < TARGET_MS else "MISSED"
    print(f"target < {TARGET_MS:.0f} ms per stream: {verdict} (slowest {slowest:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
