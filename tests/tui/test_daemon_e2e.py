"""The TUI against a real `arenad run` subprocess over its real control socket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tui_fakes import wait_until

from arenad.control.client import ControlClient
from arenad.tui.app import KILL_REASON, ArenadApp, create_app
from arenad.tui.screens.confirm import ConfirmScreen
from arenad.tui.widgets.connection_banner import ConnectionBanner
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
