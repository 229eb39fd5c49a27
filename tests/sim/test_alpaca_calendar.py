"""The NYSE calendar of the simulated Alpaca: holidays, early closes, clock, always-open."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from arenad.sim.alpaca import calendar

# NYSE's published schedule (nyse.com/markets/hours-calendars) for 2025-2027.
NYSE_HOLIDAYS = {
    2025: [
        "2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26",
        "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25",
    ],
    2026: [
        "2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19",
        "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25",
    ],
    2027: [
        "2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18",
        "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24",
    ],
}  # fmt: skip
NYSE_EARLY_CLOSES = {
    2025: ["2025-07-03", "2025-11-28", "2025-12-24"],
    2026: ["2026-11-27", "2026-12-24"],
    2027: ["2027-11-26"],
}


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_holidays_and_early_closes_match_nyse(year: int) -> None:
    assert sorted(d.isoformat() for d in calendar.holidays(year)) == NYSE_HOLIDAYS[year]
    assert sorted(d.isoformat() for d in calendar.early_closes(year)) == NYSE_EARLY_CLOSES[year]


def test_sessions_follow_new_york_time_across_dst() -> None:
    winter = calendar.session(date(2025, 1, 6))
    summer = calendar.session(date(2025, 7, 7))
    assert winter == (
        datetime(2025, 1, 6, 14, 30, tzinfo=UTC),
        datetime(2025, 1, 6, 21, tzinfo=UTC),
    )
    assert summer == (
        datetime(2025, 7, 7, 13, 30, tzinfo=UTC),
        datetime(2025, 7, 7, 20, tzinfo=UTC),
    )
    early = calendar.session(date(2025, 11, 28))
    assert early is not None and early[1] == datetime(2025, 11, 28, 18, tzinfo=UTC)  # 13:00 ET
    assert calendar.session(date(2025, 1, 4)) is None  # Saturday
    assert calendar.session(date(2025, 12, 25)) is None


def test_clock_over_a_holiday_weekend() -> None:
    # Thursday July 3 2025 is an early close (13:00 ET); Friday the 4th is a holiday.
    t = datetime(2025, 7, 3, 16, 59, tzinfo=UTC)  # 12:59 ET
    c = calendar.clock(t)
    assert c["is_open"] is True
    assert c["next_close"] == "2025-07-03T13:00:00-04:00"
    assert c["next_open"] == "2025-07-07T09:30:00-04:00"  # Friday the 4th is a holiday
    after = calendar.clock(datetime(2025, 7, 3, 17, 0, tzinfo=UTC))
    assert after["is_open"] is False
    assert after["next_close"] == "2025-07-07T16:00:00-04:00"
    assert str(after["timestamp"]).startswith("2025-07-03T13:00:00")


def test_calendar_entries_are_what_alpaca_py_parses() -> None:
    from alpaca.trading.models import Calendar

    days = calendar.calendar(date(2025, 12, 22), date(2025, 12, 28))
    assert [d["date"] for d in days] == ["2025-12-22", "2025-12-23", "2025-12-24", "2025-12-26"]
    eve = days[2]
    assert (eve["open"], eve["close"], eve["settlement_date"]) == ("09:30", "13:00", "2025-12-26")
    parsed = Calendar(**eve)
    assert parsed.close == datetime(2025, 12, 24, 13, 0)


def test_always_open_is_one_session_per_day() -> None:
    saturday_night = datetime(2025, 1, 5, 3, 0, tzinfo=UTC)  # Sat 22:00 ET
    assert calendar.is_open(saturday_night, always_open=True)
    assert not calendar.is_open(saturday_night)
    c = calendar.clock(saturday_night, always_open=True)
    assert c["is_open"] is True
    assert c["next_close"] == c["next_open"] == "2025-01-05T00:00:00-05:00"
    assert len(calendar.calendar(date(2025, 1, 1), date(2025, 1, 7), always_open=True)) == 7


def test_easter_dates() -> None:
    assert calendar.easter(2025) == date(2025, 4, 20)
    assert calendar.easter(2026) == date(2026, 4, 5)
    assert calendar.easter(2027) == date(2027, 3, 28)
    assert calendar.easter(2038) == date(2038, 4, 25)
