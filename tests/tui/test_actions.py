"""Pilot tests of every operator action against a fake daemon (tests/tui/tui_fakes.py)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Button, DataTable, Input, Select, TabbedContent
from tui_fakes import EVENTS, FakeDaemon, screen_text, wait_until

from arenad.clock import FakeClock
from arenad.control.client import ControlError
from arenad.tui.app import KILL_REASON, ArenadApp, create_app
from arenad.tui.screens.confirm import ConfirmScreen
from arenad.tui.screens.help import HelpScreen
from arenad.tui.widgets.connection_banner import ConnectionBanner
from arenad.tui.widgets.grid import Grid
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


async def connected(pilot: Any) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.state.connection.state == "connected", what="connect")


def header(app: ArenadApp) -> str:
    return str(app.screen.query_one(StatusHeader).render())


async def test_attach_subscribes_then_snapshots_then_streams() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        cmds = [c for c, _ in d.requests]
        assert cmds[:6] == ["subscribe", "status", "config", "events", "positions", "equity"]
        assert "up 01:02:03" in header(app)
        d.push("status", {**d.status, "uptime_s": 7200.0})
        d.push(
            "system_event",
            {
                "ts": "2025-01-02T15:00:00.000000Z",
                "level": "warning",
                "category": "trading",
                "message": "exposure cap reached",
                "details": {},
            },
        )
        await wait_until(pilot, lambda: "up 02:00:00" in header(app), what="status applied")
        await wait_until(
            pilot,
            lambda: "exposure cap reached" in screen_text(app),
            what="live event on the dashboard",
        )


async def test_kill_key_engages_and_header_cannot_be_missed() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        assert not app.screen.query_one(StatusHeader).has_class("-killed")
        await pilot.press("k")
        await wait_until(pilot, lambda: d.commands("kill"), what="kill sent")
        assert d.commands("kill") == [{"reason": KILL_REASON}]
        await wait_until(pilot, lambda: app.screen.query_one(StatusHeader).has_class("-killed"))
        assert "KILL SWITCH ON" in header(app) and "engaged by operator" in header(app)
        # every screen shows it
        for key in "faetc":
            await pilot.press(key)
            await wait_until(
                pilot,
                lambda: app.screen.query_one(StatusHeader).has_class("-killed"),
                what=f"kill header on screen {key}",
            )


async def test_release_asks_for_confirmation_first() -> None:
    d = FakeDaemon()
    d._kill({"reason": "maintenance"})
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        assert app.state.kill_engaged
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # declined: nothing sent
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert d.commands("resume") == []
        assert app.state.kill_engaged
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.focused is app.screen.query_one("#no", Button)  # safe default
        await pilot.click("#yes")
        await wait_until(pilot, lambda: d.commands("resume"), what="resume sent")
        await wait_until(pilot, lambda: not app.state.kill_engaged)
        assert not app.screen.query_one(StatusHeader).has_class("-killed")


async def test_pause_and_resume_a_bot() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("f")
        table = await wait_until(pilot, lambda: _rows(app, "#bots"), what="bots loaded")
        assert table == 2
        app.screen.query_one("#bots", DataTable).focus()
        await pilot.press("p")  # first bot (gemini-3-pro) is active → pause, asked first
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "pause fade:gemini-3-pro" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: d.commands("fade.pause"))
        assert d.commands("fade.pause") == [{"bot_id": "gemini-3-pro"}]
        await pilot.press("down", "p")  # qwen3-max is paused → resume
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "resume fade:qwen3-max" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: d.commands("fade.resume"))
        assert d.commands("fade.resume") == [{"bot_id": "qwen3-max"}]
        # the table was re-queried after each action and shows the new state
        await wait_until(pilot, lambda: len(d.commands("fade.bots")) >= 3)


async def test_pause_and_resume_a_model_and_run_arena_now() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: _rows(app, "#models"), what="models loaded")
        app.screen.query_one("#arena-tabs", TabbedContent).active = "tab-models"
        await pilot.pause()
        app.screen.query_one("#models", DataTable).focus()
        await pilot.press("p")  # asks first, naming the model's book
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "pause arena:momentum" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: d.commands("arena.pause"))
        assert d.commands("arena.pause") == [{"model_id": "momentum"}]
        await pilot.press("down", "p")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: d.commands("arena.resume"))
        assert d.commands("arena.resume") == [{"model_id": "gpt-4o"}]
        await pilot.press("n")
        await wait_until(pilot, lambda: d.commands("arena.run_now"))


async def test_leaderboard_kind_filter_and_decisions_of_a_book() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: _rows(app, "#leaderboard") == 3)
        app.screen.query_one("#kind", Select).value = "fade"
        await wait_until(
            pilot, lambda: {"timeframe": "all_time", "kind": "fade"} in d.commands("leaderboard")
        )
        await wait_until(pilot, lambda: _rows(app, "#leaderboard") == 1)
        table = app.screen.query_one("#leaderboard", DataTable)
        table.focus()
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: {"limit": 50, "book_id": "fade:qwen3-max"} in d.commands("arena.decisions"),
        )
        assert app.screen.query_one("#arena-tabs", TabbedContent).active == "tab-decisions"


async def test_leaderboard_shows_verdicts_intervals_cost_and_ranks_by_dsr() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: _rows(app, "#leaderboard") == 3)
        table = app.screen.query_one("#leaderboard", DataTable)
        labels = [str(c.label) for c in table.columns.values()]
        assert {"95% interval", "DSR", "verdict", "cost/dec"} <= set(labels)
        row = dict(zip(labels, table.get_row("fade:qwen3-max"), strict=True))
        assert row["95% interval"] == "-0.60…3.10" and str(row["verdict"]) == "unproven!"
        assert row["cost/dec"] == "–"  # not an arena book
        arena = dict(zip(labels, table.get_row("arena:momentum"), strict=True))
        assert arena["cost/dec"] == "$0.0000" and str(arena["verdict"]) == "insufficient"
        app.screen.query_one("#rank-by", Select).value = "dsr"
        await wait_until(
            pilot,
            lambda: {"timeframe": "all_time", "rank_by": "dsr"} in d.commands("leaderboard"),
        )
        # Ranked on DSR: the book without one is unranked, last.
        await wait_until(
            pilot,
            lambda: str(table.get_row_at(2)[2]) == "Momentum" and _rows(app, "#leaderboard") == 3,
        )
        assert str(table.get_row_at(2)[0]) == "–"


async def test_close_a_position_with_confirmation() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await wait_until(pilot, lambda: _rows(app, "#positions") == 3)
        app.screen.query_one("#positions", DataTable).focus()
        await pilot.press("down", "x")  # rows sorted by book: arena:momentum, fade:gemini…
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "close fade:gemini-3-pro BTC -0.5 @ 96,500.00?" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: d.commands("position.close"))
        assert d.commands("position.close") == [{"book_id": "fade:gemini-3-pro", "symbol": "BTC"}]


async def test_reload_config_shows_result_and_refreshes_config_screen() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: "risk.daily_loss_limit_usd" in screen_text(app))
        await pilot.press("R")
        await wait_until(pilot, lambda: d.commands("reload"))
        await wait_until(
            pilot, lambda: any("config reloaded" in n.message for n in app._notifications)
        )


async def test_rejected_reload_names_the_problem() -> None:
    d = FakeDaemon()
    d.handlers["reload"] = lambda a: {
        "ok": False,
        "ts": "2025-01-02T15:00:00Z",
        "source": "control",
        "changes": {},
        "problems": ["config.toml:3: risk.x: unknown key"],
    }
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("R")
        await wait_until(
            pilot, lambda: any("risk.x: unknown key" in n.message for n in app._notifications)
        )


async def test_command_palette_runs_kill() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"engage kill")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: d.commands("kill"), what="kill from the palette")


async def test_help_lists_bindings_and_closes() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        for needle in (
            "Kill switch",
            "Release kill",
            "Close position",
            "Pause/resume bot",
            "Run arena now",
            "Command palette",
        ):
            assert needle in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_events_filters_go_to_the_daemon_and_apply_to_live_events() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: _rows(app, "#event-log") == len(EVENTS))
        app.screen.query_one("#level", Select).value = "error"
        await wait_until(
            pilot, lambda: any(a.get("level") == "error" for a in d.commands("events"))
        )
        app.screen.query_one("#category", Select).value = "arena"
        await wait_until(
            pilot, lambda: any(a.get("category") == "arena" for a in d.commands("events"))
        )
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"gpt", "enter")
        await wait_until(pilot, lambda: any(a.get("search") == "gpt" for a in d.commands("events")))
        before = _rows(app, "#event-log")
        d.push(
            "system_event",
            {
                "ts": "2025-01-02T15:00:00Z",
                "level": "info",
                "category": "arena",
                "message": "gpt run ok",
                "details": {},
            },
        )
        d.push(
            "system_event",
            {
                "ts": "2025-01-02T15:00:01Z",
                "level": "error",
                "category": "arena",
                "message": "gpt timed out",
                "details": {},
            },
        )
        await wait_until(pilot, lambda: "gpt timed out" in screen_text(app))
        assert _rows(app, "#event-log") == before + 1  # the info one is filtered out
        assert "gpt run ok" not in screen_text(app)


async def test_trades_filter_is_a_case_insensitive_substring_with_a_no_match_line() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("t")
        await wait_until(pilot, lambda: _rows(app, "#trades") == 2)
        text = screen_text(app)
        assert "111,585.21" in text and "111585.2086" not in text  # a price, not the raw average
        assert "entry price" in text and "exit price" in text and "exit reason" in text
        await pilot.press("slash", *"eth")  # lower case finds ETH
        await wait_until(pilot, lambda: _rows(app, "#trades") == 1)
        assert "fade:gemini-3-pro" in screen_text(app) and "fade:grok-4" not in screen_text(app)
        await pilot.press("backspace", "backspace", "backspace")
        await pilot.press(*"GROK")  # upper case finds fade:grok-4
        await wait_until(pilot, lambda: _rows(app, "#trades") == 1)
        assert "fade:grok-4" in screen_text(app)
        await pilot.press("z")
        await wait_until(pilot, lambda: _rows(app, "#trades") == 0)
        assert "no row matches “GROKz”" in screen_text(app)
        await pilot.press("escape")  # leaves the box; the table has the keys again
        assert isinstance(app.focused, DataTable) and app.focused.id == "trades"
        await pilot.press("slash")
        assert isinstance(app.focused, Input) and app.focused.value == "GROKz"
        for _ in range(5):
            await pilot.press("backspace")
        await pilot.press("enter")
        await wait_until(pilot, lambda: _rows(app, "#trades") == 2)
        assert app.focused is app.screen.query_one("#trades")
        # no daemon-side exact filter any more: every query asked for the newest rows only
        assert all(set(a) == {"limit"} for a in d.commands("trades"))


async def test_sort_by_key_and_by_header_click() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("t")
        await wait_until(pilot, lambda: _rows(app, "#trades") == 2)
        grid = app.screen.query_one("#trades", Grid)

        def books() -> list[str]:
            return [str(grid.get_row_at(i)[1]) for i in range(grid.row_count)]

        assert books() == ["fade:gemini-3-pro", "fade:grok-4"]
        x = 0
        for key, col in grid.columns.items():
            if key.value == "pnl":
                break
            x += col.get_render_width(grid)
        await pilot.click("#trades", offset=(x + 1, 0))  # the P&L header: ascending
        await wait_until(pilot, lambda: books() == ["fade:grok-4", "fade:gemini-3-pro"])
        assert "P&L ▲" in screen_text(app)
        await pilot.click("#trades", offset=(x + 1, 0))  # again: descending
        await wait_until(pilot, lambda: books() == ["fade:gemini-3-pro", "fade:grok-4"])
        grid.focus()
        await pilot.press("s")  # by key: the next column, P&L %, ascending
        await wait_until(pilot, lambda: grid.sort_key == "pct" and not grid.sort_reverse)
        assert books() == ["fade:grok-4", "fade:gemini-3-pro"]  # +0.38% before +1.45%
        await pilot.press("S")
        await wait_until(pilot, lambda: books() == ["fade:gemini-3-pro", "fade:grok-4"])


async def test_todays_daemon_every_screen_says_not_available_and_nothing_crashes() -> None:
    d = FakeDaemon(engines=False)
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await wait_until(pilot, lambda: "positions: not available yet" in screen_text(app))
        for key, needle in (
            ("f", "fade.bots: not available yet"),
            ("a", "leaderboard: not available yet"),
            ("t", "trades: not available yet"),
        ):
            await pilot.press(key)
            await wait_until(pilot, lambda n=needle: n in screen_text(app), what=needle)
        await pilot.press("a", "n")  # run arena now: a warning, not a crash
        await wait_until(
            pilot, lambda: any("not available" in n.message for n in app._notifications)
        )
        await pilot.press("e")
        await wait_until(pilot, lambda: _rows(app, "#event-log") == len(EVENTS))
        assert app.is_running


async def test_failed_command_is_reported_not_fatal() -> None:
    d = FakeDaemon()

    def broken(_a: dict[str, Any]) -> Any:
        raise ControlError("failed", "OperationalError: database is locked")

    d.handlers["kill"] = broken
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("k")
        await wait_until(
            pilot, lambda: any("database is locked" in n.message for n in app._notifications)
        )
        assert app.is_running and not app.state.kill_engaged


async def test_banner_when_daemon_goes_away_and_reconnects_by_itself() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        banner = app.screen.query_one(ConnectionBanner)
        assert not banner.display or not banner.has_class("-down")
        d.go_down()
        await wait_until(pilot, lambda: banner.has_class("-down"), what="banner")
        assert "went away" in screen_text(app) and "DISCONNECTED" in header(app)
        await wait_until(pilot, lambda: app.state.connection.attempt >= 2, what="retries")
        d.status["uptime_s"] = 5.0  # a restarted daemon
        d.come_up()
        await connected(pilot)
        await wait_until(pilot, lambda: not banner.has_class("-down"))
        assert "up 00:00:05" in header(app)
        assert d.connects == 2


async def test_malformed_events_are_ignored() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        for c in d.clients:
            c.queue.put_nowait({"event": "status"})  # no data
            c.queue.put_nowait({"no": "topic"})
            c.queue.put_nowait({"event": "equity", "data": {"series": {"x": "NaN?"}}})
            c.queue.put_nowait({"event": "position", "data": {"book_id": "b", "size": "zz"}})
        d.push("status", {**d.status, "uptime_s": 60.0})
        await wait_until(pilot, lambda: "up 00:01:00" in header(app))
        assert app.buffer.malformed >= 3
        assert app.is_running


async def test_a_burst_is_coalesced_into_few_redraws() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        frames = app.frames
        for i in range(5000):
            d.push("status", {**d.status, "uptime_s": float(i)})
            d.push(
                "equity", {"ts": "2025-01-02T15:00:00Z", "series": {"fade_aggregate": 10000.0 + i}}
            )
        await wait_until(pilot, lambda: "up 01:23:19" in header(app), what="last status")
        assert app.frames - frames < 100  # 10,000 events, a handful of redraws
        assert app.buffer.coalesced > 9000


def _rows(app: ArenadApp, selector: str) -> int:
    try:
        return app.screen.query_one(selector, DataTable).row_count
    except Exception:
        return 0


@pytest.fixture(autouse=True)
def _no_real_sleep_needed() -> None:
    """Marker: nothing here sleeps to win a race; waits poll ``wait_until`` with deadlines."""


async def test_ticks_mark_a_silent_daemon_stale_and_reload_query_screens() -> None:
    d = FakeDaemon()
    clock = FakeClock()
    app = create_app(d.factory, clock=clock, refresh_s=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("f")
        await wait_until(pilot, lambda: len(d.commands("fade.bots")) == 1)
        clock.advance(6)  # no status for 6 s on the daemon's side of the clock
        await wait_until(pilot, lambda: "stale" in header(app), what="stale mark")
        await wait_until(pilot, lambda: len(d.commands("fade.bots")) >= 2, what="periodic reload")
        d.push("status", {**d.status})
        await wait_until(pilot, lambda: "● connected" in header(app))


async def test_palette_has_the_screen_actions_and_the_screenshot() -> None:
    d = FakeDaemon()
    app = make(d)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("a", "3")  # Arena, Models tab
        await wait_until(pilot, lambda: _rows(app, "#models") == 2, what="models")
        await pilot.press("ctrl+p")
        await pilot.press(*"pause/resume model")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "pause arena:momentum" in screen_text(app)
        await pilot.press("n")
        assert d.commands("arena.pause") == []
