"""NYSE sessions for the simulated Alpaca clock, calendar, order routing and bars.

Holidays are computed from NYSE's rules rather than listed, so any year works: fixed dates
move to Friday when they fall on a Saturday and to Monday on a Sunday, except New Year's Day,
which NYSE does not observe on the Friday before (that Friday is the old year's last session).
Early closes (13:00 ET) are the day after Thanksgiving, Christmas Eve when it is a weekday
session (not itself the observed Christmas holiday), and July 3 when it is a Monday to
Thursday. One-off
closures (national days of mourning) are listed in `SPECIAL_CLOSURES`.

`always_open` turns every day into one 24-hour session (midnight to midnight, New York time),
so a demo at night or on a weekend still trades; the clock then reports the next midnight as
both the next close and the next open.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ET = ZoneInfo("America/New_York")
OPEN = time(9, 30)
CLOSE = time(16, 0)
EARLY_CLOSE = time(13, 0)
PRE_MARKET = "0400"
POST_MARKET = "2000"

SPECIAL_CLOSURES: dict[date, str] = {
    date(2025, 1, 9): "National Day of Mourning (President Carter)",
}


def easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Meeus/Jones/Butcher algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(d: date) -> date:
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


def holidays(year: int) -> dict[date, str]:
    """Full-day NYSE closures of one year (weekdays only)."""
    out: dict[date, str] = {}
    new_year = date(year, 1, 1)
    if new_year.weekday() == 6:
        out[new_year + timedelta(days=1)] = "New Year's Day"
    elif new_year.weekday() < 5:
        out[new_year] = "New Year's Day"
    out[_nth_weekday(year, 1, 0, 3)] = "Martin Luther King Jr. Day"
    out[_nth_weekday(year, 2, 0, 3)] = "Washington's Birthday"
    out[easter(year) - timedelta(days=2)] = "Good Friday"
    out[_last_weekday(year, 5, 0)] = "Memorial Day"
    if year >= 2022:
        out[_observed(date(year, 6, 19))] = "Juneteenth"
    out[_observed(date(year, 7, 4))] = "Independence Day"
    out[_nth_weekday(year, 9, 0, 1)] = "Labor Day"
    out[_nth_weekday(year, 11, 3, 4)] = "Thanksgiving Day"
    out[_observed(date(year, 12, 25))] = "Christmas Day"
    for d, name in SPECIAL_CLOSURES.items():
        if d.year == year:
            out[d] = name
    return out


def early_closes(year: int) -> set[date]:
    days = {_nth_weekday(year, 11, 3, 4) + timedelta(days=1)}
    july3 = date(year, 7, 3)
    if july3.weekday() < 4:
        days.add(july3)
    eve = date(year, 12, 24)
    if eve.weekday() < 5 and eve not in holidays(year):
        days.add(eve)
    return days


_HOLIDAY_CACHE: dict[int, dict[date, str]] = {}
_EARLY_CACHE: dict[int, set[date]] = {}


def is_trading_day(d: date) -> bool:
    if d.weekday() >= 5:
        return False
    if d.year not in _HOLIDAY_CACHE:
        _HOLIDAY_CACHE[d.year] = holidays(d.year)
    return d not in _HOLIDAY_CACHE[d.year]


def session(d: date, *, always_open: bool = False) -> tuple[datetime, datetime] | None:
    """The regular session of a New York calendar day as aware UTC times, or None."""
    if always_open:
        start = datetime.combine(d, time(0), ET)
        end = datetime.combine(d + timedelta(days=1), time(0), ET)
        return start.astimezone(UTC), end.astimezone(UTC)
    if not is_trading_day(d):
        return None
    if d.year not in _EARLY_CACHE:
        _EARLY_CACHE[d.year] = early_closes(d.year)
    close = EARLY_CLOSE if d in _EARLY_CACHE[d.year] else CLOSE
    return (
        datetime.combine(d, OPEN, ET).astimezone(UTC),
        datetime.combine(d, close, ET).astimezone(UTC),
    )


def ny_date(t: datetime) -> date:
    return t.astimezone(ET).date()


def is_open(t: datetime, *, always_open: bool = False) -> bool:
    s = session(ny_date(t), always_open=always_open)
    return s is not None and s[0] <= t < s[1]


def _next_sessions(t: datetime, always_open: bool) -> tuple[datetime, datetime]:
    """(first session open after t, first session close after t)."""
    d = ny_date(t)
    next_open: datetime | None = None
    next_close: datetime | None = None
    for _ in range(30):
        s = session(d, always_open=always_open)
        if s is not None:
            if next_open is None and s[0] > t:
                next_open = s[0]
            if next_close is None and s[1] > t:
                next_close = s[1]
            if next_open is not None and next_close is not None:
                return next_open, next_close
        d += timedelta(days=1)
    raise AssertionError("no session within 30 days")  # pragma: no cover


def clock(t: datetime, *, always_open: bool = False) -> dict[str, object]:
    """The body of `GET /v2/clock` (Eastern timestamps with offset, as Alpaca sends)."""
    nxt_open, nxt_close = _next_sessions(t, always_open)
    return {
        "timestamp": t.astimezone(ET).isoformat(),
        "is_open": is_open(t, always_open=always_open),
        "next_open": nxt_open.astimezone(ET).isoformat(timespec="seconds"),
        "next_close": nxt_close.astimezone(ET).isoformat(timespec="seconds"),
    }


def next_trading_day(d: date, *, always_open: bool = False) -> date:
    d += timedelta(days=1)
    while session(d, always_open=always_open) is None:
        d += timedelta(days=1)
    return d


def calendar(start: date, end: date, *, always_open: bool = False) -> list[dict[str, str]]:
    """The body of `GET /v2/calendar`: one entry per trading day in [start, end]."""
    out: list[dict[str, str]] = []
    d = start
    while d <= end:
        s = session(d, always_open=always_open)
        if s is not None:
            o, c = s[0].astimezone(ET), s[1].astimezone(ET)
            out.append(
                {
                    "date": d.isoformat(),
                    "open": o.strftime("%H:%M"),
                    "close": "23:59" if always_open else c.strftime("%H:%M"),
                    "session_open": "0000" if always_open else PRE_MARKET,
                    "session_close": "2359" if always_open else POST_MARKET,
                    "settlement_date": next_trading_day(d, always_open=always_open).isoformat(),
                }
            )
        d += timedelta(days=1)
    return out
