"""What the screen says when it cannot know, and what it never says (None, nan, inf)."""

from __future__ import annotations

import copy
from typing import Any

from textual.widgets import DataTable, Input, TabbedContent
from tui_fakes import ARENA_DECISIONS, FakeDaemon, screen_text, wait_until

from arenad.clock import FakeClock
from arenad.tui.app import ArenadApp, create_app
from arenad.tui.screens.event_detail import EventDetailScreen
from arenad.tui.widgets.event_table import EventTable
from arenad.tui.widgets.status_header import StatusHeader

SIZE = (120, 36)


def make(daemon: FakeDaemon, **kw: Any) -> ArenadApp:
    return create_app(
        daemon.factory,
        clock=FakeClock(),
        refresh_s=None,
        reconnect_min_s=0.02,
        reconnect_max_s=0.05,
        **kw,
    )


def header(app: ArenadApp) -> str:
    return str(app.screen.query_one(StatusHeader).render())


async def test_started_with_no_daemon_says_it_could_not_connect() -> None:
    d = FakeDaemon()
    d.go_down()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.connection.attempt >= 2, what="retries")
        await wait_until(pilot, lambda: "Could not connect" in screen_text(app))
        text = screen_text(app)
        assert "went away" not in text and "from before the loss" not in text
        assert "state unknown" in header(app) and "kill switch unknown" in header(app)
        assert "ACTIVE" not in header(app) and "kill switch off" not in header(app)


async def test_header_does_not_claim_a_state_once_the_daemon_is_gone() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        assert "ACTIVE" in header(app) and "kill switch off" in header(app)
        d.go_down()
        await wait_until(pilot, lambda: app.state.connection.state == "disconnected")
        await wait_until(pilot, lambda: "state unknown" in header(app))
        assert "ACTIVE" not in header(app) and "kill switch off" not in header(app)
        assert "went away" in screen_text(app)


async def test_kill_banner_says_it_once() -> None:
    d = FakeDaemon()
    d._kill({"reason": "daily loss limit crossed"})
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.kill_engaged)
        await pilot.pause()
        assert header(app).upper().count("KILL SWITCH") == 1
        assert "daily loss limit crossed" in header(app)


def _poison(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    out = copy.deepcopy(rows)
    for i, r in enumerate(out):
        for k in keys:
            r[k] = (None, float("nan"), float("inf"))[i % 3]
    return out


async def test_no_none_nan_or_inf_on_any_screen() -> None:
    d = FakeDaemon()
    board = _poison(
        d.handlers["leaderboard"]({}),
        ("rank", "return_pct", "sharpe", "max_drawdown_pct", "profit_factor", "kind"),
    )
    d.handlers["leaderboard"] = lambda a: board
    bots = _poison(d.bots, ("fade_unrealized_pnl", "fade_realized_pnl", "fade_equity", "name"))
    d.handlers["fade.bots"] = lambda a: bots
    models = _poison(d.models, ("name", "provider", "equity"))
    d.handlers["arena.models"] = lambda a: models
    decisions = copy.deepcopy(ARENA_DECISIONS)
    for dec in decisions:
        dec.update(timeframe=None, confidence=float("nan"), entry_price=None)
        dec["reasoning"] = {"summary": "holds", "bullish": "", "bearish": None}
    d.handlers["arena.decisions"] = lambda a: decisions
    app = make(d)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        for key, table in (("f", "#bots"), ("a", "#leaderboard")):
            await pilot.press(key)
            await wait_until(
                pilot, lambda t=table: app.screen.query_one(t, DataTable).row_count > 0
            )
            await pilot.pause()
            _clean(screen_text(app))
        tabs = app.screen.query_one("#arena-tabs", TabbedContent)
        for n in "2345":
            await pilot.press(n)  # the sub-tab keys
            await pilot.pause()
            assert tabs.active.endswith(
                ("runs", "models", "decisions", "comparison")["2345".index(n)]
            )
            _clean(screen_text(app))
        await pilot.press("4")
        await pilot.pause()
        text = screen_text(app)
        assert "summary:" in text
        assert "bullish:" not in text and "bearish:" not in text  # empty labels hidden


def _clean(text: str) -> None:
    words = set(text.replace("│", " ").replace(",", " ").split())
    for bad in ("None", "nan", "NaN", "inf", "-inf", "+inf"):
        assert bad not in words, f"{bad!r} on screen:\n{text}"


async def test_enter_on_an_event_opens_its_details() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        await pilot.press("e")
        table = app.screen.query_one("#event-log", EventTable)
        await wait_until(pilot, lambda: table.row_count > 0)
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        picked = table.selected_event()
        assert picked is not None and picked["details"] == {"pid": 4242}
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EventDetailScreen))
        text = screen_text(app)
        assert str(picked["message"]) in text and "pid: 4242" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, EventDetailScreen))


async def test_y_copies_the_selected_row_through_the_terminal_clipboard() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        await pilot.press("t")
        grid = app.screen.query_one("#trades", DataTable)
        await wait_until(pilot, lambda: grid.row_count == 2)
        grid.focus()
        await pilot.press("down", "y")
        # App.copy_to_clipboard keeps what it sent (as OSC 52) in app.clipboard
        assert "book: fade:grok-4" in app.clipboard
        assert "entry price: 111,585.21" in app.clipboard


async def test_F_pauses_and_resumes_following_the_event_feed() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        await pilot.press("e")
        table = app.screen.query_one("#event-log", EventTable)
        await wait_until(pilot, lambda: table.row_count > 2)
        table.focus()
        n = table.row_count

        def push(i: int) -> None:
            d.push(
                "system_event",
                {
                    "ts": f"2025-01-02T15:00:0{i}Z",
                    "level": "info",
                    "category": "system",
                    "message": f"live {i}",
                    "details": {},
                },
            )

        push(1)  # following: the cursor moves with the feed
        await wait_until(pilot, lambda: table.row_count == n + 1)
        await wait_until(pilot, lambda: table.cursor_row == n)
        await pilot.press("up", "F")  # read an older event, pause
        assert table.paused and table.cursor_row == n - 1
        push(2)
        await wait_until(pilot, lambda: table.row_count == n + 2)
        await pilot.pause()
        assert table.cursor_row == n - 1  # not dragged to the end
        await pilot.press("F")
        await wait_until(pilot, lambda: table.cursor_row == n + 1)


async def test_escape_leaves_the_events_search_box() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.query_one("#event-log", EventTable).row_count)
        await pilot.press("slash", *"GPT")
        assert isinstance(app.focused, Input)
        await pilot.press("escape")
        assert isinstance(app.focused, EventTable)


async def test_dashboard_events_filter_in_place_with_a_no_match_line() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        table = app.screen.query_one("#dash-events", EventTable)
        await wait_until(pilot, lambda: table.row_count > 2)
        total = table.row_count
        table.focus()
        await pilot.press("slash", *"CONFIG RELOADED")  # any case
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.press("x", "y", "z")
        await wait_until(pilot, lambda: table.no_match)
        assert "no row matches “CONFIG RELOADEDxyz”" in screen_text(app)
        await pilot.press("escape")
        assert app.focused is table
        await pilot.press("slash", *["backspace"] * 20, "enter")
        await wait_until(pilot, lambda: table.row_count == total)
