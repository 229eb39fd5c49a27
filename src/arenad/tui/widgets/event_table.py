"""System events as a table, newest at the bottom, bounded to ``max_rows``."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

from textual.widgets import DataTable

from arenad.tui import format as fmt

_LEVELS = ("debug", "info", "warning", "error")


def matches(e: dict[str, Any], level: str | None, category: str | None, search: str | None) -> bool:
    """The same filter as the daemon's ``events`` command, for live events."""
    if level and level in _LEVELS:
        lv = e.get("level")
        if lv not in _LEVELS or _LEVELS.index(str(lv)) < _LEVELS.index(level):
            return False
    if category and e.get("category") != category:
        return False
    if search:
        needle = search.lower()
        hay = str(e.get("message", "")) + json.dumps(e.get("details"), default=str)
        if needle not in hay.lower():
            return False
    return True


class EventTable(DataTable[Any]):
    DEFAULT_CSS = """
    EventTable { height: 1fr; }
    """

    def __init__(self, *, max_rows: int = 500, **kw: Any) -> None:
        super().__init__(**kw)
        self.max_rows = max_rows
        self._keys = itertools.count()
        self._order: list[str] = []

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_column("time", width=8)
        self.add_column("level", width=7)
        self.add_column("category", width=8)
        self.add_column("message")

    def show(self, events: Iterable[dict[str, Any]]) -> None:
        self.clear()
        self._order.clear()
        self.append(events)

    def append(self, events: Iterable[dict[str, Any]]) -> None:
        new = list(events)[-self.max_rows:]
        at_end = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        for e in new:
            key = str(next(self._keys))
            self._order.append(key)
            self.add_row(fmt.clock(e.get("ts")), fmt.level(e.get("level")),
                         str(e.get("category", "")), str(e.get("message", "")), key=key)
        excess = len(self._order) - self.max_rows
        if excess > 0:
            for key in self._order[:excess]:
                self.remove_row(key)
            del self._order[:excess]
        self.call_after_refresh(self._settle, at_end)

    def _settle(self, follow: bool) -> None:
        # DataTable (Textual 8) can cache a row rendered before the new cells widened their
        # column, leaving the message column cut at its label width; drop those renders once
        # the widths are known. Then keep following the feed if the cursor was at its end.
        self._clear_caches()
        self.refresh()
        if follow and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)
