from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from arenad.clock import FakeClock
from arenad.daemon.bus import Bus
from arenad.daemon.events import EventLog
from arenad.guards.daily_loss import DailyLossTracker
from arenad.guards.trading import TradingGuard, TradingState, judge


@given(st.sampled_from(TradingState), st.booleans())
def test_judge_never_allows_new_exposure_unless_active(state: TradingState, reduces: bool) -> None:
    v = judge(state, reduces)
    if not reduces:
        assert v.allowed is (state is TradingState.ACTIVE)
    else:
        assert v.allowed  # reduce-only exits always pass
    assert v.state is state and v.reason


def test_daily_loss_day_boundary_in_zone() -> None:
    t = DailyLossTracker(ZoneInfo("America/New_York"), 100.0)
    # 23:30 New York on Jan 2 is 04:30 UTC Jan 3: still Jan 2's trading day
    assert not t.update("fade", -60, datetime(2025, 1, 3, 4, 30, tzinfo=UTC))
    assert t.update("arena", -45, datetime(2025, 1, 3, 4, 40, tzinfo=UTC))  # -105 total
    # 00:10 New York on Jan 3: a new day, tallies start over
    assert not t.update("fade", -10, datetime(2025, 1, 3, 5, 10, tzinfo=UTC))
    assert t.total == -10
    assert not DailyLossTracker(ZoneInfo("UTC"), None).update("x", -1e9, datetime.now(UTC))


async def test_guard_persists_and_daily_loss_halts(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2025, 3, 3, 15, 0, tzinfo=UTC))
    events = EventLog(store.writer, Bus(), clock)
    guard = TradingGuard(store.writer, events, clock=clock, daily_loss_limit_usd=250)
    assert not await guard.report_daily_pnl("fade", -200)
    assert guard.state is TradingState.ACTIVE
    assert await guard.report_daily_pnl("arena", -60)
    assert guard.state is TradingState.HALTED and guard.kill_switch.by == "daily_loss_limit"
    # a new day does not release it: only the operator does
    clock.advance(86_400)
    assert not await guard.report_daily_pnl("fade", 0)
    assert guard.state is TradingState.HALTED
    again = TradingGuard(store.writer, events, clock=clock)
    await store.writer.flush()
    await again.load(store.path)
    assert again.kill_switch.engaged and again.kill_switch.by == "daily_loss_limit"
    import pytest

    with pytest.raises(PermissionError):
        await again.release("daily_loss_limit")
    await again.release("operator")
    assert again.state is TradingState.ACTIVE
    await again.set_state(TradingState.REDUCING, "operator", "wind down")
    assert again.allows(False).allowed is False and again.allows(True).allowed is True
    row = (
        sqlite3.connect(store.path)
        .execute("SELECT trading_state, kill_switch FROM system_status")
        .fetchone()
    )
    assert row == ("REDUCING", 0)
