"""The view model as text a person reads: one table per stream, durations in days and hours.

What `flowgauge report` prints by default. Every number comes from `view.model.view`, hence from
the same snapshot `report --format prom` renders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flowgauge.engine.snapshot import KINDS
from flowgauge.view.words import duration

Json = Mapping[str, Any]
STAGE_HEADER = ("stage", "WIP / limit", "age p85", "oldest", "time in stage p85", *KINDS, "signals")


def render_text(model: Json) -> str:
    """Every stream's table, then DORA per service."""
    now = model["now"].split(".")[0].removesuffix("Z").replace("T", " ")  # to the second
    parts = [f"flowgauge report, now {now} UTC ({model['clock']} clock)\n"]
    parts.extend(_stream(stream) for stream in model["streams"])
    if model["services"]:
        parts.append(_dora(model["services"]))
    return "\n".join(parts)


def _stream(s: Json) -> str:
    title = f"== {s['name']} (window {duration(s['window_seconds'])})"
    if not s["has_data"]:
        return f"{title}\nno data yet: no event of this stream has been recorded.\n"
    f = s["figures"]
    lines = [
        title,
        f"lead time   p50 {_d(f['lead_time'].get('0.5'))}, p85 {_d(f['lead_time'].get('0.85'))}",
        f"cycle time  p50 {_d(f['cycle_time'].get('0.5'))}, p85 {_d(f['cycle_time'].get('0.85'))}",
        f"throughput {f['throughput']} items in the window; flow efficiency "
        f"{_pct(f['flow_efficiency'])}; WIP {f['wip']}; blocked {f['blocked']}; "
        f"SLE breaches {'-' if f['sle_breaches'] is None else f['sle_breaches']}",
        "",
    ]
    rows = [STAGE_HEADER, *(_stage_row(g) for g in s["stages"])]
    lines.extend(columns(rows))
    bottleneck = s["bottleneck"]
    lines.append("")
    lines.append(
        f"bottleneck: {bottleneck['sentence']}"
        if bottleneck
        else "bottleneck: none (no stage shows work piling up)"
    )
    lines.extend(_breakdown(s["breakdown"]))
    return "\n".join(lines) + "\n"


def _breakdown(b: Json) -> list[str]:
    """Handoffs, blocked reasons and distribution, a line each (none when there is nothing)."""
    lines = []
    if b["handoffs"]:
        kinds = ", ".join(
            f"{kind} {_n(qs.get('0.5'))} / {_n(qs.get('0.85'))}"
            for kind, qs in b["handoffs"].items()
        )
        lines.append(f"handoffs per item p50 / p85: {kinds}")
    if b["blocked_reasons"]:
        reasons = ", ".join(
            f"{r['reason']} {'-' if r['items'] is None else r['items']} ({_d(r['seconds'])})"
            for r in b["blocked_reasons"]
        )
        lines.append(f"blocked by reason, now (time in window): {reasons}")
    by_dimension: dict[str, list[str]] = {}
    for d in b["distribution"]:
        wip, done = d["wip"] or 0, d["throughput"] or 0
        by_dimension.setdefault(d["dimension"], []).append(f"{d['value']} {wip}/{done}")
    for dimension, values in by_dimension.items():
        lines.append(f"by {dimension} (started WIP/throughput): {', '.join(values)}")
    return lines


def _stage_row(g: Json) -> tuple[str, ...]:
    if g["done"]:
        wip = "(done)"
    elif g["wip_limit"] is None:
        wip = str(g["wip"])
    else:
        wip = f"{g['wip']} / {g['wip_limit']}"
    firing = ", ".join(name for name, on in g["signals"].items() if on)
    if g["bottleneck"]:
        firing = f"BOTTLENECK: {firing}"
    return (
        g["name"],
        wip,
        _d(g["age_p85"]),
        _d(g["age_oldest"]),
        _d(g["time_in_stage"].get("0.85")),
        *(_pct(g["share"][kind]) for kind in KINDS),
        firing,
    )


def _dora(services: Sequence[Json]) -> str:
    rows: list[tuple[str, ...]] = [
        (
            "service",
            "deploys / day",
            "lead time for changes p50",
            "p85",
            "change failure",
            "time to restore p50",
            "p85",
        )
    ]
    for s in services:
        lt, ttr = s["lead_time_for_changes"], s["time_to_restore"]
        rows.append(
            (
                s["service"],
                f"{s['deployment_frequency_per_day']:.2f}",
                _d(lt.get("0.5")),
                _d(lt.get("0.85")),
                _pct(s["change_failure_ratio"]),
                _d(ttr.get("0.5")),
                _d(ttr.get("0.85")),
            )
        )
    return "\n".join(["== DORA", *columns(rows)]) + "\n"


def columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart, trailing blanks stripped."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _d(seconds: float | None) -> str:
    return "-" if seconds is None else duration(seconds)


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.0%}"
