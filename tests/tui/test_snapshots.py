"""Snapshot tests of every screen at 80×24 and 160×48 (pytest-textual-snapshot).

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs in ``tests/tui/__snapshots__/`` before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.widgets import DataTable
from tui_fakes import FakeDaemon, wait_until

from arenad.clock import FakeClock
from arenad.tui.app import ArenadApp, create_app

SIZES = [(80, 24), (160, 48)]


@pytest.fixture(autouse=True)
def _deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No animation, no colour-depth guessing from the host terminal."""
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield


def make(daemon: FakeDaemon, **kw: Any) -> ArenadApp:
    # FakeClock: the "stale status" check never fires; uptime comes from the fake status.
    options: dict[str, Any] = {"clock": FakeClock(), "refresh_s": None} | kw
    return create_app(daemon.factory, **options)


def ready(
    key: str | None,
    table: str | None,
    rows: int = 1,
    then: Callable[[Any], Awaitable[None]] | None = None,
) -> Callable[[Any], Awaitable[None]]:
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        if key:
            await pilot.press(key)
        if table:
            await wait_until(pilot, lambda: _rows(app, table) >= rows, what=f"{table} rows")
        if then is not None:
            await then(pilot)
        await pilot.pause()

    return run_before


def _rows(app: ArenadApp, selector: str) -> int:
    try:
        return app.screen.query_one(selector, DataTable).row_count
    except Exception:
        return 0


SCREENS = {
    "dashboard": (None, "#positions", 3),
    "fade": ("f", "#decisions", 2),
    "arena": ("a", "#leaderboard", 3),
    "trades": ("t", "#trades", 1),
    "events": ("e", "#event-log", 6),
    "config": ("c", "#settings", 5),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare: Any, screen: str, size: tuple[int, int]) -> None:
    key, table, rows = SCREENS[screen]
    assert snap_compare(make(FakeDaemon()), terminal_size=size, run_before=ready(key, table, rows))


def test_kill_switch_engaged(snap_compare: Any) -> None:
    d = FakeDaemon()
    d._kill({"reason": "daily loss limit crossed"})
    assert snap_compare(make(d), terminal_size=(80, 24), run_before=ready(None, "#positions", 3))


def test_todays_daemon_without_engines(snap_compare: Any) -> None:
    assert snap_compare(
        make(FakeDaemon(engines=False)),
        terminal_size=(80, 24),
        run_before=ready(None, "#dash-events", 1),
    )


def test_daemon_gone_banner(snap_compare: Any) -> None:
    d = FakeDaemon()

    async def lose(pilot: Any) -> None:
        d.go_down()
        await wait_until(pilot, lambda: pilot.app.state.connection.state == "disconnected")

    app = make(d, reconnect_min_s=30.0, reconnect_max_s=30.0)
    assert snap_compare(
        app, terminal_size=(80, 24), run_before=ready(None, "#positions", 3, then=lose)
    )


def test_help(snap_compare: Any) -> None:
    assert snap_compare(
        make(FakeDaemon()), terminal_size=(80, 24), run_before=ready("question_mark", None)
    )
