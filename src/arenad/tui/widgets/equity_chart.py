"""Line chart of the fade aggregate against the bots aggregate (textual-plotext).

Plotext rebuilds the whole chart on every render (about 40 ms at 160×48 on the development
machine), so the chart redraws its data at most once per ``MIN_REDRAW_S`` whatever the tick
rate, and caches the rendered text until the data, the size or the theme change — otherwise a
tick stream or an unrelated layout change (the kill-switch header growing a line) would pay it.

The x axis is clock time (UTC, as every time in the TUI) with ticks at round steps (a
minute … a week) chosen for the span and the width; the y axis is USD with round ticks. One
point still gives a readable chart: the span is widened around it (an hour, 1 % of the
value). ``RANGES`` (1h, 1d, 1w, all) cut the series to its newest part; ``g`` on the
dashboard cycles them. Long series are thinned to about two points per column.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from textual.app import RenderResult
from textual_plotext import PlotextPlot

LABELS = {"fade_aggregate": "fade", "bots_aggregate": "bots"}
RANGES: tuple[tuple[str, float | None], ...] = (
    ("all", None),
    ("1h", 3600.0),
    ("1d", 86_400.0),
    ("1w", 7 * 86_400.0),
)
_STEPS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 2 * 86_400, 7 * 86_400)


def time_ticks(first: float, last: float, slots: int) -> tuple[list[float], list[str]]:
    """Round clock times across ``[first, last]``: at most ``slots`` of them, labelled
    ``HH:MM`` (with the day, ``MM-DD``, once the span passes a day)."""
    span = max(1.0, last - first)
    step = next((s for s in _STEPS if span / s <= max(1, slots)), _STEPS[-1])
    start = math.ceil(first / step) * step
    ticks = [float(t) for t in range(int(start), int(last) + 1, step)]
    fmt = "%m-%d" if step >= 86_400 else "%m-%d %H:%M" if span > 86_400 else "%H:%M"
    return ticks, [datetime.fromtimestamp(t, UTC).strftime(fmt) for t in ticks]


def usd_ticks(low: float, high: float, slots: int) -> tuple[list[float], list[str]]:
    """Round USD values across ``[low, high]`` (1, 2 or 5 times a power of ten apart)."""
    span = max(high - low, 1e-9)
    raw = span / max(1, slots)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.ceil(low / step) * step
    ticks, v = [], start
    while v <= high + step * 1e-9:
        ticks.append(v)
        v += step
    places = 0 if step >= 1 else max(0, -math.floor(math.log10(step)))
    return ticks, [f"${t:,.{places}f}" for t in ticks]


COLORS = {"fade_aggregate": "green", "bots_aggregate": "red"}


def _epoch(ts: str) -> float | None:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class EquityChart(PlotextPlot):
    DEFAULT_CSS = """
    EquityChart { height: 1fr; min-height: 6; }
    """
    MIN_REDRAW_S = 1.0

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._series: Mapping[str, Iterable[tuple[str, float]]] = {}
        self._version = 0
        self._last_draw = 0.0
        self._draw_pending = False
        self._cache_key: tuple[Any, ...] | None = None
        self._cache: RenderResult | None = None
        self.range_index = 0

    @property
    def range_name(self) -> str:
        return RANGES[self.range_index][0]

    def cycle_range(self) -> str:
        self.range_index = (self.range_index + 1) % len(RANGES)
        self._draw()
        return self.range_name

    def show(self, series: Mapping[str, Iterable[tuple[str, float]]], *, now: bool = False) -> None:
        """Plot ``series``; ``now`` skips the rate limit (a snapshot, not a tick)."""
        self._series = series
        wait = self._last_draw + self.MIN_REDRAW_S - time.monotonic()
        if now or wait <= 0:
            self._draw()
        elif not self._draw_pending:
            self._draw_pending = True
            self.set_timer(wait, self._draw)

    def render(self) -> RenderResult:
        key = (self.size, self._version, self.app.theme, self.theme)
        if key != self._cache_key or self._cache is None:
            self._cache = super().render()
            self._cache_key = key
        return self._cache

    def _draw(self) -> None:
        self._draw_pending = False
        self._last_draw = time.monotonic()
        self._version += 1
        series = self._series
        plt = self.plt
        plt.clear_data()
        points = {
            name: [(t, v) for ts, v in pts if (t := _epoch(ts)) is not None]
            for name, pts in series.items()
        }
        points = {k: v for k, v in points.items() if v}
        if not points:
            plt.title("equity (USD): no data yet")
            self.refresh()
            return
        last = max(p[-1][0] for p in points.values())
        window = RANGES[self.range_index][1]
        if window is not None:
            points = {k: [p for p in v if p[0] >= last - window] for k, v in points.items()}
            points = {k: v for k, v in points.items() if v}
        first = min(p[0][0] for p in points.values())
        values = [v for pts in points.values() for _, v in pts]
        low, high = min(values), max(values)
        if last - first < 60:  # one point (or a burst): an hour around it
            first, last = first - 1800, last + 1800
        if high - low < max(1.0, abs(high) * 1e-4):
            pad = max(1.0, abs(high) * 0.01)
            low, high = low - pad, high + pad
        width = max(20, self.size.width or 80)
        height = max(6, self.size.height or 12)
        for name, pts in points.items():
            step = max(1, len(pts) // (2 * width))
            thin = pts[::step]
            if thin[-1] is not pts[-1]:
                thin.append(pts[-1])
            pts = thin
            plt.plot(
                [t for t, _ in pts],
                [v for _, v in pts],
                label=LABELS.get(name, name),
                color=COLORS.get(name, "blue"),
                marker="braille" if len(pts) > 1 else "dot",
            )
        plt.xlim(first, last)
        plt.ylim(low, high)
        plt.xticks(*time_ticks(first, last, max(2, width // 14)))
        plt.yticks(*usd_ticks(low, high, max(2, height // 3)))
        plt.title("")
        plt.xlabel(f"time (UTC) · range {self.range_name} (g)")
        self.refresh()
