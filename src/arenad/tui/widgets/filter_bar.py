"""The filter box of a screen: opened by ``/`` on a table, filters that table as you type.

One box per screen (docked above the footer) rather than one per table: it names the table it
filters, and a screen with several tables keeps one filter per table in each :class:`Grid`.
Enter or Escape goes back to the table (the filter stays; ``/`` then Escape on an empty box
clears it), so the keyboard is never trapped in the box.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Label

from arenad.tui.widgets.grid import Filterable


class FilterInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to the table"),
    ]

    def action_leave(self) -> None:
        bar = self.parent
        if isinstance(bar, FilterBar):
            bar.leave()


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar { dock: bottom; height: 1; display: none; padding: 0 1; background: $panel; }
    FilterBar.-open { display: block; }
    FilterBar Label { width: auto; margin-right: 1; color: $text-muted; }
    FilterBar FilterInput { width: 1fr; height: 1; border: none; padding: 0; }
    FilterBar #filter-count { width: auto; margin-left: 1; color: $text-muted; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.grid: Filterable | None = None

    def compose(self) -> Any:
        yield Label("filter", id="filter-label")
        yield FilterInput(placeholder="any text in any column (case does not matter)", id="filter")
        yield Label("", id="filter-count")

    def open(self, grid: Filterable) -> None:
        self.grid = grid
        self.add_class("-open")
        name = grid.id or "table"
        self.query_one("#filter-label", Label).update(f"filter {name}:")
        box = self.query_one(FilterInput)
        with box.prevent(Input.Changed):
            box.value = grid.filter_text
        self._count()
        box.focus()

    def leave(self) -> None:
        grid = self.grid
        if grid is None or not grid.filter_text:
            self.remove_class("-open")
        if grid is not None:
            grid.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.grid is not None:
            self.grid.set_filter(event.value)
            self._count()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.leave()

    def _count(self) -> None:
        g = self.grid
        text = ""
        if g is not None and g.filter_text:
            text = "no match" if g.no_match else f"{len(g.shown)} of {len(g.all_rows)} rows"
        self.query_one("#filter-count", Label).update(text)

    def follow(self, grid: Filterable) -> None:
        """Focus moved to ``grid``: show its filter (if it has one) instead of the last one."""
        if grid is self.grid:
            self._count()
            return
        self.grid = grid
        self.set_class(bool(grid.filter_text), "-open")
        if grid.filter_text:
            self.query_one("#filter-label", Label).update(f"filter {grid.id or 'table'}:")
            box = self.query_one(FilterInput)
            with box.prevent(Input.Changed):
                box.value = grid.filter_text
            self._count()
