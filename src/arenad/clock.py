"""Injectable time, so tests run schedules, backoffs and day boundaries without waiting.

Code that needs the time takes a :class:`Clock`; production uses :class:`SystemClock` and tests
pass :class:`FakeClock`, whose ``sleep`` returns as soon as the test advances time past it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall-clock time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for intervals and deadlines)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this long on this clock."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told; sleepers wake when time passes their deadline."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
        self._mono = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._mono + max(0.0, seconds), fut))
        await fut

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        due = [s for s in self._sleepers if s[0] <= self._mono]
        self._sleepers = [s for s in self._sleepers if s[0] > self._mono]
        for _, fut in due:
            if not fut.done():
                fut.set_result(None)

    def set(self, when: datetime) -> None:
        """Jump to an absolute wall-clock time (monotonic time moves by the same amount)."""
        self.advance((when - self._now).total_seconds())

    @property
    def sleepers(self) -> int:
        return sum(1 for _, f in self._sleepers if not f.done())
