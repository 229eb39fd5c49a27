"""The table every screen uses: rows keyed, so a refresh never moves the operator's selection.

A query screen re-reads its rows every couple of seconds. Rebuilding a plain ``DataTable``
puts the cursor back on row 0 and the horizontal scroll back at the left edge, so an action
taken a moment after a refresh (pause, close) lands on the wrong row. :class:`Grid` takes the
whole row set each time (``show``) and puts the cursor back on the row with the same key, in
the same column, at the same horizontal scroll — or on the nearest row when its row is gone.

On top of that, every table gets the same three tools, so no screen grows its own variant:

- a case-insensitive substring filter over every cell (``/`` opens it; see ``FilterBar``),
  with a "no row matches" line in place of an empty table;
- sort by any column (``s`` next column, ``S`` reverse, or click the header); numbers sort as
  numbers, "—" sorts last;
- columns by priority: when the table is narrower than its columns, the ones with the highest
  ``priority`` number are hidden first (priority 0 is never hidden; what still does not fit
  scrolls horizontally), so the key figures survive at 80 columns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable

from arenad.tui import format as fmt


class Filterable(Protocol):
    """What the screen's filter box needs of a table (Grid, EventTable)."""

    filter_text: str

    @property
    def id(self) -> str | None: ...

    def set_filter(self, text: str) -> None: ...

    @property
    def no_match(self) -> bool: ...

    @property
    def shown(self) -> Sequence[Any]: ...

    @property
    def all_rows(self) -> Sequence[Any]: ...

    def focus(self, scroll_visible: bool = True) -> Any: ...


@dataclass(frozen=True, slots=True)
class Col:
    key: str
    label: str
    priority: int = 0
    """0: always shown; the higher the number, the sooner it is hidden when space is short."""
    fill: bool = False
    """Takes the width left over (text such as a reason), cut rather than pushing the figures
    off screen; the full text is in the screen's detail view."""


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    cells: Sequence[Any]
    """One renderable (str or rich Text) per column of the grid, in column order."""


def plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def sort_value(cell: Any) -> tuple[int, float, str]:
    """Numbers (thousands separators, signs, %, ×, ▲ allowed) before words; blanks last."""
    s = plain(cell).strip()
    if not s or s in ("—", "–", "—*", "–*", "?"):
        return (2, 0.0, "")
    t = s.replace(",", "").replace("%", "").replace("×", "").replace("$", "").strip()
    t = t.replace("▲", "").replace("▼", "-").replace("−", "-")
    try:
        v = float(t.split()[0])
    except (ValueError, IndexError):
        return (1, 0.0, s.lower())
    return (0, v, "") if math.isfinite(v) else (1, 0.0, s.lower())


def no_match_strip(table: DataTable[Any], needle: str) -> Strip:
    """The line an empty filtered table shows where its first row would be."""
    msg = f" no row matches “{needle}” (/ to change it)"
    style = table.rich_style + Style(italic=True, dim=True)
    width = table.size.width
    return Strip([Segment(msg[:width].ljust(width), style)], width)


class Grid(DataTable[Any]):
    DEFAULT_CSS = """
    Grid { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort_next", "Sort", show=False),
        Binding("S", "sort_reverse", "Reverse sort", show=False),
        Binding("y", "copy", "Copy the selected row (OSC 52, works over SSH)", show=False),
    ]

    class FilterRequested(Message):
        """``/`` pressed on this grid: the screen opens its filter box for it."""

        def __init__(self, grid: Filterable) -> None:
            super().__init__()
            self.grid = grid

    def __init__(self, columns: Sequence[Col] = (), **kw: Any) -> None:
        kw.setdefault("cursor_type", "row")
        super().__init__(**kw)
        self.specs: list[Col] = list(columns)
        self.all_rows: list[Row] = []
        self.filter_text = ""
        self.sort_key: str | None = None
        self.sort_reverse = False
        self.shown: list[Row] = []
        self._visible: list[str] = []
        self._widths: dict[str, int] = {}
        self._last_key: str | None = None

    # --- data ------------------------------------------------------------------------------
    def set_columns(self, columns: Sequence[Col]) -> None:
        self.specs = list(columns)
        self._visible = []
        self._render_rows()

    def show(self, rows: Iterable[Row]) -> None:
        """Replace every row, keeping the selection (by key) and the scroll position."""
        self.all_rows = list(rows)
        self._render_rows()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._render_rows()

    def sort_by(self, key: str | None, *, reverse: bool = False) -> None:
        self.sort_key, self.sort_reverse = key, reverse
        self._visible = []  # the arrow in the header label changes
        self._render_rows()

    @property
    def no_match(self) -> bool:
        return bool(self.filter_text) and bool(self.all_rows) and not self.shown

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            value = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # no valid cursor (empty or rebuilding table)
            return None
        return value

    def selected_row(self) -> Row | None:
        key = self.selected_key()
        if key is None:
            return None
        return next((r for r in self.shown if r.key == key.split("\x1f")[0]), None)

    def selected_text(self) -> str:
        """The selected row as "label: value" pairs (every column, hidden ones too)."""
        row = self.selected_row()
        if row is None:
            return ""
        return "  ".join(
            f"{c.label}: {plain(v)}" for c, v in zip(self.specs, row.cells, strict=False)
        )

    # --- rendering -------------------------------------------------------------------------
    def _filtered(self) -> list[Row]:
        rows = self.all_rows
        needle = self.filter_text.strip().lower()
        if needle:
            rows = [r for r in rows if any(needle in plain(c).lower() for c in r.cells)]
        if self.sort_key is not None:
            idx = next((i for i, c in enumerate(self.specs) if c.key == self.sort_key), None)
            if idx is not None:
                rows = sorted(
                    rows,
                    key=lambda r: sort_value(r.cells[idx]) if idx < len(r.cells) else (2, 0, ""),
                    reverse=self.sort_reverse,
                )
        return rows

    def _measure(self, rows: list[Row]) -> dict[str, int]:
        widths = {}
        for i, c in enumerate(self.specs):
            w = cell_len(c.label) + (2 if c.key == self.sort_key else 0)  # the sort arrow
            for r in rows:
                if i < len(r.cells):
                    w = max(w, max((cell_len(x) for x in plain(r.cells[i]).split("\n")), default=0))
            widths[c.key] = w
        return widths

    def _layout(self, widths: dict[str, int]) -> tuple[list[str], dict[str, int]]:
        """The columns that fit (dropping high priority numbers first) and fixed widths."""
        avail = max(10, (self.size.width or 200) - 2)  # the vertical scrollbar
        pad = 2 * self.cell_padding
        visible = [c for c in self.specs]

        def total(cols: list[Col]) -> int:
            return sum((8 if c.fill else widths[c.key]) + pad for c in cols)

        droppable = sorted(
            (c for c in self.specs if c.priority > 0),
            key=lambda c: (-c.priority, -self.specs.index(c)),
        )
        for c in droppable:
            if total(visible) <= avail:
                break
            visible.remove(c)
        fixed: dict[str, int] = {}
        fills = [c for c in visible if c.fill]
        if fills:
            rest = avail - sum(widths[c.key] + pad for c in visible if not c.fill)
            share = max(8, rest // len(fills) - pad)
            for c in fills:
                fixed[c.key] = min(widths[c.key], share)
        return [c.key for c in visible], fixed

    def _render_rows(self) -> None:
        # An empty moment (a filter matching nothing, a failed query) has no cursor: the row
        # selected before it is the one to come back to.
        current = self.selected_key()
        if current is not None:
            self._last_key = current
        selected = self._last_key
        old_index = self.cursor_row if self.row_count else 0
        scroll_x, scroll_y = self.scroll_x, self.scroll_y
        rows = self._filtered()
        self.shown = rows
        widths = self._measure(rows or self.all_rows)
        visible, fixed = self._layout(widths)
        layout = [*visible, *(f"{k}={v}" for k, v in sorted(fixed.items()))]
        if layout != self._visible:
            self.clear(columns=True)
            for c in self.specs:
                if c.key in visible:
                    self.add_column(self._label(c), key=c.key, width=fixed.get(c.key))
            self._visible = layout
        else:
            self.clear()
        index = {c.key: i for i, c in enumerate(self.specs)}
        keys: list[str] = []
        seen: set[str] = set()
        for r in rows:
            key = r.key
            n = 1
            while key in seen:  # two rows the daemon sent alike must not crash the table
                n += 1
                key = f"{r.key}\x1f{n}"
            seen.add(key)
            keys.append(key)
            self.add_row(
                *(fmt.cell(r.cells[index[k]]) if index[k] < len(r.cells) else "" for k in visible),
                key=key,
            )
        if not rows:
            return
        row = keys.index(selected) if selected in keys else min(old_index, len(rows) - 1)
        self._last_key = keys[row]
        self.cursor_coordinate = Coordinate(row, 0)
        self.call_after_refresh(self._restore_scroll, scroll_x, scroll_y, row)

    def _restore_scroll(self, x: float, y: float, row: int) -> None:
        header = self.header_height if self.show_header else 0
        body = max(1, self.size.height - header)
        # keep the vertical position if the selected row is still in view there
        keep_y = y <= row < y + body
        self.scroll_to(x=x, y=y if keep_y else None, animate=False, immediate=True)
        if not keep_y:
            self.scroll_to(y=max(0, row - body // 2), animate=False, immediate=True)

    def _label(self, c: Col) -> Text:
        if c.key == self.sort_key:
            return Text(c.label + (" ▼" if self.sort_reverse else " ▲"), style="bold")
        return Text(c.label)

    def watch_hover_coordinate(self, old: Coordinate, value: Coordinate) -> None:
        """A cell cut to its column (a reason, an error) shows in full as the tooltip."""
        super().watch_hover_coordinate(old, value)
        try:
            cell = self.get_cell_at(value)
            column = self.ordered_columns[value.column]
        except Exception:  # hovering the header or past the last row
            self.tooltip = None
            return
        text = plain(cell)
        self.tooltip = text if cell_len(text) > column.get_render_width(self) - 2 else None

    def on_resize(self, _event: events.Resize) -> None:
        if self.specs:
            self._render_rows()

    def render_line(self, y: int) -> Strip:
        header = self.header_height if self.show_header else 0
        if self.no_match and y == header:
            return no_match_strip(self, self.filter_text)
        return super().render_line(y)

    # --- keys ------------------------------------------------------------------------------
    def action_copy(self) -> None:
        text = self.selected_text()
        if not text:
            self.notify("no row selected", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"copied: {text[:60]}{'…' if len(text) > 60 else ''}")

    def action_filter(self) -> None:
        self.post_message(self.FilterRequested(self))

    def action_sort_next(self) -> None:
        keys = [c.key for c in self.specs if c.key in self._visible] or [c.key for c in self.specs]
        if not keys:
            return
        if self.sort_key not in keys:
            self.sort_by(keys[0])
        else:
            i = keys.index(self.sort_key)
            self.sort_by(keys[i + 1] if i + 1 < len(keys) else None)

    def action_sort_reverse(self) -> None:
        if self.sort_key is None and self.specs:
            self.sort_key = self.specs[0].key
        self.sort_by(self.sort_key, reverse=not self.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.data_table is not self:
            return
        event.stop()
        key = event.column_key.value
        if key == self.sort_key:
            self.sort_by(key, reverse=not self.sort_reverse)
        else:
            self.sort_by(key)
