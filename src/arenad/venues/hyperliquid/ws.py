"""The /ws websocket: one connection, up to 10 users' subscriptions, heartbeat, reconnect.

Hyperliquid closes a connection that has sent nothing for 60 s, so we ping every
``ping_interval_s`` (default 30). A connection carries at most 10 distinct users across its
user-specific subscriptions (userFills, userEvents, orderUpdates, ...); the caller spreads
more wallets over several connections or polls them. After every (re)connect the first
``userFills`` message of each user is a snapshot (``isSnapshot: true``); ``on_state(True)`` is the
caller's cue to backfill with ``userFillsByTime`` from its last stored fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from arenad.clock import Clock, SystemClock
from arenad.daemon.supervisor import backoff_delays

MAX_USERS_PER_CONNECTION = 10
USER_CHANNELS = {
    "userFills",
    "userEvents",
    "orderUpdates",
    "userFundings",
    "userNonFundingLedgerUpdates",
    "webData2",
    "notification",
    "activeAssetData",
}

MessageFn = Callable[[dict[str, Any]], Awaitable[None]]
StateFn = Callable[[bool, str], Awaitable[None]]

log = structlog.get_logger("arenad.hyperliquid")


class HyperliquidWS:
    def __init__(
        self,
        url: str,
        subscriptions: list[dict[str, Any]],
        on_message: MessageFn,
        *,
        on_state: StateFn | None = None,
        clock: Clock | None = None,
        ping_interval_s: float = 30.0,
        max_backoff_s: float = 60.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        users = {s["user"].lower() for s in subscriptions if s.get("type") in USER_CHANNELS}
        if len(users) > MAX_USERS_PER_CONNECTION:
            raise ValueError(
                f"{len(users)} users on one connection; Hyperliquid allows "
                f"{MAX_USERS_PER_CONNECTION}"
            )
        self.url = url
        self.subscriptions = subscriptions
        self._on_message = on_message
        self._on_state = on_state
        self._clock = clock or SystemClock()
        self._ping = ping_interval_s
        self._max_backoff = max_backoff_s
        self._open_timeout = open_timeout_s
        self._ws: ClientConnection | None = None
        self.connected = False
        self.connects = 0
        self.skipped = 0

    async def run(self) -> None:
        delays = backoff_delays(cap=self._max_backoff)
        while True:
            reason = "closed"
            try:
                async with asyncio.timeout(self._open_timeout):
                    ws = await connect(
                        self.url, max_size=1 << 24, open_timeout=None, ping_interval=None
                    )
                self._ws = ws
                pinger = asyncio.create_task(self._heartbeat(ws), name="hl-ws-ping")
                try:
                    for sub in self.subscriptions:
                        await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
                    self.connects += 1
                    self.connected = True
                    delays = backoff_delays(cap=self._max_backoff)
                    await self._state(True, "connected")
                    async for raw in ws:
                        await self._dispatch(raw)
                    reason = f"closed by server ({ws.close_code})"
                finally:
                    pinger.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pinger
                    self._ws = None
                    await ws.close()
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as e:
                reason = f"{type(e).__name__}: {e}"
            self.connected = False
            await self._state(False, reason)
            await self._clock.sleep(next(delays))

    async def drop(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _heartbeat(self, ws: ClientConnection) -> None:
        while True:
            await self._clock.sleep(self._ping)
            await ws.send(json.dumps({"method": "ping"}))

    async def _state(self, up: bool, detail: str) -> None:
        log.info(f"hyperliquid ws {'connected' if up else 'disconnected'}", detail=detail)
        if self._on_state is not None:
            await self._on_state(up, detail)

    async def _dispatch(self, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.skipped += 1
            log.warning("hyperliquid ws: frame is not JSON", frame=str(raw)[:120])
            return
        if not isinstance(msg, dict) or "channel" not in msg:
            self.skipped += 1
            log.warning("hyperliquid ws: frame without channel", frame=str(msg)[:120])
            return
        if msg["channel"] == "pong":
            return
        if msg["channel"] == "error":
            log.warning("hyperliquid ws: error frame", data=msg.get("data"))
        await self._on_message(msg)
