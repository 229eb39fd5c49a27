"""Layout at the sizes operators use: the keys and the key figures survive 80×24."""

from __future__ import annotations

from typing import Any

import pytest
from tui_fakes import FakeDaemon, screen_text, wait_until

from arenad.clock import FakeClock
from arenad.tui.app import ArenadApp, create_app
from arenad.tui.widgets.footer import ArenadFooter
from arenad.tui.widgets.grid import Grid


def make(daemon: FakeDaemon) -> ArenadApp:
    return create_app(daemon.factory, clock=FakeClock(), refresh_s=None)


def footer_text(app: ArenadApp) -> str:
    lines = screen_text(app).rstrip("\n").split("\n")
    return lines[-1]


async def footer_has_kill_and_help(pilot: Any) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.screen.query(ArenadFooter), what="footer")
    await pilot.pause()
    text = footer_text(app)
    assert "k" in text.split() and "Kill" in text, text
    assert "?" in text.split() and "Help" in text, text


async def test_footer_keeps_kill_and_help_at_80x24_on_every_screen() -> None:
    app = make(FakeDaemon())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        await footer_has_kill_and_help(pilot)
        for key in "faetc":
            await pilot.press(key)
            await footer_has_kill_and_help(pilot)


def header_labels(grid: Grid) -> list[str]:
    return [str(c.label.plain).rstrip(" ▲▼") for c in grid.columns.values()]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_fade_key_figures_survive_at_80_and_160_columns(size: tuple[int, int]) -> None:
    app = make(FakeDaemon())
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        await pilot.press("f")
        grid = app.screen.query_one("#bots", Grid)
        await wait_until(pilot, lambda: grid.row_count == 2, what="bots")
        await pilot.pause()
        labels = header_labels(grid)
        for key in ("bot", "fade uPnL", "realized", "equity"):
            assert key in labels, (size, labels)
        text = screen_text(app)
        for figure in ("-250.00", "+120.00", "9,870.00"):  # gemini-3-pro's fade book
            assert figure in text, (size, figure)
        if size[0] == 80:  # the low-priority columns went first
            assert "bot position" not in labels
