"""The TUI against a real `arenad run` subprocess over its real control socket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.widgets import DataTable, Label, TabbedContent
from tui_fakes import screen_text, wait_until

from arenad.control.client import ControlClient
from arenad.tui.app import KILL_REASON, ArenadApp, create_app
from arenad.tui.screens.confirm import ConfirmScreen, close_question
from arenad.tui.widgets.connection_banner import ConnectionBanner
from arenad.tui.widgets.grid import Grid
from arenad.tui.widgets.positions_table import PositionsTable
from arenad.tui.widgets.status_header import StatusHeader

pytestmark = pytest.mark.slow


def attach(socket_path: Any) -> ArenadApp:
    return create_app(
        lambda: ControlClient(socket_path),
        refresh_s=None,
        reconnect_min_s=0.05,
        reconnect_max_s=0.5,
    )


async def test_kill_switch_pressed_in_the_tui_is_engaged_in_the_daemon(daemon_proc: Any) -> None:
    d = daemon_proc()
    d.start()
    app = attach(d.socket_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected", timeout=15)
        assert app.state.status is not None and app.state.status["pid"] == d.proc.pid
        # today's daemon has no engines: the dashboard degrades, it does not fail
        await pilot.press("k")
        await wait_until(
            pilot,
            lambda: app.screen.query_one(StatusHeader).has_class("-killed"),
            timeout=15,
            what="kill shown",
        )
    st = d.status()  # asked through `arenad status --json`, a separate client
    assert st["kill_switch"]["engaged"] is True
    assert st["kill_switch"]["reason"] == KILL_REASON
    assert st["trading_state"] == "HALTED"

    app = attach(d.socket_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.kill_engaged, timeout=15, what="snapshot")
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.state.kill_engaged, timeout=15)
    assert d.status()["kill_switch"]["engaged"] is False


async def test_tui_recovers_when_the_daemon_restarts(daemon_proc: Any) -> None:
    d = daemon_proc()
    d.start()
    first_pid = d.proc.pid
    app = attach(d.socket_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected", timeout=15)
        await pilot.press("k")
        await wait_until(pilot, lambda: app.state.kill_engaged, timeout=15)
        # stop/start in a thread: the TUI's loop keeps running, as it would for an operator
        assert await asyncio.to_thread(d.stop) == 0
        banner = app.screen.query_one(ConnectionBanner)
        await wait_until(pilot, lambda: banner.has_class("-down"), timeout=15, what="banner")
        await asyncio.to_thread(d.start)
        await wait_until(
            pilot,
            lambda: (
                app.state.connection.state == "connected"
                and (app.state.status or {}).get("pid") == d.proc.pid
            ),
            timeout=15,
            what="reattached to the new daemon",
        )
        assert d.proc.pid != first_pid
        await wait_until(pilot, lambda: not banner.has_class("-down"))
        # the kill switch survived the restart and the TUI shows it
        assert app.screen.query_one(StatusHeader).has_class("-killed")
        # and the stream works again: a command's event reaches the event table
        await pilot.press("e")
        await wait_until(
            pilot,
            lambda: any("kill switch" in str(e.get("message")) for e in app.state.events),
            timeout=15,
        )


ARENA_CONFIG = """\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
config_poll_interval_s = 0.1

[sim]
host = "127.0.0.1"
alpaca_port = {alpaca_port}

[arena]
upkeep_interval_s = 0.5

[arena.schedule]
kind = "weekly"
weekday = "sun"
at = "03:00"
market_days_only = false
missed_slot = "skip"

[arena.rails]
allowed_symbols = ["AAPL", "NVDA"]

[[arena.models]]
id = "buy-and-hold"
provider = "baseline"
[arena.models.baseline]
kind = "buy_and_hold"

[[arena.models]]
id = "momentum"
provider = "baseline"
[arena.models.baseline]
kind = "momentum"

[[arena.models]]
id = "random"
provider = "baseline"
[arena.models.baseline]
kind = "random"
"""


async def _paused(socket_path: Any) -> set[str]:
    async with ControlClient(socket_path) as c:
        return {m["model_id"] for m in await c.request("arena.models") if m["paused"]}


async def test_selection_survives_refreshes_and_pause_acts_on_the_selected_model(
    sim_thread: Any, daemon_proc: Any
) -> None:
    port = int(sim_thread.alpaca_url.rsplit(":", 1)[1])
    d = daemon_proc(ARENA_CONFIG.format(alpaca_port=port))
    await asyncio.to_thread(d.start)
    app = attach(d.socket_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected", timeout=15)
        await pilot.press("a")
        screen = app.screen
        await wait_until(pilot, lambda: screen.query_one("#models", Grid).row_count == 3, 15)
        screen.query_one("#arena-tabs", TabbedContent).active = "tab-models"
        await pilot.pause()
        grid = screen.query_one("#models", Grid)
        grid.focus()
        await pilot.press("down")
        assert grid.selected_key() == "momentum"

        async def refreshes(n: int) -> None:
            for _ in range(n):
                before = screen.loads
                await pilot.press("r")
                await wait_until(pilot, lambda b=before: screen.loads > b, 15, "a reload")
                assert grid.selected_key() == "momentum"

        await refreshes(5)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one("#question", Label).render())
        assert "pause arena:momentum" in question
        await pilot.press("y")
        await wait_until(pilot, lambda: "PAUSED" in screen_text(app), 15, "the model shown paused")
        assert await _paused(d.socket_path) == {"momentum"}
        # more refreshes, then p again resumes the same model (not row 0)
        await refreshes(5)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "resume arena:momentum" in str(app.screen.query_one("#question", Label).render())
        await pilot.press("y")
        await poll_until_paused(pilot, d, set())

        # filter and sort on the daemon's rows
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        grid.focus()
        await pilot.press("slash", *"MOM")
        await wait_until(pilot, lambda: grid.row_count == 1, what="filtered")
        assert grid.selected_key() == "momentum"
        await pilot.press("escape")
        assert app.focused is grid
        await refreshes(1)  # the filter holds across a refresh
        assert grid.row_count == 1
        await pilot.press("slash", "backspace", "backspace", "backspace", *"zz", "enter")
        await wait_until(pilot, lambda: grid.no_match, what="no match")
        assert "no row matches “zz”" in screen_text(app)
        await pilot.press("slash", "backspace", "backspace", "enter")
        await wait_until(pilot, lambda: grid.row_count == 3)

        def order() -> list[str]:
            return [str(grid.get_row_at(i)[0]) for i in range(grid.row_count)]

        grid.sort_by(None)
        await pilot.press("s")  # by the first column, model id
        assert order() == ["buy-and-hold", "momentum", "random"]
        await pilot.press("S")
        assert order() == ["random", "momentum", "buy-and-hold"]
        await refreshes(1)  # the sort holds across a refresh, and so does the selection
        assert order() == ["random", "momentum", "buy-and-hold"]
    assert await asyncio.to_thread(d.stop) == 0  # before the simulator it trades against


async def poll_until_paused(pilot: Any, d: Any, want: set[str]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while await _paused(d.socket_path) != want:
        assert loop.time() < deadline, f"paused models never became {want}"
        await pilot.pause(0.05)


async def test_footer_at_80x24_shows_kill_and_help_against_a_real_daemon(
    daemon_proc: Any,
) -> None:
    d = daemon_proc()
    await asyncio.to_thread(d.start)
    app = attach(d.socket_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected", timeout=15)
        for key in ("d", *"faetc"):
            await pilot.press(key)
            await pilot.pause()
            last = screen_text(app).rstrip("\n").split("\n")[-1].split()
            assert "k" in last and "Kill" in last and "?" in last and "Help" in last, last


async def test_screenshot_lands_in_the_data_directory_without_downloads(
    daemon_proc: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # a VPS: no ~/Downloads
    d = daemon_proc()
    await asyncio.to_thread(d.start)
    app = attach(d.socket_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected", timeout=15)
        await pilot.press("w")
        await wait_until(pilot, lambda: app.last_screenshot is not None, what="screenshot")
        shot = app.last_screenshot
        assert shot is not None and shot.parent == d.db_path.parent / "screenshots"
        assert shot.read_text().startswith("<svg")
        assert any(str(shot) in n.message for n in app._notifications)  # the path is shown
    assert not (tmp_path / "Downloads").exists()


async def _positions(socket_path: Any) -> list[dict[str, Any]]:
    async with ControlClient(socket_path) as c:
        rows = await c.request("positions")
    return [p for p in rows if p.get("kind") == "arena_model"]


async def test_x_asks_with_the_selected_positions_identity_and_closes_that_one(
    sim_thread: Any, daemon_proc: Any
) -> None:
    port = int(sim_thread.alpaca_url.rsplit(":", 1)[1])
    d = daemon_proc(ARENA_CONFIG.format(alpaca_port=port))
    await asyncio.to_thread(d.start)
    r = await asyncio.to_thread(d.cli, "arena", "run-now", "--json")
    assert r.returncode == 0, r.stderr + d.log()[-3000:]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while len(held := await _positions(d.socket_path)) < 2:
        assert loop.time() < deadline, f"arena positions never opened: {held}\n{d.log()[-3000:]}"
        await asyncio.sleep(0.2)
    app = attach(d.socket_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected", timeout=15)
        table = app.screen.query_one("#positions", DataTable)
        await wait_until(pilot, lambda: table.row_count >= 2, 15, "positions on the dashboard")
        table.focus()
        await pilot.press("down")
        picked = app.screen.query_one("#positions", PositionsTable).selected_position()
        assert picked is not None
        book, symbol = picked
        pos = next(p for p in held if (p["book_id"], p["symbol"]) == picked)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one("#question", Label).render())
        assert question == close_question(book, symbol, pos), question
        assert book in question and symbol in question and " @ " in question
        await pilot.press("y")

        async def gone() -> bool:
            return all(
                (p["book_id"], p["symbol"]) != picked for p in await _positions(d.socket_path)
            )

        deadline = loop.time() + 60
        while not await gone():
            assert loop.time() < deadline, f"{picked} still open:\n{d.log()[-3000:]}"
            await pilot.pause(0.2)
        others = {(p["book_id"], p["symbol"]) for p in held} - {picked}
        left = {(p["book_id"], p["symbol"]) for p in await _positions(d.socket_path)}
        assert others <= left  # only the selected position was closed
    assert await asyncio.to_thread(d.stop) == 0
