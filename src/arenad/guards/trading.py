"""The kill switch and trading state every trading loop consults before any order.

States follow a risk engine's: ACTIVE (trade), REDUCING (only exposure-reducing orders),
HALTED (no new orders; cancels still pass). An engaged kill switch means HALTED whatever the
operator-set state is. The kill switch is persisted in ``system_status`` and survives restarts;
only the operator releases it.

Engaging flips the in-memory flag *before* the database write is awaited, so no order can
slip through while the write is in flight; the command is acknowledged only once committed.

Storage failure fails closed: when the store writer reports that writes no longer persist
(disk full, I/O error, read-only file system), the kill switch is engaged in memory at once
(``by = "storage"``), and its write is retried with backoff until it lands, so the database
says HALTED before anything else is written. While writes fail, the kill switch cannot be
released (the release could not be persisted). ``kill_switch.persisted`` in the snapshot
says whether the database holds what memory holds.

Venue holds: a venue's monitor (``arenad.guards.venue``) registers here; while it waits for
its venue to come back, ``state_for(venue)`` is HALTED for that venue's loops only, and the
hold is released by itself (it is not the kill switch).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog

from arenad.clock import Clock, SystemClock
from arenad.daemon.bus import Bus
from arenad.daemon.events import EventLog
from arenad.errors import OperationalError, StorageFailure
from arenad.guards.daily_loss import DailyLossTracker
from arenad.store.db import open_reader, utc_iso
from arenad.store.writer import StoreWriter

log = structlog.get_logger("arenad.guards")


class VenueHold(Protocol):
    """What the guard needs of a venue monitor."""

    @property
    def waiting(self) -> bool: ...

    @property
    def hold_reason(self) -> str | None: ...

    def snapshot(self) -> dict[str, Any]: ...


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True)
class KillSwitch:
    engaged: bool = False
    by: str | None = None
    reason: str | None = None
    activated_at: str | None = None
    deactivated_at: str | None = None


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """The guard's answer about one prospective order, stored with the decision it judged."""

    allowed: bool
    state: TradingState
    reason: str


def judge(state: TradingState, reduces_exposure: bool) -> GuardVerdict:
    """Pure rule: what a trading state allows."""
    if state is TradingState.ACTIVE:
        return GuardVerdict(True, state, "trading active")
    if state is TradingState.REDUCING:
        if reduces_exposure:
            return GuardVerdict(True, state, "reducing: exposure-reducing order allowed")
        return GuardVerdict(False, state, "reducing: only exposure-reducing orders allowed")
    if reduces_exposure:
        # Halted still lets risk come off (reduce-only exits), never adds.
        return GuardVerdict(True, state, "halted: reduce-only exit allowed")
    return GuardVerdict(False, state, "halted: kill switch engaged, no new orders")


class TradingGuard:
    def __init__(
        self,
        writer: StoreWriter,
        events: EventLog,
        *,
        bus: Bus | None = None,
        clock: Clock | None = None,
        day_boundary_tz: str = "UTC",
        daily_loss_limit_usd: float | None = None,
    ) -> None:
        self._writer = writer
        self._events = events
        self._bus = bus
        self._clock = clock or SystemClock()
        self._kill = KillSwitch()
        self._operator_state = TradingState.ACTIVE
        self.daily = DailyLossTracker(ZoneInfo(day_boundary_tz), daily_loss_limit_usd)
        self.storage_failure: str | None = None
        """Why writes do not persist, while they do not."""
        self._unpersisted = False
        self._retry: asyncio.Task[None] | None = None
        self._venues: dict[str, VenueHold] = {}
        writer.on_storage(self._on_storage)

    async def load(self, db_path: Path) -> None:
        """Restore the persisted kill switch and state (call once at start-up)."""
        async with open_reader(db_path) as conn:
            row = await (await conn.execute("SELECT * FROM system_status WHERE id = 1")).fetchone()
        if row is None:
            return
        self._kill = KillSwitch(
            bool(row["kill_switch"]),
            row["kill_switch_by"],
            row["kill_switch_reason"],
            row["kill_switch_activated_at"],
            row["kill_switch_deactivated_at"],
        )
        persisted = TradingState(row["trading_state"])
        self._operator_state = (
            TradingState.ACTIVE if persisted is TradingState.HALTED else persisted
        )

    def configure(self, *, day_boundary_tz: str, daily_loss_limit_usd: float | None) -> None:
        """Apply reloaded risk settings (keeps today's tally when the zone is unchanged)."""
        if str(self.daily.tz) != day_boundary_tz:
            self.daily = DailyLossTracker(ZoneInfo(day_boundary_tz), daily_loss_limit_usd)
        else:
            self.daily.limit_usd = daily_loss_limit_usd

    @property
    def kill_switch(self) -> KillSwitch:
        return self._kill

    @property
    def state(self) -> TradingState:
        return TradingState.HALTED if self._kill.engaged else self._operator_state

    def state_for(self, venue: str) -> TradingState:
        """The state a loop trading on ``venue`` obeys: HALTED too while the venue is held."""
        hold = self._venues.get(venue)
        return TradingState.HALTED if hold is not None and hold.waiting else self.state

    def halt_reason(self, venue: str) -> str | None:
        """Why ``state_for(venue)`` is HALTED, when it is (None otherwise)."""
        if self._kill.engaged:
            return f"kill switch engaged by {self._kill.by}, no automatic orders"
        hold = self._venues.get(venue)
        return hold.hold_reason if hold is not None and hold.waiting else None

    def add_venue(self, name: str, hold: VenueHold) -> None:
        self._venues[name] = hold

    def allows(self, reduces_exposure: bool = False) -> GuardVerdict:
        return judge(self.state, reduces_exposure)

    @property
    def persisted(self) -> bool:
        """The database holds the kill switch that memory holds."""
        return not self._unpersisted

    def snapshot(self) -> dict[str, Any]:
        return {
            "trading_state": self.state.value,
            "kill_switch": asdict(self._kill) | {"persisted": not self._unpersisted},
            "daily_pnl": self.daily.total,
            "daily_loss_limit_usd": self.daily.limit_usd,
            "storage_failure": self.storage_failure,
            "venues": {n: v.snapshot() for n, v in self._venues.items()},
        }

    async def engage(self, by: str, reason: str) -> KillSwitch:
        """Engage now (in memory first); returns once persisted, or once the write has failed
        for want of storage (then ``persisted`` is False and the write is retried)."""
        now = utc_iso(self._clock.now())
        already = self._kill.engaged
        self._kill = KillSwitch(
            True,
            by,
            reason,
            now if not already else self._kill.activated_at,
            self._kill.deactivated_at,
        )
        self._publish()
        try:
            await self._persist()
        except StorageFailure:
            self._retry_persist()
        await self._emit(
            "warning" if by == "operator" else "error",
            f"kill switch engaged by {by}: {reason}"
            if not already
            else f"kill switch already engaged; now by {by}: {reason}",
            {"by": by, "reason": reason},
        )
        return self._kill

    async def release(self, by: str = "operator") -> KillSwitch:
        if by != "operator":
            raise PermissionError("only the operator releases the kill switch")
        if self.storage_failure is not None:
            raise StorageFailure(
                f"storage failure: {self.storage_failure}; the kill switch stays engaged "
                "until writes persist again"
            )
        was = self._kill
        released = KillSwitch(False, None, None, was.activated_at, utc_iso(self._clock.now()))
        await self._persist(released)  # durable first: a failed write leaves it engaged
        self._kill = released
        self._unpersisted = False
        await self._events.emit(
            "warning",
            "trading",
            "kill switch released by operator",
            {"was_by": was.by, "was_reason": was.reason},
            durable=True,
        )
        self._publish()
        return self._kill

    async def set_state(self, state: TradingState, by: str, reason: str) -> None:
        if state is TradingState.HALTED:
            await self.engage(by, reason)
            return
        self._operator_state = state
        await self._persist()
        await self._events.emit(
            "warning",
            "trading",
            f"trading state {state} by {by}: {reason}",
            {"by": by, "reason": reason},
            durable=True,
        )
        self._publish()

    async def report_daily_pnl(self, source: str, pnl_since_boundary: float) -> bool:
        """Feed a loop's day P&L; engage the kill switch when the account crosses the limit."""
        if (
            self.daily.update(source, pnl_since_boundary, self._clock.now())
            and not self._kill.engaged
        ):
            await self.engage(
                "daily_loss_limit",
                f"day P&L {self.daily.total:.2f} USD crossed the limit of "
                f"-{self.daily.limit_usd:.2f} USD",
            )
            return True
        return False

    async def _emit(self, level: Any, message: str, details: dict[str, Any]) -> None:
        """A durable trading event; on a storage failure it is still logged and streamed."""
        with contextlib.suppress(StorageFailure):
            await self._events.emit(level, "trading", message, details, durable=True)

    def _on_storage(self, reason: str | None) -> None:
        """The writer's report: writes fail to persist (reason) or persist again (None)."""
        was = self.storage_failure
        self.storage_failure = reason
        if reason is not None and was is None:
            if not self._kill.engaged:
                self._kill = KillSwitch(
                    True,
                    "storage",
                    f"storage failure: {reason}",
                    utc_iso(self._clock.now()),
                    self._kill.deactivated_at,
                )
                self._retry_persist()
            log.error(
                "trading HALTED: storage failure; the kill switch write is retried until it lands",
                reason=reason,
                kill_switch_by=self._kill.by,
            )
        elif reason is None and was is not None:
            log.warning("storage writes persist again", was=was)
        self._publish()

    def _retry_persist(self) -> None:
        self._unpersisted = True
        if self._retry is None or self._retry.done():
            self._retry = asyncio.get_running_loop().create_task(
                self._persist_until_landed(), name="kill-switch-persist"
            )

    async def _persist_until_landed(self) -> None:
        delay = 0.1
        while self._unpersisted:
            try:
                await self._persist()
            except StorageFailure:
                await self._clock.sleep(random.uniform(0.5, 1.0) * delay)
                delay = min(5.0, delay * 2)
                continue
            except OperationalError:  # the writer is closed: shutting down
                return
            self._unpersisted = False
            k = self._kill
            await self._emit(
                "error",
                f"kill switch persisted after a storage failure (by {k.by}: {k.reason})",
                {"by": k.by, "reason": k.reason},
            )
            self._publish()

    async def _persist(self, kill: KillSwitch | None = None) -> None:
        k = kill or self._kill
        state = TradingState.HALTED if k.engaged else self._operator_state
        await self._writer.execute(
            "UPDATE system_status SET kill_switch = ?, kill_switch_by = ?, kill_switch_reason = ?,"
            " kill_switch_activated_at = ?, kill_switch_deactivated_at = ?, trading_state = ?,"
            " updated_at = ? WHERE id = 1",
            (
                int(k.engaged),
                k.by,
                k.reason,
                k.activated_at,
                k.deactivated_at,
                state.value,
                utc_iso(self._clock.now()),
            ),
        )

    def publish(self) -> None:
        """Stream the current snapshot (``trading_state`` topic) after a change elsewhere."""
        self._publish()

    def _publish(self) -> None:
        if self._bus is not None:
            self._bus.publish("trading_state", self.snapshot())
