"""Data you can trust: per source, the latest event time and how late events arrive.

The ingester normalizes every delivery once (`intake.py`), so at the moment it accepts one it
knows each event's time (`at`, what the tool says) and its own arrival time. From those it keeps,
per source (METRICS.md, "Data trust"; docs/metrics.md):

- **latest event time**: the largest `at` of the events it accepted (never decreases);
- **event delay**: arrival time - `at` of each event it accepted in the last hour,
  `now - 1 h < arrival ≤ now`, as quantiles 0.5, 0.85, 0.95 and 1 (linear interpolation
  between closest ranks, as every flowgauge quantile). A tool whose clock runs ahead gives
  negative delays: they are kept as they are, not clipped.

**The structure** (`DelayWindow`): the samples of the window in arrival order (a deque, for
expiry) and the same delays in a `SortedList` (for quantiles). An event costs O(log n) and a
quantile O(log n): exact, no histogram buckets, no sampling. **The bound**: at most `cap`
samples per source (default 50,000, about 6 MB per source at worst in CPython); when a source
delivers more than that in an hour the quantiles are over its latest `cap` arrivals of the hour,
and `flowgauge_event_delay_events` tells how many samples they cover. Each ingester exposes its
own arrivals: with several, `max by (source)` gives the worst.

Arrival times come from an injected clock, made monotone here (an arrival never precedes the
previous one), so that expiry from the deque's head is exact even if the wall clock steps back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from sortedcontainers import SortedList

from flowgauge.engine.quantile import quantiles_seconds
from flowgauge.engine.snapshot import AGE_QUANTILES, Quantiles
from flowgauge.model.events import FlowEvent
from flowgauge.model.micros import MICROS, to_micros

HOUR_MICROS = 3600 * MICROS
DEFAULT_CAP = 50_000
#: The quantiles of `flowgauge_event_delay_seconds` (CONTRACT.md): 0.5, 0.85, 0.95 and 1.
DELAY_QUANTILES = AGE_QUANTILES


class DelayWindow:
    """One source's event delays over a sliding span of arrivals: exact, at most `cap`."""

    def __init__(self, span_micros: int = HOUR_MICROS, cap: int = DEFAULT_CAP) -> None:
        if span_micros <= 0 or cap <= 0:
            raise ValueError("the span and the cap must be positive")
        self._span = span_micros
        self._cap = cap
        self._arrivals: deque[tuple[int, int]] = deque()  # (arrival, delay), arrival order
        self._delays: SortedList = SortedList()  # the same delays, ascending

    def add(self, arrival_micros: int, delay_micros: int) -> None:
        self._arrivals.append((arrival_micros, delay_micros))
        self._delays.add(delay_micros)
        if len(self._arrivals) > self._cap:
            self._drop()

    def expire(self, now_micros: int) -> None:
        """Forget the arrivals at or before `now - span`."""
        low = now_micros - self._span
        while self._arrivals and self._arrivals[0][0] <= low:
            self._drop()

    def __len__(self) -> int:
        return len(self._arrivals)

    def quantiles(self) -> Quantiles:
        """{quantile label: seconds} over the samples held; {} when there are none."""
        return quantiles_seconds(self._delays, DELAY_QUANTILES)

    def _drop(self) -> None:
        _, delay = self._arrivals.popleft()
        self._delays.remove(delay)


class Freshness:
    """Per source: the latest event time seen and the last hour's delays (`DelayWindow`)."""

    def __init__(
        self, sources: Iterable[str], span_micros: int = HOUR_MICROS, cap: int = DEFAULT_CAP
    ) -> None:
        self._windows = {source: DelayWindow(span_micros, cap) for source in sources}
        self._latest: dict[str, int] = {}
        self._last_arrival = -(2**62)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self._windows)

    def observe(self, source: str, events: Iterable[FlowEvent], arrival_micros: int) -> None:
        """An accepted delivery of `source` arrived at `arrival_micros` with these events."""
        arrival = self._last_arrival = max(arrival_micros, self._last_arrival)
        window = self._windows.get(source)
        if window is None:
            return  # not a configured source: the ingester refuses those before this
        latest = self._latest.get(source)
        for event in events:
            at = to_micros(event.at)
            window.add(arrival, arrival - at)
            if latest is None or at > latest:
                latest = at
        if latest is not None:
            self._latest[source] = latest

    def latest_seconds(self) -> dict[str, float]:
        """Source -> its latest event time (epoch seconds), for the sources that sent any."""
        return {source: at / MICROS for source, at in sorted(self._latest.items())}

    def delays(self, now_micros: int) -> dict[str, tuple[int, Quantiles]]:
        """Source -> (samples in the window, their delay quantiles) at `now`, every source."""
        out: dict[str, tuple[int, Quantiles]] = {}
        for source, window in self._windows.items():
            window.expire(max(now_micros, self._last_arrival))
            out[source] = (len(window), window.quantiles())
        return out
