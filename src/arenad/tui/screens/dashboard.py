"""Dashboard: equity of the fade aggregate against the bots, live positions, latest events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget

from arenad.tui.client import Unavailable
from arenad.tui.screens.base import BaseScreen, new_events
from arenad.tui.screens.confirm import ConfirmScreen, close_question
from arenad.tui.widgets.equity_chart import EquityChart
from arenad.tui.widgets.event_table import EventTable
from arenad.tui.widgets.notice import Notice
from arenad.tui.widgets.positions_table import PositionsTable

DASHBOARD_EVENTS = 50


class DashboardScreen(BaseScreen):
    CSS_PATH = "dashboard.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "close_position", "Close position"),
        Binding("g", "app.chart_range", "Chart range 1h/1d/1w/all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._seen_events = 0

    def body(self) -> Iterable[Widget]:
        chart = Vertical(
            Notice(id="equity-note"), EquityChart(id="equity"), id="equity-panel", classes="panel"
        )
        chart.border_title = "Equity: fade aggregate vs bots aggregate"
        pos = Vertical(
            Notice(id="positions-note"),
            PositionsTable(id="positions"),
            id="positions-panel",
            classes="panel",
        )
        pos.border_title = "Live positions"
        ev = Vertical(
            EventTable(id="dash-events", max_rows=DASHBOARD_EVENTS),
            id="events-panel",
            classes="panel",
        )
        ev.border_title = "Latest system events"
        return (chart, pos, ev)

    def update_body(self, changed: frozenset[str]) -> None:
        st = self.state
        full = "snapshot" in changed
        if full or "equity" in changed:
            note = self.query_one("#equity-note", Notice)
            chart = self.query_one(EquityChart)
            chart.display = not isinstance(st.equity, Unavailable)
            if isinstance(st.equity, Unavailable):
                note.about(st.equity)
            else:
                note.say(None)
                chart.show(st.equity, now=full)
        if full or "position" in changed:
            note = self.query_one("#positions-note", Notice)
            rows = st.position_rows()
            note.about(
                st.positions if isinstance(st.positions, Unavailable) else rows,
                empty="no open positions",
            )
            self.query_one(PositionsTable).show(rows)
        if full or "system_event" in changed:
            table = self.query_one(EventTable)
            if full:
                table.show(list(st.events)[-DASHBOARD_EVENTS:])
            else:
                table.append(new_events(st, self._seen_events))
            self._seen_events = st.events_seq

    def action_close_position(self) -> None:
        picked = self.query_one(PositionsTable).selected_position()
        if picked is None:
            self.notify(
                "select a position first (arrows in the positions table)", severity="warning"
            )
            return
        book_id, symbol = picked

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._close(book_id, symbol), group="action")

        self.app.push_screen(
            ConfirmScreen(
                close_question(book_id, symbol, self._position(book_id, symbol)),
                "A reduce-only market order exits the whole position.",
                yes_label="Close",
            ),
            answered,
        )

    def _position(self, book_id: str, symbol: str) -> dict[str, Any] | None:
        positions = self.state.positions
        if isinstance(positions, Unavailable):
            return None
        return positions.get((book_id, symbol))

    async def _close(self, book_id: str, symbol: str) -> None:
        r = await self.arenad.command("position.close", book_id=book_id, symbol=symbol)
        if isinstance(r, dict):
            self.notify(f"closing {symbol} in {book_id}: {r.get('status', 'submitted')}")
