from __future__ import annotations

import asyncio
import sqlite3

from arenad.clock import FakeClock
from arenad.daemon.bus import Bus
from arenad.daemon.events import EventLog
from arenad.daemon.supervisor import Supervisor, backoff_delays
from arenad.guards.trading import TradingGuard, TradingState


def test_backoff_is_capped_and_jittered() -> None:
    import random

    gen = backoff_delays(base=0.5, cap=60, rng=random.Random(1))
    delays = [next(gen) for _ in range(20)]
    assert all(0 < d <= 60 for d in delays)
    assert delays[-1] >= 30  # reached the cap region
    assert len({round(d, 6) for d in delays[-5:]}) == 5  # jittered, not constant


async def _until(pred, what: str, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.001)


async def test_crash_is_recorded_and_task_restarts(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    events = EventLog(store.writer, Bus(), clock)
    guard = TradingGuard(store.writer, events, clock=clock)
    sup = Supervisor(events, guard, clock=clock, max_backoff_s=10)
    runs = 0
    finished = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise ValueError(f"boom {runs}")
        finished.set()

    sup.add("flaky", flaky)
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(stop))
    for expected in (1, 2):
        await _until(lambda: clock.sleepers == 1, "backoff sleep")
        assert sup.tasks["flaky"].restarts == expected
        clock.advance(10)
    await asyncio.wait_for(finished.wait(), 5)
    stop.set()
    await task
    await store.writer.flush()
    rows = (
        sqlite3.connect(store.path)
        .execute("SELECT level, category, message, details FROM system_events")
        .fetchall()
    )
    assert [r[2].split(";")[0] for r in rows] == ["task flaky crashed"] * 2
    assert "ValueError: boom 1" in rows[0][3] and "Traceback" in rows[0][3]
    assert guard.state is TradingState.ACTIVE  # not a trading task


async def test_trading_crash_loop_engages_kill_switch(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    events = EventLog(store.writer, Bus(), clock)
    guard = TradingGuard(store.writer, events, clock=clock)
    sup = Supervisor(events, guard, clock=clock, crash_limit=3, crash_window_s=300)

    async def broken() -> None:
        raise RuntimeError("exchange adapter exploded")

    sup.add("fade", broken, trading=True)
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(stop))
    for _ in range(2):
        await _until(lambda: clock.sleepers == 1, "backoff")
        assert not guard.kill_switch.engaged
        clock.advance(61)
    await _until(lambda: guard.kill_switch.engaged, "kill switch")
    assert guard.kill_switch.by == "crash_loop"
    assert "fade crashed 3 times" in (guard.kill_switch.reason or "")
    assert guard.allows(reduces_exposure=False).allowed is False
    stop.set()
    await task
    await store.writer.flush()  # the engage write may still be queued when cancelled
    row = (
        sqlite3.connect(store.path)
        .execute("SELECT kill_switch, kill_switch_by, trading_state FROM system_status")
        .fetchone()
    )
    assert row == (1, "crash_loop", "HALTED")


async def test_crashes_outside_the_window_do_not_add_up(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    events = EventLog(store.writer, Bus(), clock)
    guard = TradingGuard(store.writer, events, clock=clock)
    sup = Supervisor(events, guard, clock=clock, crash_limit=3, crash_window_s=100, max_backoff_s=1)

    async def broken() -> None:
        raise RuntimeError("x")

    sup.add("fade", broken, trading=True)
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(stop))
    for _ in range(6):
        await _until(lambda: clock.sleepers == 1, "backoff")
        clock.advance(60)  # 60 s apart: at most 2 inside any 100 s window
    assert not guard.kill_switch.engaged
    stop.set()
    await task


async def test_cancellation_is_not_swallowed(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    events = EventLog(store.writer, Bus(), clock)
    sup = Supervisor(events, TradingGuard(store.writer, events, clock=clock), clock=clock)
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    sup.add("forever", forever)
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(stop))
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert sup.tasks["forever"].state == "cancelled"
