"""The NYSE trading calendar: which days are sessions, and when each opens and closes.

At run time the daemon builds a :class:`TableCalendar` from the venue's ``/v2/calendar``
(:meth:`TableCalendar.from_alpaca`), which knows every holiday and half day Alpaca knows.
Offline, and before the venue answers, :class:`NyseCalendar` uses the built-in table below
(2025–2027, from the NYSE's published holiday and early-close schedule); outside those years it
knows only weekends, and says so through :attr:`NyseCalendar.covers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
EARLY_CLOSE = time(13, 0)

# Full-day closures (NYSE), 2025-2027.
NYSE_HOLIDAYS: frozenset[date] = frozenset(
    {
        # 2025
        date(2025, 1, 1),
        date(2025, 1, 9),  # New Year; national day of mourning (Carter)
        date(2025, 1, 20),
        date(2025, 2, 17),
        date(2025, 4, 18),
        date(2025, 5, 26),
        date(2025, 6, 19),
        date(2025, 7, 4),
        date(2025, 9, 1),
        date(2025, 11, 27),
        date(2025, 12, 25),
        # 2026 (Independence Day observed Friday 3 July)
        date(2026, 1, 1),
        date(2026, 1, 19),
        date(2026, 2, 16),
        date(2026, 4, 3),
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 3),
        date(2026, 9, 7),
        date(2026, 11, 26),
        date(2026, 12, 25),
        # 2027 (Juneteenth observed Fri 18 June, Independence Day Mon 5 July, Christmas
        # Fri 24 December; New Year 2028 falls on a Saturday and is not observed)
        date(2027, 1, 1),
        date(2027, 1, 18),
        date(2027, 2, 15),
        date(2027, 3, 26),
        date(2027, 5, 31),
        date(2027, 6, 18),
        date(2027, 7, 5),
        date(2027, 9, 6),
        date(2027, 11, 25),
        date(2027, 12, 24),
    }
)

# Days the NYSE closes at 13:00 New York time.
NYSE_EARLY_CLOSES: frozenset[date] = frozenset(
    {
        date(2025, 7, 3),
        date(2025, 11, 28),
        date(2025, 12, 24),
        date(2026, 11, 27),
        date(2026, 12, 24),
        date(2027, 11, 26),
    }
)

TABLE_YEARS = range(2025, 2028)


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day: aware New York open and close."""

    day: date
    open: datetime
    close: datetime

    @property
    def early_close(self) -> bool:
        return self.close.timetz().replace(tzinfo=None) < REGULAR_CLOSE


def make_session(day: date, open_: time = REGULAR_OPEN, close: time = REGULAR_CLOSE) -> Session:
    return Session(
        day,
        datetime.combine(day, open_, tzinfo=NEW_YORK),
        datetime.combine(day, close, tzinfo=NEW_YORK),
    )


class MarketCalendar(Protocol):
    def session(self, day: date) -> Session | None:
        """The session of this New York date, or None when the market is closed."""
        ...


class NyseCalendar:
    """Weekends plus the built-in NYSE table (2025–2027)."""

    def covers(self, day: date) -> bool:
        """Whether holidays of this day's year are known (outside it: weekends only)."""
        return day.year in TABLE_YEARS

    def session(self, day: date) -> Session | None:
        if day.weekday() >= 5 or day in NYSE_HOLIDAYS:
            return None
        return make_session(day, close=EARLY_CLOSE if day in NYSE_EARLY_CLOSES else REGULAR_CLOSE)


class TableCalendar:
    """Sessions given explicitly (the venue's calendar); days outside the table fall back."""

    def __init__(self, sessions: Iterable[Session], fallback: MarketCalendar | None = None) -> None:
        self._sessions = {s.day: s for s in sessions}
        self._first = min(self._sessions, default=None)
        self._last = max(self._sessions, default=None)
        self._fallback = fallback or NyseCalendar()

    @classmethod
    def from_alpaca(
        cls, rows: Iterable[Any], fallback: MarketCalendar | None = None
    ) -> TableCalendar:
        """From alpaca-py ``Calendar`` models (``date``, ``open``, ``close``) or dicts of
        ``/v2/calendar`` (``"date": "2025-01-02", "open": "09:30", "close": "16:00"``)."""
        sessions = []
        for r in rows:
            d, o, c = (
                (r["date"], r["open"], r["close"])
                if isinstance(r, dict)
                else (r.date, r.open, r.close)
            )
            day = d if isinstance(d, date) else date.fromisoformat(str(d))
            sessions.append(Session(day, _at(day, o), _at(day, c)))
        return cls(sessions, fallback)

    def session(self, day: date) -> Session | None:
        if self._first is not None and self._last is not None and self._first <= day <= self._last:
            return self._sessions.get(day)
        return self._fallback.session(day)


def _at(day: date, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=NEW_YORK)
    if isinstance(value, time):
        return datetime.combine(day, value, tzinfo=NEW_YORK)
    hh, mm = str(value).split(":")[:2]
    return datetime.combine(day, time(int(hh), int(mm)), tzinfo=NEW_YORK)


def ny_date(when: datetime) -> date:
    return when.astimezone(NEW_YORK).date()


def sessions_from(
    calendar: MarketCalendar, day: date, *, limit_days: int = 3660
) -> Iterator[Session]:
    """Sessions on or after ``day``, in order (bounded so a broken calendar cannot spin)."""
    for i in range(limit_days):
        s = calendar.session(day + timedelta(days=i))
        if s is not None:
            yield s


def trading_days_after(calendar: MarketCalendar, day: date, n: int) -> date:
    """The date of the n-th session after ``day`` (n >= 1)."""
    it = sessions_from(calendar, day + timedelta(days=1))
    s = None
    for _ in range(n):
        s = next(it)
    assert s is not None
    return s.day
