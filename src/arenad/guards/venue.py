"""Venue outages are waited out, not crashed on.

A :class:`VenueMonitor` follows one venue's reachability. Whoever meets a temporary error
talking to the venue (a refused connect, a timeout, HTTP 5xx or 429, a websocket that cannot
connect) reports it with :meth:`VenueMonitor.failed`, naming the kind of request; whoever gets
an answer reports :meth:`VenueMonitor.answered`. One failure is not an outage — the caller
retries it — and neither is a websocket that drops and reconnects (its fills are backfilled as
on every connect). An outage starts once one kind of request has failed ``hold_after`` times in
a row (3: beyond a retry or two):

- trading on that venue is held at once (``TradingGuard.state_for(venue)`` is HALTED; the
  kill switch is not touched), shown as ``venues.<name>.state = "waiting"`` in the status;
- one warning event says so (later failures in the same outage only update the reason);
- a timer of ``grace_s`` starts: an outage still going when it runs out engages the kill
  switch (``by = "venue_outage"``), since a loop blind for that long cannot be trusted to
  pick up where it left off without the operator.

The outage ends with :meth:`VenueMonitor.up`, which the ingest calls only once the venue
answers again *and* every wallet's backfill has caught up since the last failure; one info
event says so, the hold is released by itself, and the release listeners run (the fade
re-targets every book from the bots' positions: fills the backfill brought in while trading
was held were decided as skips). An answer alone does not release the hold.
:meth:`VenueMonitor.call` retries one request with jittered backoff until it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

from arenad.clock import Clock, SystemClock
from arenad.daemon.events import EventLog
from arenad.daemon.supervisor import backoff_delays
from arenad.errors import ArenadError, TemporaryError
from arenad.guards.trading import TradingGuard
from arenad.store.db import utc_iso

T = TypeVar("T")
ReleaseFn = Callable[[], Awaitable[None]]
HOLD_AFTER = 3
"""Failures in a row of one kind of request that make an outage (the first ones are retried)."""

log = structlog.get_logger("arenad.venue")


class VenueMonitor:
    def __init__(
        self,
        name: str,
        guard: TradingGuard | None = None,
        events: EventLog | None = None,
        *,
        clock: Clock | None = None,
        grace_s: Callable[[], float] = lambda: 300.0,
        max_backoff_s: Callable[[], float] = lambda: 10.0,
        hold_after: int = HOLD_AFTER,
    ) -> None:
        self.name = name
        self._guard = guard
        self._events = events
        self._clock = clock or SystemClock()
        self._grace_s = grace_s
        self._max_backoff_s = max_backoff_s
        self.waiting = False
        self.reason: str | None = None
        self.since: str | None = None
        self._since_mono = 0.0
        self.outages = 0
        """Outages so far (each one's number keys its grace timer)."""
        self.failures = 0
        """Failures reported so far."""
        self.hold_after = max(1, hold_after)
        self.streaks: dict[str, int] = {}
        """Failures in a row per kind of request, since it last answered."""
        self._timer: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._on_release: list[ReleaseFn] = []

    def register(self) -> None:
        """Show this venue in the guard's snapshot and hold its trading while waiting."""
        if self._guard is not None:
            self._guard.add_venue(self.name, self)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": "waiting" if self.waiting else "up",
            "reason": self.reason if self.waiting else None,
            "since": self.since if self.waiting else None,
            "grace_s": self._grace_s(),
            "outages": self.outages,
        }

    def on_release(self, fn: ReleaseFn) -> None:
        """Call ``fn`` (awaited) each time a hold is released."""
        self._on_release.append(fn)

    @property
    def hold_reason(self) -> str | None:
        """What trading on this venue waits for while held (for decisions' skip reasons)."""
        return f"waiting for venue {self.name} ({self.reason})" if self.waiting else None

    async def failed(self, what: str, reason: str) -> None:
        """A temporary failure of one kind of request (``what``: "fills", "allMids",
        "websocket", ...). The hold starts when that kind has failed ``hold_after`` times in a
        row; idempotent within one outage."""
        self.failures += 1
        streak = self.streaks[what] = self.streaks.get(what, 0) + 1
        self.reason = f"{what}: {reason}"
        if self.waiting:
            return
        if streak < self.hold_after:
            log.debug("venue request failed; retried", venue=self.name, what=what, reason=reason)
            return
        self.waiting = True
        self.outages += 1
        self.since = utc_iso(self._clock.now())
        self._since_mono = self._clock.monotonic()
        grace = self._grace_s()
        self._timer = asyncio.get_running_loop().create_task(
            self._expire(self.outages, grace), name=f"{self.name}-outage-grace"
        )
        await self._emit(
            "warning",
            f"{self.name}: waiting for venue ({self.reason}, {streak} times in a row); trading "
            f"on {self.name} is held, the kill switch engages if it lasts {grace:.0f}s",
            {"venue": self.name, "reason": self.reason, "grace_s": grace},
        )

    def answered(self, what: str) -> None:
        """That kind of request got an answer: its failures no longer count (a hold stays
        until ``up``)."""
        self.streaks.pop(what, None)

    async def up(self, detail: str) -> None:
        """The venue answers and the backfill has caught up: release the hold."""
        if not self.waiting:
            return
        self.waiting = False
        took = self._clock.monotonic() - self._since_mono
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.streaks.clear()
        await self._emit(
            "info",
            f"{self.name}: venue back after {took:.1f}s ({detail}); trading on {self.name} resumes",
            {"venue": self.name, "outage_s": round(took, 3), "last_reason": self.reason},
        )
        for fn in self._on_release:
            await fn()

    async def wait_change(self) -> None:
        """Until the next down/up transition."""
        self._changed.clear()
        await self._changed.wait()

    def backoff(self) -> Any:
        return backoff_delays(base=0.2, cap=max(0.2, self._max_backoff_s()))

    async def call(self, fn: Callable[[], Awaitable[T]], what: str) -> T:
        """``await fn()``, retried on TemporaryError with jittered backoff until it answers."""
        delays = self.backoff()
        while True:
            try:
                out = await fn()
            except TemporaryError as e:
                await self.failed(what, str(e))
                await self._clock.sleep(next(delays))
                continue
            self.answered(what)
            return out

    async def _expire(self, outage: int, grace: float) -> None:
        await self._clock.sleep(grace)
        if not (self.waiting and self.outages == outage) or self._guard is None:
            return
        took = self._clock.monotonic() - self._since_mono
        with contextlib.suppress(ArenadError):  # the writer closed under us: shutting down
            await self._guard.engage(
                "venue_outage",
                f"{self.name} unreachable for {took:.0f}s (grace {grace:.0f}s): {self.reason}",
            )

    async def _emit(self, level: Any, message: str, details: dict[str, Any]) -> None:
        self._changed.set()
        if self._guard is not None:
            self._guard.publish()
        if self._events is None:
            getattr(log, level)(message, **details)
            return
        with contextlib.suppress(ArenadError):
            await self._events.emit(level, "venue", message, details)
