"""The equity chart: clock times on x, USD on y, one point readable, a range toggle."""

from __future__ import annotations

from typing import Any

from tui_fakes import FakeDaemon, screen_text, wait_until

from arenad.clock import FakeClock
from arenad.tui.app import create_app
from arenad.tui.widgets.equity_chart import EquityChart, time_ticks, usd_ticks


def test_ticks_are_round_clock_times_and_round_dollars() -> None:
    t0 = 1735826400.0  # 2025-01-02 14:00 UTC
    ticks, labels = time_ticks(t0 + 20, t0 + 3600, 6)
    assert labels == ["14:15", "14:30", "14:45", "15:00"]
    assert all(t % 900 == 0 for t in ticks)
    _, labels = usd_ticks(9936.0, 10076.8, 4)
    assert labels == ["$9,950", "$10,000", "$10,050"]


async def test_one_point_shows_its_time_and_value_not_minus_one_to_one() -> None:
    d = FakeDaemon()
    d.handlers["equity"] = lambda a: {
        "series": {"fade_aggregate": [{"ts": "2025-01-02T14:00:00Z", "equity": 10000.0}]}
    }
    app = create_app(d.factory, clock=FakeClock(), refresh_s=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "$10,000" in text and "14:00" in text, text
        assert "-1.00" not in text and "before the last point" not in text


async def test_g_cycles_the_range_and_cuts_the_series() -> None:
    d = FakeDaemon()
    d.handlers["equity"] = lambda a: {
        "series": {
            "fade_aggregate": [
                {"ts": f"2025-01-02T{h}:00:00Z", "equity": 10000.0 + h} for h in (10, 12, 14)
            ]
        }
    }
    app = create_app(d.factory, clock=FakeClock(), refresh_s=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected")
        await pilot.pause(0.2)
        assert "10:00" in screen_text(app)
        chart = app.screen.query_one(EquityChart)
        await pilot.press("g")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert chart.range_name == "1h" and "range 1h (g)" in text
        assert "10:00" not in text and "14:00" in text  # only the last hour is drawn
        seen: list[Any] = []
        for _ in range(3):
            await pilot.press("g")
            seen.append(chart.range_name)
        assert seen == ["1d", "1w", "all"]
