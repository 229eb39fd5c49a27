"""Events: the system event log, filtered by level and category and searchable.

The filter runs in the daemon (the ``events`` command) for history, and the same rule runs
here for live events, so the table stays filtered as new events stream in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Select

from arenad.tui.screens.base import BaseScreen, new_events
from arenad.tui.widgets.event_table import EventTable, matches
from arenad.tui.widgets.notice import Notice

LEVELS = [("all levels", "debug"), ("info+", "info"), ("warning+", "warning"), ("errors", "error")]
CATEGORIES = [
    ("all categories", ""),
    *((c, c) for c in ("api", "trading", "system", "config", "ingest", "arena", "tracker")),
]
HISTORY = 500


class EventsScreen(BaseScreen):
    AUTO_FOCUS = "#event-log"
    CSS_PATH = "events.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "focus_table", "Back to the table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._seen = 0
        self._loaded = False

    def on_mount(self) -> None:
        self.query_one(EventTable).filterable = False  # / goes to the search box here

    def body(self) -> Iterable[Widget]:
        with Horizontal(classes="filters"):
            yield Select(LEVELS, value="debug", allow_blank=False, id="level")
            yield Select(CATEGORIES, value="", allow_blank=False, id="category")
            yield Input(placeholder="search message and details (enter)", id="search")
        yield Notice(id="events-note")
        yield EventTable(id="event-log", max_rows=HISTORY)

    def filters(self) -> dict[str, Any]:
        level = self.query_one("#level", Select).value
        category = self.query_one("#category", Select).value
        search = self.query_one("#search", Input).value.strip()
        return {
            "level": level if isinstance(level, str) else "debug",
            "category": category if isinstance(category, str) and category else None,
            "search": search or None,
        }

    async def load(self) -> None:
        f = self.filters()
        seq = self.state.events_seq
        rows = await self.arenad.ask_daemon(
            "events", limit=HISTORY, **{k: v for k, v in f.items() if v is not None}
        )
        table = self.query_one(EventTable)
        table.show([])
        if self.query_one("#events-note", Notice).about(rows, empty="no events match"):
            table.show(rows)
        self._seen = seq
        self._loaded = True

    def update_body(self, changed: frozenset[str]) -> None:
        if "system_event" in changed and "snapshot" not in changed and self._loaded:
            f = self.filters()
            new = [
                e
                for e in new_events(self.state, self._seen)
                if matches(e, f["level"], f["category"], f["search"])
            ]
            self._seen = self.state.events_seq
            if new:
                self.query_one("#events-note", Notice).say(None)
                self.query_one(EventTable).append(new)

    def on_select_changed(self, _event: Select.Changed) -> None:
        if self.is_mounted:
            self.reload()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.reload()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_refresh(self) -> None:
        self.reload()

    def action_focus_table(self) -> None:
        self.query_one("#event-log").focus()
