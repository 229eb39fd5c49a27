"""Bot-fill ingest: websocket for up to 10 wallets, polling beyond, backfill on every connect.

Hyperliquid lets one IP track at most 10 distinct users across its user subscriptions, so
the first ``max_ws_users`` wallets (10, less any slots reserved for our own account's
orderUpdates/userEvents) share one websocket and the rest are polled with
``userFillsByTime`` — visibly, in the connection status.

Delivery is at-least-once: a fill may arrive in the connect snapshot, live, in the backfill
after a reconnect, or from a poll. The consumer dedupes on ``(hash, tid)``. Calls to
``on_fills`` never overlap (one lock), so the consumer sees one fill batch at a time.

Temporary venue errors (refused connects, timeouts, 5xx, 429, a websocket that cannot connect)
are waited out: each is reported to the venue monitor (``arenad.guards.venue``) and retried
with jittered backoff, without limit. A few in a row are an outage: trading on the venue is
held, and only an outage longer than its grace engages the kill switch. A websocket that drops
and reconnects is not one: its fills are backfilled on the connect, trading goes on. Once the
venue answers again, every wallet is backfilled; the hold is released only when that catch-up
ran through without a new failure (and the fade then re-targets its books).

A gap is reported only when it is provably unrecoverable: the venue refuses the request (4xx),
paging cannot get past a millisecond, or the venue keeps answering something that is not a
fill list (``backfill_attempts`` times in a row). ``on_gap`` is called with the reason (the
fade engages the kill switch), and the backfill is retried at the next connect or poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import structlog

from arenad.clock import Clock, SystemClock
from arenad.errors import OperationalError, SkipError, TemporaryError
from arenad.guards.venue import VenueMonitor
from arenad.venues.hyperliquid.info import HyperliquidInfo
from arenad.venues.hyperliquid.ws import MAX_USERS_PER_CONNECTION, HyperliquidWS

Source = Literal["snapshot", "live", "backfill", "poll"]
FillsFn = Callable[[str, list[dict[str, Any]], Source], Awaitable[None]]
LastFillFn = Callable[[str], Awaitable[int | None]]
GapFn = Callable[[str, str], Awaitable[None]]
ConnFn = Callable[[bool, dict[str, Any]], Awaitable[None]]

log = structlog.get_logger("arenad.fade.ingest")


class FillIngest:
    def __init__(
        self,
        *,
        info: HyperliquidInfo,
        ws_url: str,
        wallets: list[str],
        on_fills: FillsFn,
        last_fill_ms: LastFillFn,
        on_gap: GapFn,
        on_connection: ConnFn | None = None,
        clock: Clock | None = None,
        reserved_users: int = 0,
        max_ws_users: int = MAX_USERS_PER_CONNECTION,
        poll_interval_s: float = 5.0,
        backfill_attempts: int = 4,
        lookback_ms: int = 24 * 3600 * 1000,
        ping_interval_s: float = 30.0,
        max_backoff_s: float = 60.0,
        venue: VenueMonitor | None = None,
    ) -> None:
        wallets = list(dict.fromkeys(w.lower() for w in wallets))
        slots = max(0, max_ws_users - reserved_users)
        self.ws_wallets = wallets[:slots]
        self.polled_wallets = wallets[slots:]
        self._info = info
        self._ws_url = ws_url
        self._on_fills = on_fills
        self._last_fill_ms = last_fill_ms
        self._on_gap = on_gap
        self._on_connection = on_connection
        self._clock = clock or SystemClock()
        self._poll_interval = poll_interval_s
        self._backfill_attempts = backfill_attempts
        self._lookback_ms = lookback_ms
        self._ping = ping_interval_s
        self._max_backoff = max_backoff_s
        self._lock = asyncio.Lock()
        self.venue = venue or VenueMonitor(
            "hyperliquid", clock=self._clock, max_backoff_s=lambda: max_backoff_s
        )
        self.ws: HyperliquidWS | None = None
        self.delivered = {"snapshot": 0, "live": 0, "backfill": 0, "poll": 0}
        self.gaps: dict[str, str] = {}
        # Wallet → monotonic time its last backfill (or poll) completed since the last
        # connect: until then its fills may be missing (bot-position checks wait for it).
        self.synced_at: dict[str, float] = {}
        self._tg: asyncio.TaskGroup | None = None

    def status(self) -> dict[str, Any]:
        return {
            "mode": "websocket"
            if not self.polled_wallets
            else ("polling" if not self.ws_wallets else "websocket+polling"),
            "ws_wallets": self.ws_wallets,
            "polled_wallets": self.polled_wallets,
            "ws_connected": bool(self.ws and self.ws.connected),
            "delivered": dict(self.delivered),
            "gaps": dict(self.gaps),
            "venue": self.venue.snapshot(),
        }

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            if self.ws_wallets:
                self.ws = HyperliquidWS(
                    self._ws_url,
                    [{"type": "userFills", "user": w} for w in self.ws_wallets],
                    self._on_ws_message,
                    on_state=self._on_ws_state,
                    on_connect_failed=self._on_ws_connect_failed,
                    clock=self._clock,
                    ping_interval_s=self._ping,
                    max_backoff_s=self._max_backoff,
                )
                tg.create_task(self.ws.run(), name="fade-ingest-ws")
            if self.polled_wallets:
                if self.ws_wallets:
                    log.warning(
                        "more bot wallets than Hyperliquid's per-IP websocket user limit; "
                        "polling the rest",
                        polled=self.polled_wallets,
                    )
                tg.create_task(self._poll_loop(), name="fade-ingest-poll")
            tg.create_task(self._recover(), name="fade-ingest-recover")
            if not self.ws_wallets:
                await self._connection(True)

    async def _deliver(self, wallet: str, fills: list[dict[str, Any]], source: Source) -> None:
        if not fills and source in ("backfill", "poll"):
            return
        async with self._lock:
            await self._on_fills(wallet, fills, source)
        self.delivered[source] += len(fills)

    async def _on_ws_message(self, msg: dict[str, Any]) -> None:
        channel = msg.get("channel")
        if channel == "userFills":
            data = msg.get("data")
            if not isinstance(data, dict) or not isinstance(data.get("fills"), list):
                log.warning("userFills frame without fills", frame=str(msg)[:200])
                return
            user = str(data.get("user", "")).lower()
            if user not in self.ws_wallets:
                log.warning("userFills for a wallet we did not subscribe", user=user)
                return
            await self._deliver(
                user, data["fills"], "snapshot" if data.get("isSnapshot") else "live"
            )
        elif channel == "error":
            await self._connection(False, error=str(msg.get("data"))[:300])

    async def _on_ws_state(self, up: bool, detail: str) -> None:
        for w in self.ws_wallets:
            self.synced_at.pop(w, None)
        await self._connection(up, detail=detail)
        if up:
            self.venue.answered("websocket")
            # Backfill in a task: the websocket keeps reading meanwhile (the lock keeps the
            # consumer's view serial), and a slow backfill does not hold live fills back. In
            # the ingest's task group, so what it raises (a storage failure) ends the ingest.
            assert self._tg is not None
            self._tg.create_task(self._backfill_all(self.ws_wallets), name="fade-backfill")

    async def _on_ws_connect_failed(self, detail: str) -> None:
        # A drop that reconnects is no outage; a websocket that cannot connect may be one.
        await self.venue.failed("websocket", f"cannot connect: {detail}")

    async def _connection(self, up: bool, **detail: Any) -> None:
        if self._on_connection is not None:
            await self._on_connection(up, {**self.status(), **detail})

    async def _backfill_all(self, wallets: list[str]) -> None:
        for w in wallets:
            await self._backfill(w, "backfill")

    async def _since(self, wallet: str) -> int:
        last = await self._last_fill_ms(wallet)
        if last is None:
            return int(self._clock.now().timestamp() * 1000) - self._lookback_ms
        return last

    async def _backfill(self, wallet: str, source: Source) -> bool:
        """Fetch and deliver ``wallet``'s fills since the last stored one. Temporary errors are
        retried until the venue answers; False (and ``on_gap``) only for a gap that retrying
        cannot close."""
        delays = self.venue.backoff()
        bad_answers = 0
        while True:
            try:
                fills = await self._info.fills_since(wallet, await self._since(wallet))
            except TemporaryError as e:
                await self.venue.failed("fills", f"{source} of {wallet}: {e}")
                await self._clock.sleep(next(delays))
                continue
            except SkipError as e:
                bad_answers += 1
                reason = str(e)
                if bad_answers < self._backfill_attempts:
                    await self._clock.sleep(next(delays))
                    continue
            except OperationalError as e:
                reason = str(e)
            else:
                self.venue.answered("fills")
                self.gaps.pop(wallet, None)
                await self._deliver(wallet, fills, source)
                self.synced_at[wallet] = self._clock.monotonic()
                return True
            self.gaps[wallet] = reason
            await self._on_gap(wallet, f"cannot backfill fills of {wallet}: {reason}")
            return False

    async def _recover(self) -> None:
        """While the venue is held: once it answers again (and the websocket, if any, is back),
        backfill every wallet (each retried until it answers); release the hold when that ran
        through on one unbroken websocket connection."""
        while True:
            if not self.venue.waiting:
                await self.venue.wait_change()
                continue
            delays = self.venue.backoff()
            while self.venue.waiting:
                ws = self.ws
                if self.ws_wallets and not (ws and ws.connected):
                    await self._clock.sleep(next(delays))
                    continue
                connects = ws.connects if ws else 0
                caught_up = True
                for w in self.ws_wallets + self.polled_wallets:
                    caught_up = await self._backfill(w, "backfill") and caught_up
                if not self.ws_wallets or (ws and ws.connected and ws.connects == connects):
                    # A gap (caught_up False) has engaged the kill switch: not an outage.
                    await self.venue.up("backfill caught up" if caught_up else "venue answers")
                else:
                    await self._clock.sleep(next(delays))

    async def _poll_loop(self) -> None:
        while True:
            for w in self.polled_wallets:
                await self._backfill(w, "poll")
            await self._clock.sleep(self._poll_interval)
