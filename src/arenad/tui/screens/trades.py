"""Trades: round trips and orders of every book, filterable by book and symbol."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Input, TabbedContent, TabPane

from arenad.tui import format as fmt
from arenad.tui.screens.base import BaseScreen
from arenad.tui.widgets.notice import Notice

_STATUS_STYLE = {
    "filled": "green",
    "rejected": "bold red",
    "cancelled": "dim",
    "open": "cyan",
    "partially_filled": "cyan",
    "intent": "yellow",
}


class TradesScreen(BaseScreen):
    AUTO_FOCUS = "#trades"
    CSS_PATH = "trades.tcss"
    RELOAD_ON = frozenset({"order", "position"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh"),
        Binding("slash", "focus_filter", "Filter"),
    ]

    def body(self) -> Iterable[Widget]:
        with Horizontal(classes="filters"):
            yield Input(placeholder="book (e.g. fade:gemini-3-pro)", id="book-filter")
            yield Input(placeholder="symbol (e.g. BTC)", id="symbol-filter")
        with TabbedContent(id="trades-tabs"):
            with TabPane("Round trips", id="tab-roundtrips"):
                yield Notice(id="trades-note")
                yield DataTable(id="trades", cursor_type="row")
            with TabPane("Orders", id="tab-orders"):
                yield Notice(id="orders-note")
                yield DataTable(id="orders", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#trades", DataTable).add_columns(
            "closed", "book", "symbol", "side", "size", "entry", "exit", "P&L", "%", "exit"
        )
        self.query_one("#orders", DataTable).add_columns(
            "time", "book", "symbol", "side", "size", "price", "type", "status", "error"
        )

    def filters(self) -> dict[str, str]:
        out = {}
        for name in ("book", "symbol"):
            v = self.query_one(f"#{name}-filter", Input).value.strip()
            if v:
                out["book_id" if name == "book" else "symbol"] = v
        return out

    async def load(self) -> None:
        args = self.filters()
        self._show_trades(await self.arenad.ask_daemon("trades", limit=200, **args))
        self._show_orders(await self.arenad.ask_daemon("orders", limit=200, **args))

    def _show_trades(self, rows: Any) -> None:
        table = self.query_one("#trades", DataTable)
        table.clear()
        if not self.query_one("#trades-note", Notice).about(rows, empty="no round trips"):
            return
        for i, r in enumerate(rows):
            table.add_row(
                fmt.stamp(r.get("closed_at")),
                str(r.get("book_id")),
                str(r.get("symbol")),
                str(r.get("side")),
                fmt.dec(r.get("size")),
                fmt.dec(r.get("entry_price")),
                fmt.dec(r.get("exit_price")),
                fmt.pnl(r.get("pnl")),
                fmt.pct(r.get("pnl_pct")),
                str(r.get("exit_reason") or fmt.DASH),
                key=str(i),
            )

    def _show_orders(self, rows: Any) -> None:
        table = self.query_one("#orders", DataTable)
        table.clear()
        if not self.query_one("#orders-note", Notice).about(rows, empty="no orders"):
            return
        for i, o in enumerate(rows):
            status = str(o.get("status"))
            table.add_row(
                fmt.stamp(o.get("ts")),
                str(o.get("book_id")),
                str(o.get("symbol")),
                str(o.get("side")),
                fmt.dec(o.get("size")),
                fmt.dec(o.get("price")),
                str(o.get("type") or fmt.DASH) + (" RO" if o.get("reduce_only") else ""),
                Text(status, style=_STATUS_STYLE.get(status, "")),
                str(o.get("error") or ""),
                key=str(i),
            )

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def action_focus_filter(self) -> None:
        self.query_one("#book-filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#trades").focus()
