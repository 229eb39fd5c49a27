"""Daily loss tracking (pure): P&L since the day boundary of a configurable time zone.

Each trading loop reports its own realized + unrealized P&L since the boundary under its own
source name; the account's day P&L is their sum. A new day starts from zero for every source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo


@dataclass
class DailyLossTracker:
    tz: ZoneInfo
    limit_usd: float | None
    day: date | None = None
    by_source: dict[str, float] = field(default_factory=dict)

    def day_of(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def update(self, source: str, pnl_since_boundary: float, now: datetime) -> bool:
        """Record a source's P&L; return True when the limit is crossed (loss ≥ limit)."""
        today = self.day_of(now)
        if today != self.day:
            self.day = today
            self.by_source.clear()
        self.by_source[source] = pnl_since_boundary
        return self.crossed

    @property
    def total(self) -> float:
        return sum(self.by_source.values())

    @property
    def crossed(self) -> bool:
        return self.limit_usd is not None and self.total <= -self.limit_usd
