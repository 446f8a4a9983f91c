"""The report page's bar chart as SVG geometry, computed here so the template
only draws: one horizontal bar per row, one stacked segment per value column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel import declarations as d

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#64748b")
ROW_HEIGHT = 44
BAR_WIDTH = 330
MAX_BARS = 50  # a longer table is still shown in full; the chart keeps its first rows


@dataclass(frozen=True)
class Segment:
    key: str
    x: float
    width: float
    value: int | float
    color: str


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    total: int | float
    end: float
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    height: int
    legend: list[tuple[str, str]]  # (column key, colour)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def build(spec: d.ReportChart | None, records: list[dict[str, Any]],
          label_of: Any) -> Chart | None:
    """The chart of ``records`` (rows as dicts); ``label_of(key, value)`` gives the
    text shown for a label column's value. None without a spec or a positive value."""
    if spec is None or not records:
        return None
    colors = list(spec.colors) + [c for c in PALETTE if c not in spec.colors]
    legend = [(key, colors[i % len(colors)]) for i, key in enumerate(spec.values)]
    rows = records[:MAX_BARS]
    totals = [sum(_number(r.get(k)) for k in spec.values) for r in rows]
    peak = max(totals or [0])
    if peak <= 0:
        return None
    bars = []
    for i, (record, total) in enumerate(zip(rows, totals, strict=True)):
        x = 0.0
        segments = []
        for key, color in legend:
            value = _number(record.get(key))
            width = round(value * BAR_WIDTH / peak, 1)
            if value > 0:
                segments.append(Segment(key, x, max(width, 1.0), record.get(key), color))
            x += width
        label = " · ".join(label_of(k, record.get(k)) for k in spec.label)
        bars.append(Bar(label, 4 + i * ROW_HEIGHT, int(total) if total == int(total) else total,
                        round(x, 1), segments))
    return Chart(bars, len(bars) * ROW_HEIGHT + 8, legend)
