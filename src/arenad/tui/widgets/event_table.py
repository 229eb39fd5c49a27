"""System events as a table, newest at the bottom, bounded to ``max_rows``."""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widgets import DataTable

from arenad.tui import format as fmt
from arenad.tui.widgets.grid import no_match_strip

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
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy", "Copy the event", show=False),
        Binding("F", "toggle_follow", "Follow/pause the feed", show=False),
        Binding("slash", "filter", "Filter"),
    ]
    paused = False
    """True: new events are added below without moving the cursor (reading an old one)."""

    def action_toggle_follow(self) -> None:
        self.paused = not self.paused
        if not self.paused and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)
        self.border_subtitle = "paused — F follows" if self.paused else ""
        self.notify("event feed paused (F follows again)" if self.paused else "following")

    def action_copy(self) -> None:
        from arenad.tui.screens.event_detail import event_text

        e = self.selected_event()
        if e is None:
            self.notify("no event selected", severity="warning")
            return
        self.app.copy_to_clipboard(event_text(e).plain)
        self.notify("event copied to the clipboard (OSC 52)")

    def __init__(self, *, max_rows: int = 500, **kw: Any) -> None:
        super().__init__(**kw)
        self.max_rows = max_rows
        self._keys = itertools.count()
        self._rows: deque[dict[str, Any]] = deque(maxlen=max_rows)
        self._by_key: dict[str, dict[str, Any]] = {}
        self.filter_text = ""
        self.filterable = True
        """False where the screen has its own search (Events): ``/`` goes to that box."""

    # --- the in-place filter (the same contract as Grid's, for the FilterBar) ----------------
    def _matches(self, e: dict[str, Any]) -> bool:
        return not self.filter_text.strip() or matches(e, None, None, self.filter_text.strip())

    @property
    def all_rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    @property
    def shown(self) -> list[dict[str, Any]]:
        return [e for e in self._rows if self._matches(e)]

    @property
    def no_match(self) -> bool:
        return bool(self.filter_text.strip()) and bool(self._rows) and not self.row_count

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._rebuild(self.row_count == 0 or self.cursor_row >= self.row_count - 1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "filter" and not self.filterable)

    def action_filter(self) -> None:
        from arenad.tui.widgets.grid import Grid

        self.post_message(Grid.FilterRequested(self))  # type: ignore[arg-type]

    def render_line(self, y: int) -> Strip:
        header = self.header_height if self.show_header else 0
        if self.no_match and y == header:
            return no_match_strip(self, self.filter_text)
        return super().render_line(y)

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_column("time", width=8)
        self.add_column("level", width=7)
        self.add_column("category", width=8)
        self.add_column("message")

    def show(self, events: Iterable[dict[str, Any]]) -> None:
        self._rows.clear()
        self._rows.extend(events)
        self._rebuild(self.row_count == 0 or self.cursor_row >= self.row_count - 1)

    def append(self, events: Iterable[dict[str, Any]]) -> None:
        new = list(events)[-self.max_rows :]
        if not new:
            return
        at_end = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        if len(self._rows) + len(new) > self.max_rows:
            # Trimming row by row costs O(rows) per removed row in DataTable; under a burst a
            # rebuild of the kept rows is much cheaper.
            self._rows.extend(new)
            self._rebuild(at_end)
            return
        self._rows.extend(new)
        for e in new:
            if self._matches(e):
                self._add(e)
        self.call_after_refresh(self._settle, at_end)

    def _add(self, e: dict[str, Any]) -> None:
        key = str(next(self._keys))
        self._by_key[key] = e
        self.add_row(
            fmt.clock(e.get("ts")),
            fmt.level(e.get("level")),
            fmt.text(e.get("category")),
            fmt.text(e.get("message")),
            key=key,
        )

    def selected_event(self) -> dict[str, Any] | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # no valid cursor
            return None
        return self._by_key.get(key or "")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an event: the whole of it, details included."""
        from arenad.tui.screens.event_detail import EventDetailScreen

        e = self._by_key.get(event.row_key.value or "")
        if e is not None:
            event.stop()
            self.app.push_screen(EventDetailScreen(e))

    def _rebuild(self, follow: bool) -> None:
        keep = self.selected_event()
        self._by_key.clear()
        self.clear()
        shown = self.shown
        for e in shown:
            self._add(e)
        if keep is not None and not follow:  # a refresh keeps the event being read
            at = next((i for i, e in enumerate(shown) if e is keep), None)
            if at is not None:
                self.move_cursor(row=at, animate=False)
        self.call_after_refresh(self._settle, follow)

    def _settle(self, follow: bool) -> None:
        # DataTable (Textual 8) can cache a row rendered before the new cells widened their
        # column, leaving the message column cut at its label width; drop those renders once
        # the widths are known. Then keep following the feed if the cursor was at its end.
        self._clear_caches()
        self.refresh()
        if follow and not self.paused and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)
