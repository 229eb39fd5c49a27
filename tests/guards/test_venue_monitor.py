"""The venue monitor (arenad.guards.venue): a failure or two is retried, not an outage; a
streak of one kind of request is one, held until ``up`` (an answer alone does not release it),
which runs the release listeners; an outage past its grace engages the kill switch."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

from arenad.clock import FakeClock
from arenad.daemon.bus import Bus
from arenad.daemon.events import EventLog
from arenad.guards.trading import TradingGuard, TradingState
from arenad.guards.venue import VenueMonitor
from fixtures_sim import poll_until


def monitor(store, clock: FakeClock, grace: float = 60.0) -> tuple[VenueMonitor, TradingGuard]:  # type: ignore[no-untyped-def]
    events = EventLog(store.writer, Bus(), clock)
    guard = TradingGuard(store.writer, events, clock=clock)
    v = VenueMonitor("hyperliquid", guard, events, clock=clock, grace_s=lambda: grace)
    v.register()
    return v, guard


async def test_two_failures_are_retried_the_third_in_a_row_holds(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2025, 3, 3, tzinfo=UTC))
    v, guard = monitor(store, clock)
    await v.failed("fills", "503")
    await v.failed("fills", "503")
    await v.failed("allMids", "503")  # another kind: its own streak
    await v.failed("allMids", "503")
    v.answered("fills")  # the venue answered a fills request: that streak starts over
    await v.failed("fills", "503")
    await v.failed("fills", "503")
    assert not v.waiting and guard.state_for("hyperliquid") is TradingState.ACTIVE
    await v.failed("fills", "503")
    assert v.waiting and v.outages == 1 and v.reason == "fills: 503"
    assert guard.state_for("hyperliquid") is TradingState.HALTED
    assert guard.state is TradingState.ACTIVE and not guard.kill_switch.engaged
    assert guard.halt_reason("hyperliquid") == "waiting for venue hyperliquid (fills: 503)"
    v.answered("fills")
    assert v.waiting  # an answer alone does not release the hold
    released: list[bool] = []

    async def on_release() -> None:
        released.append(guard.state_for("hyperliquid") is TradingState.ACTIVE)

    v.on_release(on_release)
    await v.up("backfill caught up")
    assert not v.waiting and released == [True]  # listeners run after the hold is released
    await v.failed("fills", "503")  # a new outage needs a new streak
    assert not v.waiting
    await store.writer.flush()
    with sqlite3.connect(store.path) as c:
        sql = "SELECT message FROM system_events WHERE category = 'venue' ORDER BY id"
        rows = [r[0] for r in c.execute(sql)]
    assert len(rows) == 2 and "waiting for venue" in rows[0] and "venue back" in rows[1]


async def test_an_outage_past_its_grace_engages_the_kill_switch(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2025, 3, 3, tzinfo=UTC))
    v, guard = monitor(store, clock, grace=30)
    for _ in range(3):
        await v.failed("websocket", "cannot connect: ConnectionRefusedError")
    await poll_until(lambda: clock.sleepers == 1, what="the grace timer")
    clock.advance(29)
    await asyncio.sleep(0)
    assert not guard.kill_switch.engaged
    clock.advance(1)
    await poll_until(lambda: guard.kill_switch.engaged, what="the kill switch")
    ks = guard.kill_switch
    assert ks.by == "venue_outage" and "grace 30s" in (ks.reason or "")
    assert guard.halt_reason("hyperliquid") == (
        "kill switch engaged by venue_outage, no automatic orders"
    )


async def test_a_hold_released_inside_the_grace_never_engages(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2025, 3, 3, tzinfo=UTC))
    v, guard = monitor(store, clock, grace=30)
    for _ in range(3):
        await v.failed("fills", "429")
    await poll_until(lambda: clock.sleepers == 1, what="the grace timer")
    await v.up("backfill caught up")
    clock.advance(60)
    await asyncio.sleep(0)
    await store.writer.flush()
    assert not guard.kill_switch.engaged and clock.sleepers == 0
