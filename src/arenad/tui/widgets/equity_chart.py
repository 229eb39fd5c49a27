"""Line chart of the fade aggregate against the bots aggregate (textual-plotext).

Plotext rebuilds the whole chart on every render (about 40 ms at 160×48 on the development
machine), so the chart redraws its data at most once per ``MIN_REDRAW_S`` whatever the tick
rate, and caches the rendered text until the data, the size or the theme change — otherwise a
tick stream or an unrelated layout change (the kill-switch header growing a line) would pay it.

The x axis is time before the newest point (minutes, or hours for long spans) rather than
wall-clock labels: it reads at a glance in 80 columns and does not depend on the local time
zone. Long series are thinned to about two points per column before plotting.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from textual.app import RenderResult
from textual_plotext import PlotextPlot

LABELS = {"fade_aggregate": "fade", "bots_aggregate": "bots"}
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
        first = min(p[0][0] for p in points.values())
        hours = last - first > 3 * 3600
        scale, unit = (3600.0, "hours") if hours else (60.0, "minutes")
        width = max(20, self.size.width or 80)
        for name, pts in points.items():
            step = max(1, len(pts) // (2 * width))
            thin = pts[::step]
            if thin[-1] is not pts[-1]:
                thin.append(pts[-1])
            pts = thin
            plt.plot(
                [(t - last) / scale for t, _ in pts],
                [v for _, v in pts],
                label=LABELS.get(name, name),
                color=COLORS.get(name, "blue"),
                marker="braille",
            )
        plt.title("")
        plt.xlabel(f"{unit} before the last point")
        self.refresh()
