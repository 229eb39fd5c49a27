"""Schedule slots with an injected clock: hourly, daily at 15:45 New York across daylight
saving changes and market holidays, weekly, cron; a slot never runs twice, even across a
restart; a missed slot runs once at start."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arenad.arena.calendar import NEW_YORK, NyseCalendar, TableCalendar, make_session
from arenad.arena.schedule import Schedule, Slot, manual_slot
from arenad.arena.scheduler import run_schedule
from arenad.arena.settings import ScheduleSettings
from arenad.arena.store import ArenaStore
from arenad.clock import FakeClock

CAL = NyseCalendar()


def sched(**kw: Any) -> Schedule:
    return Schedule(ScheduleSettings(**kw), CAL)


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def ny(*a: int) -> datetime:
    return datetime(*a, tzinfo=NEW_YORK)


def test_daily_1545_new_york_across_spring_dst_change() -> None:
    s = sched(kind="daily", at="15:45")
    slots = list(s.slots(utc(2025, 3, 6, 0), utc(2025, 3, 12, 0)))
    assert [x.at for x in slots] == [
        utc(2025, 3, 6, 20, 45),  # Thu, EST (UTC-5)
        utc(2025, 3, 7, 20, 45),  # Fri, EST
        utc(2025, 3, 10, 19, 45),  # Mon after the change on Sun 9 March: EDT (UTC-4)
        utc(2025, 3, 11, 19, 45),
    ]
    assert all(x.at.astimezone(NEW_YORK).strftime("%H:%M") == "15:45" for x in slots)
    assert slots[2].key == "daily:2025-03-10T19:45Z"


def test_daily_across_fall_dst_change_and_holidays() -> None:
    s = sched(kind="daily", at="15:45")
    fall = [x.at for x in s.slots(utc(2025, 10, 31, 0), utc(2025, 11, 4, 0))]
    assert fall == [utc(2025, 10, 31, 19, 45), utc(2025, 11, 3, 20, 45)]
    # Good Friday 18 April 2025 is a market holiday; so is 9 January 2025 (day of mourning).
    easter = [x.at.date() for x in s.slots(utc(2025, 4, 16, 0), utc(2025, 4, 23, 0))]
    assert easter == [date(2025, 4, 16), date(2025, 4, 17), date(2025, 4, 21), date(2025, 4, 22)]
    jan = [x.at.date() for x in s.slots(utc(2025, 1, 8, 0), utc(2025, 1, 11, 0))]
    assert jan == [date(2025, 1, 8), date(2025, 1, 10)]
    # 2026 and 2027 holidays are in the table too (Independence Day observed Fri 3 July 2026).
    jul = [x.at.date() for x in s.slots(utc(2026, 7, 1, 0), utc(2026, 7, 8, 0))]
    assert jul == [date(2026, 7, 1), date(2026, 7, 2), date(2026, 7, 6), date(2026, 7, 7)]


def test_daily_on_a_half_day_keeps_its_distance_to_the_close() -> None:
    s = sched(kind="daily", at="15:45")
    (slot,) = s.slots(utc(2025, 11, 28, 0), utc(2025, 11, 29, 0))
    assert slot.at.astimezone(NEW_YORK) == ny(2025, 11, 28, 12, 45)


def test_closed_days_run_when_market_days_only_is_off() -> None:
    s = sched(kind="daily", at="08:00", market_days_only=False)
    days = [x.at.date() for x in s.slots(utc(2025, 4, 18, 0), utc(2025, 4, 21, 0))]
    assert days == [date(2025, 4, 18), date(2025, 4, 19), date(2025, 4, 20)]


def test_hourly_only_in_market_hours() -> None:
    s = sched(kind="hourly", minute=35)
    mon = [
        x.at.astimezone(NEW_YORK).strftime("%H:%M")
        for x in s.slots(utc(2025, 3, 10, 0), utc(2025, 3, 11, 0))
    ]
    assert mon == ["09:35", "10:35", "11:35", "12:35", "13:35", "14:35", "15:35"]
    half = list(s.slots(utc(2025, 11, 28, 0), utc(2025, 11, 29, 0)))
    assert [x.at.astimezone(NEW_YORK).hour for x in half] == [9, 10, 11, 12]
    assert list(s.slots(utc(2025, 3, 8, 0), utc(2025, 3, 10, 0))) == []  # weekend
    assert len({x.key for x in s.slots(utc(2025, 3, 1), utc(2025, 4, 1))}) == 21 * 7


def test_weekly_moves_to_the_next_open_day_of_its_week() -> None:
    s = sched(kind="weekly", weekday="mon", at="10:00")
    got = [x.at.astimezone(NEW_YORK) for x in s.slots(utc(2025, 1, 12), utc(2025, 2, 1))]
    # 20 January 2025 is Martin Luther King day: that week's run is on Tuesday.
    assert got == [ny(2025, 1, 13, 10), ny(2025, 1, 21, 10), ny(2025, 1, 27, 10)]


def test_cron_expression_in_new_york_skipping_closed_days() -> None:
    s = sched(kind="cron", cron="45 15 * * 1-5")
    got = [x.at for x in s.slots(utc(2025, 4, 16), utc(2025, 4, 23))]
    assert got == [
        utc(2025, 4, 16, 19, 45),
        utc(2025, 4, 17, 19, 45),
        utc(2025, 4, 21, 19, 45),
        utc(2025, 4, 22, 19, 45),
    ]
    assert all(x.key.startswith("cron:") for x in s.slots(utc(2025, 4, 16), utc(2025, 4, 23)))


def test_bad_cron_and_time_are_config_errors() -> None:
    with pytest.raises(ValueError, match="five fields"):
        ScheduleSettings(kind="cron", cron="* * *")
    with pytest.raises(ValueError, match="not a valid cron"):
        ScheduleSettings(kind="cron", cron="61 * * * *")
    with pytest.raises(ValueError, match="HH:MM"):
        ScheduleSettings(at="25:00")
    with pytest.raises(ValueError, match="unknown time zone"):
        ScheduleSettings(timezone="Mars/Olympus")


def test_venue_calendar_overrides_the_builtin_table() -> None:
    cal = TableCalendar.from_alpaca(
        [
            {"date": "2025-03-10", "open": "09:30", "close": "13:00"},
            {"date": "2025-03-12", "open": "09:30", "close": "16:00"},
        ]
    )
    s = Schedule(ScheduleSettings(kind="daily", at="15:45"), cal)
    got = [x.at.astimezone(NEW_YORK) for x in s.slots(utc(2025, 3, 10), utc(2025, 3, 13))]
    assert got == [ny(2025, 3, 10, 12, 45), ny(2025, 3, 12, 15, 45)]  # 11th closed per venue
    assert cal.session(date(2025, 4, 18)) is None  # outside the table: built-in fallback
    assert make_session(date(2025, 3, 10)).early_close is False


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["hourly", "daily", "weekly"]),
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 11, 1), timezones=st.just(UTC)
    ),
    split=st.floats(min_value=0.0, max_value=1.0),
)
def test_no_slot_twice_however_the_window_is_split(
    kind: str, start: datetime, split: float
) -> None:
    s = sched(kind=kind)
    end = start + timedelta(days=20)
    mid = start + (end - start) * split
    whole = list(s.slots(start, end))
    parts = list(s.slots(start, mid)) + list(s.slots(mid, end))
    assert parts == whole
    assert len({x.key for x in whole}) == len(whole)
    assert whole == sorted(whole)


def test_next_and_missed_slot() -> None:
    s = sched(kind="daily", at="15:45", missed_max_age_s=3600)
    assert s.next_slot(utc(2025, 4, 17, 20, 0)) == Slot(
        utc(2025, 4, 21, 19, 45), "daily:2025-04-21T19:45Z"
    )
    assert s.missed_slot(utc(2025, 3, 10, 20, 0)).at == utc(2025, 3, 10, 19, 45)  # type: ignore[union-attr]
    assert s.missed_slot(utc(2025, 3, 10, 22, 0)) is None  # older than an hour
    assert sched(missed_slot="skip").missed_slot(utc(2025, 3, 10, 20, 0)) is None
    assert manual_slot(utc(2025, 3, 10, 20, 0, 5)).key == "manual:2025-03-10T20:00:05Z"


async def _until(pred: Any, what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def test_loop_runs_each_slot_once_even_across_a_restart(store) -> None:  # type: ignore[no-untyped-def]
    arena = ArenaStore(store.writer)
    clock = FakeClock(utc(2025, 3, 7, 20, 50))  # Fri, 5 minutes after the 15:45 EST slot
    s = sched(kind="daily", at="15:45", missed_max_age_s=3600)
    ran: list[tuple[str, str]] = []

    async def run(slot: Slot, trigger: str) -> None:
        if await arena.claim_run(slot.run_id, slot, trigger, clock.now(), []):
            ran.append((slot.key, trigger))

    task = asyncio.create_task(run_schedule(s, clock, run))
    await _until(lambda: clock.sleepers == 1, "the loop to sleep")
    assert ran == [("daily:2025-03-07T20:45Z", "missed")]
    # advance to Monday after the DST change: the weekend has no slot, Monday's is 19:45Z
    clock.set(utc(2025, 3, 10, 19, 45))
    await _until(lambda: len(ran) == 2 and clock.sleepers == 1, "Monday's run")
    assert ran[1] == ("daily:2025-03-10T19:45Z", "schedule")
    # restart at the same moment: the missed-slot catch-up finds Monday's slot taken
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    task2 = asyncio.create_task(run_schedule(s, clock, run))
    await _until(lambda: clock.sleepers == 1, "the restarted loop to sleep")
    clock.set(utc(2025, 3, 11, 19, 45))
    await _until(lambda: len(ran) == 3 and clock.sleepers == 1, "Tuesday's run")
    task2.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task2
    keys = [k for k, _ in ran]
    assert keys == ["daily:2025-03-07T20:45Z", "daily:2025-03-10T19:45Z", "daily:2025-03-11T19:45Z"]
    assert await arena.slot_taken("daily:2025-03-10T19:45Z")
