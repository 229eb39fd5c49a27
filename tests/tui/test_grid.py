"""Grid on its own: what a refresh keeps (selection by key, column, scroll) and what it hides."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.coordinate import Coordinate

from arenad.tui.widgets.grid import Col, Grid, Row, sort_value

COLS = [Col("k", "key"), *(Col(f"c{i}", f"column {i}") for i in range(12))]


def rows(keys: list[str]) -> list[Row]:
    return [Row(k, [k, *(f"{k}-value-{i:02d}" for i in range(12))]) for k in keys]


class One(App[None]):
    def compose(self) -> ComposeResult:
        yield Grid(COLS, id="g")


async def test_refresh_keeps_the_row_by_key_and_the_horizontal_scroll() -> None:
    app = One()
    async with app.run_test(size=(60, 20)) as pilot:
        g = app.query_one(Grid)
        g.show(rows(["a", "b", "c", "d"]))
        await pilot.pause()
        g.move_cursor(row=2)  # "c"
        g.scroll_to(x=40, animate=False, immediate=True)
        await pilot.pause()
        assert g.scroll_x == 40
        # a refresh where a row arrived above: "c" is now at index 3
        g.show(rows(["new", "a", "b", "c", "d"]))
        await pilot.pause()
        assert g.selected_key() == "c" and g.cursor_row == 3
        assert g.scroll_x == 40
        # the selected row went away: the cursor stays at its place, not row 0
        g.show(rows(["new", "a", "b", "d"]))
        await pilot.pause()
        assert g.selected_key() == "d"


async def test_narrow_hides_the_highest_priority_numbers_first() -> None:
    cols = [Col("a", "alpha"), Col("b", "beta", priority=2), Col("c", "gamma", priority=1)]

    class Narrow(App[None]):
        def compose(self) -> ComposeResult:
            yield Grid(cols, id="g")

    app = Narrow()
    async with app.run_test(size=(30, 10)) as pilot:
        g = app.query_one(Grid)
        g.show([Row("1", ["x" * 10, "y" * 10, "z" * 10])])
        await pilot.pause()
        shown = [c.value for c in g.columns]
        assert shown == ["a", "c"]  # beta (priority 2) went first, alpha (0) never goes


def test_sort_values_read_formatted_numbers() -> None:
    cells: list[Any] = ["+1,234.50", "-3.00%", "×0.5", "–", "abc", "12"]
    ordered = sorted(cells, key=sort_value)
    assert ordered == ["-3.00%", "×0.5", "12", "+1,234.50", "abc", "–"]


def test_comparison_names_each_model_once() -> None:
    from arenad.tui.screens.arena import comparison_text

    text = comparison_text(
        [
            {"model_id": "momentum", "action": "buy", "confidence": 0.6},
            {"model_id": "buy-and-hold", "action": "hold", "confidence": None},
            {"model_id": "momentum", "action": "buy", "confidence": 0.7},
        ]
    )
    assert text == "momentum buy 0.70 ×2, buy-and-hold hold –"


async def test_a_cut_cell_shows_in_full_as_the_tooltip() -> None:
    long = "sell 8.47 SOL (fade x1: target -0.42 SOL, bot short 0.42 SOL after the fill)"

    class Cut(App[None]):
        def compose(self) -> ComposeResult:
            yield Grid([Col("t", "time"), Col("why", "why", fill=True)], id="g")

    app = Cut()
    async with app.run_test(size=(40, 8)) as pilot:
        g = app.query_one(Grid)
        g.show([Row("1", ["14:00:00", long]), Row("2", ["14:01:00", "short"])])
        await pilot.pause()
        g.hover_coordinate = Coordinate(0, 1)
        assert g.tooltip == long
        g.hover_coordinate = Coordinate(1, 1)
        assert g.tooltip is None


async def test_a_filter_matching_nothing_does_not_lose_the_selection() -> None:
    app = One()
    async with app.run_test(size=(60, 20)) as pilot:
        g = app.query_one(Grid)
        g.show(rows(["a", "b", "c"]))
        await pilot.pause()
        g.move_cursor(row=2)
        g.set_filter("nothing like this")
        assert g.row_count == 0 and g.no_match
        g.show(rows(["a", "b", "c"]))  # a refresh while empty
        g.set_filter("")
        assert g.selected_key() == "c"
