"""Live positions with unrealized P&L; the selected row is what "close position" closes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import DataTable

from arenad.tui import format as fmt


class PositionsTable(DataTable[Any]):
    DEFAULT_CSS = """
    PositionsTable { height: 1fr; }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("book", "symbol", "size", "entry", "mark", "notional", "uPnL")

    def show(self, rows: Iterable[dict[str, Any]]) -> None:
        selected = self.selected_key()
        self.clear()
        for p in rows:
            key = f"{p.get('book_id')}|{p.get('symbol')}"
            self.add_row(
                str(p.get("book_id", "?")),
                str(p.get("symbol", "?")),
                fmt.dec(p.get("size")),
                fmt.dec(p.get("entry_price")),
                fmt.dec(p.get("mark_price")),
                fmt.money(p.get("notional")),
                fmt.pnl(p.get("unrealized_pnl")),
                key=key,
            )
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # no valid cursor (empty or moving table)
            return None

    def selected_position(self) -> tuple[str, str] | None:
        key = self.selected_key()
        if key is None:
            return None
        book, _, symbol = key.partition("|")
        return book, symbol
