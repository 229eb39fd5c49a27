"""When arena runs happen: slots, computed as pure functions of the settings, a calendar and a
given time (nothing here reads the clock).

A *slot* is one scheduled run: its UTC time and a key (``daily:2025-03-10T19:45Z``). The key is
what makes a slot run at most once: the run is stored under it with a UNIQUE constraint, so a
restart, a second daemon or a replayed timer finds the slot taken. Times are computed in the
schedule's zone (New York by default) and converted to UTC, so "15:45" stays 15:45 in New
York across daylight saving. On a half day (13:00 close) a daily or weekly run set inside
regular hours keeps its distance to the close: 15:45 becomes 12:45.

Cron expressions are evaluated by ``croniter`` (maintained, handles DST by evaluating in the
zone): a cron parser with ranges, steps, names and day-of-month/day-of-week semantics is not
worth rewriting, and it comes with years of edge-case tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]

from arenad.arena.calendar import NEW_YORK, REGULAR_CLOSE, REGULAR_OPEN, MarketCalendar, Session
from arenad.arena.settings import ScheduleSettings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_SEARCH_DAYS = 400


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    at: datetime
    """Aware UTC time the run is due."""
    key: str
    """Unique name of this slot (kind and UTC minute)."""

    @property
    def run_id(self) -> str:
        """Readable and as unique as the key: scheduled slots are per minute, an operator's
        run-now per second."""
        if self.key.startswith("manual:"):
            return "r-" + self.at.astimezone(UTC).strftime("%Y%m%d-%H%M%S") + "-m"
        return "r-" + self.at.astimezone(UTC).strftime("%Y%m%d-%H%M")


def cron_problem(expr: str) -> str | None:
    """Why a cron expression is unusable, or None."""
    if not expr.strip():
        return "empty (kind = 'cron' needs a cron expression)"
    if len(expr.split()) != 5:
        return "needs five fields: minute hour day-of-month month day-of-week"
    if not croniter.is_valid(expr):
        return "not a valid cron expression"
    return None


def slot_key(kind: str, at: datetime) -> str:
    return f"{kind}:{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"


def manual_slot(now: datetime) -> Slot:
    """An operator's run-now: its own slot, keyed to the second."""
    at = now.astimezone(UTC)
    return Slot(at, f"manual:{at.strftime('%Y-%m-%dT%H:%M:%SZ')}")


class Schedule:
    def __init__(self, settings: ScheduleSettings, calendar: MarketCalendar) -> None:
        self.settings = settings
        self.calendar = calendar
        self.tz = ZoneInfo(settings.timezone)

    # --- per day -------------------------------------------------------------------------

    def _open_day(self, day: date) -> Session | bool | None:
        """The session (open day), False (closed, and closed days are skipped) or None (no
        session but closed days are allowed)."""
        s = self.calendar.session(day)
        if s is not None:
            return s
        return False if self.settings.market_days_only else None

    def _at_on(self, day: date, at: time, session: Session | None) -> datetime:
        t = datetime.combine(day, at, tzinfo=self.tz)
        if session is not None and session.early_close:
            regular_open = datetime.combine(session.day, REGULAR_OPEN, tzinfo=NEW_YORK)
            regular_close = datetime.combine(session.day, REGULAR_CLOSE, tzinfo=NEW_YORK)
            if regular_open <= t < regular_close and t >= session.close:
                t = session.close - (regular_close - t)
        return t.astimezone(UTC)

    def _day_slots(self, day: date) -> list[datetime]:
        st = self.settings
        sess = self._open_day(day)
        if sess is False:
            return []
        session = sess if isinstance(sess, Session) else None
        if st.kind == "daily":
            return [self._at_on(day, st.at_time, session)]
        if st.kind == "hourly":
            if session is None:
                # Closed days allowed: every hour of the day.
                return [
                    datetime.combine(day, time(h, st.minute), tzinfo=self.tz).astimezone(UTC)
                    for h in range(24)
                ]
            out = []
            for h in range(24):
                t = datetime.combine(day, time(h, st.minute), tzinfo=NEW_YORK)
                if session.open <= t < session.close:
                    out.append(t.astimezone(UTC))
            return out
        if st.kind == "weekly":
            target = WEEKDAYS.index(st.weekday)
            if day.weekday() < target:
                return []
            monday = day - timedelta(days=day.weekday())
            # The first usable day of this week on or after the target weekday.
            for i in range(target, 7):
                d = monday + timedelta(days=i)
                s = self._open_day(d)
                if s is not False:
                    if d != day:
                        return []
                    return [self._at_on(day, st.at_time, s if isinstance(s, Session) else None)]
            return []
        raise AssertionError(st.kind)

    # --- queries -------------------------------------------------------------------------

    def slots(self, start: datetime, end: datetime) -> Iterator[Slot]:
        """Slots with ``start < at <= end``, in order."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if self.settings.kind == "cron":
            yield from self._cron_slots(start, end)
            return
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date() + timedelta(days=1)
        while day <= last:
            for t in self._day_slots(day):
                if start < t <= end:
                    yield Slot(t, slot_key(self.settings.kind, t))
            day += timedelta(days=1)

    def _cron_slots(self, start: datetime, end: datetime) -> Iterator[Slot]:
        it = croniter(self.settings.cron, start.astimezone(self.tz))
        for _ in range(1_000_000):
            t: datetime = it.get_next(datetime)
            tu = t.astimezone(UTC)
            if tu > end:
                return
            if tu <= start:
                continue
            if self.settings.market_days_only and self.calendar.session(t.date()) is None:
                continue
            yield Slot(tu, slot_key("cron", tu))

    def next_slot(self, after: datetime) -> Slot | None:
        """The first slot strictly after ``after`` (None if none within ~13 months)."""
        return next(self.slots(after, after + timedelta(days=_MAX_SEARCH_DAYS)), None)

    def last_slot(self, at_or_before: datetime) -> Slot | None:
        """The newest slot at or before the given time (searching back 14 days)."""
        found = None
        for s in self.slots(at_or_before - timedelta(days=14), at_or_before):
            found = s
        return found

    def missed_slot(self, now: datetime) -> Slot | None:
        """The one slot to catch up at start under ``missed_slot = "run_once"``: the newest slot
        at or before ``now``, if younger than ``missed_max_age_s``. Whether it already ran is
        the store's to say (its slot key is taken), so a slot that ran is never run again."""
        if self.settings.missed_slot != "run_once":
            return None
        s = self.last_slot(now)
        if s is None or (now - s.at).total_seconds() > self.settings.missed_max_age_s:
            return None
        return s
