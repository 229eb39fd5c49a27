"""Trades: round trips and orders of every book.

The filter (``/``) is the grid's: a case-insensitive substring of any cell, applied here to
the newest ``LIMIT`` rows, so "eth" finds ETH and "grok" finds fade:grok-4 (the daemon's own
``book_id``/``symbol`` arguments match exactly, which is what made typed filters come back
empty without a word).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from arenad.tui import format as fmt
from arenad.tui.screens.base import BaseScreen
from arenad.tui.widgets.grid import Col, Grid, Row
from arenad.tui.widgets.notice import Notice

LIMIT = 500
_STATUS_STYLE = {
    "filled": "green",
    "rejected": "bold red",
    "cancelled": "dim",
    "open": "cyan",
    "partially_filled": "cyan",
    "intent": "yellow",
}
TRADE_COLS = [
    Col("closed", "closed"),
    Col("book", "book"),
    Col("symbol", "symbol"),
    Col("side", "side", priority=2),
    Col("size", "size", priority=1),
    Col("entry", "entry price", priority=3),
    Col("exit", "exit price", priority=3),
    Col("pnl", "P&L"),
    Col("pct", "P&L %", priority=2),
    Col("reason", "exit reason", priority=4),
]
ORDER_COLS = [
    Col("time", "time"),
    Col("book", "book"),
    Col("symbol", "symbol"),
    Col("side", "side"),
    Col("size", "size"),
    Col("price", "price", priority=1),
    Col("type", "type", priority=3),
    Col("status", "status"),
    Col("error", "error", priority=2, fill=True),
]


def trade_key(r: dict[str, Any]) -> str:
    if r.get("id") is not None:
        return f"id:{r['id']}"
    return f"{r.get('book_id')}|{r.get('symbol')}|{r.get('opened_at')}|{r.get('closed_at')}"


def order_key(o: dict[str, Any]) -> str:
    cloid = o.get("client_order_id")
    return f"c:{cloid}" if cloid else f"{o.get('book_id')}|{o.get('symbol')}|{o.get('ts')}"


class TradesScreen(BaseScreen):
    AUTO_FOCUS = "#trades"
    CSS_PATH = "trades.tcss"
    RELOAD_ON = frozenset({"order", "position"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh"),
        Binding("1", "tab('tab-roundtrips')", "Round trips tab", show=False),
        Binding("2", "tab('tab-orders')", "Orders tab", show=False),
    ]

    def body(self) -> Iterable[Widget]:
        with TabbedContent(id="trades-tabs"):
            with TabPane("Round trips (1)", id="tab-roundtrips"):
                yield Notice(id="trades-note")
                yield Grid(TRADE_COLS, id="trades")
            with TabPane("Orders (2)", id="tab-orders"):
                yield Notice(id="orders-note")
                yield Grid(ORDER_COLS, id="orders")

    async def load(self) -> None:
        self._show_trades(await self.arenad.ask_daemon("trades", limit=LIMIT))
        self._show_orders(await self.arenad.ask_daemon("orders", limit=LIMIT))

    def _show_trades(self, rows: Any) -> None:
        table = self.query_one("#trades", Grid)
        if not self.query_one("#trades-note", Notice).about(rows, empty="no round trips yet"):
            table.show([])
            return
        table.show(
            Row(
                trade_key(r),
                [
                    fmt.stamp(r.get("closed_at")),
                    str(r.get("book_id")),
                    str(r.get("symbol")),
                    str(r.get("side") or fmt.DASH),
                    fmt.size(r.get("size")),
                    fmt.price(r.get("entry_price")),
                    fmt.price(r.get("exit_price")),
                    fmt.pnl(r.get("pnl")),
                    fmt.pct(r.get("pnl_pct")),
                    str(r.get("exit_reason") or fmt.DASH),
                ],
            )
            for r in rows
        )

    def _show_orders(self, rows: Any) -> None:
        table = self.query_one("#orders", Grid)
        if not self.query_one("#orders-note", Notice).about(rows, empty="no orders yet"):
            table.show([])
            return
        out = []
        for o in rows:
            status = str(o.get("status"))
            out.append(
                Row(
                    order_key(o),
                    [
                        fmt.stamp(o.get("ts")),
                        str(o.get("book_id")),
                        str(o.get("symbol")),
                        str(o.get("side")),
                        fmt.size(o.get("size")),
                        fmt.price(o.get("price")),
                        str(o.get("type") or fmt.DASH) + (" RO" if o.get("reduce_only") else ""),
                        Text(status, style=_STATUS_STYLE.get(status, "")),
                        str(o.get("error") or ""),
                    ],
                )
            )
        table.show(out)

    def action_refresh(self) -> None:
        self.reload()

    def action_tab(self, tab: str) -> None:
        self.query_one("#trades-tabs", TabbedContent).active = tab
        grid = "#trades" if tab == "tab-roundtrips" else "#orders"
        self.query_one(grid, Grid).focus()
