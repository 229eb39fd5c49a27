"""The /ws websocket: one connection, up to 10 users' subscriptions, heartbeat, reconnect.

Hyperliquid closes a connection that has sent nothing for 60 s, so we ping every
``ping_interval_s`` (default 30). A connection carries at most 10 distinct users across its
user-specific subscriptions (userFills, userEvents, orderUpdates, ...); the caller spreads
more wallets over several connections or polls them. After every (re)connect the first
``userFills`` message of each user is a snapshot (``isSnapshot: true``); ``on_state(True)`` is the
caller's cue to backfill with ``userFillsByTime`` from its last stored fill.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection

from arenad.clock import Clock
from arenad.venues.reconnect import ReconnectingWebSocket

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
FailedFn = Callable[[str], Awaitable[None]]

log = structlog.get_logger("arenad.hyperliquid")


class HyperliquidWS(ReconnectingWebSocket):
    name = "hyperliquid ws"

    def __init__(
        self,
        url: str,
        subscriptions: list[dict[str, Any]],
        on_message: MessageFn,
        *,
        on_state: StateFn | None = None,
        on_connect_failed: FailedFn | None = None,
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
        # Hyperliquid wants its own {"method": "ping"}, not protocol pings.
        super().__init__(
            url,
            clock=clock,
            max_backoff_s=max_backoff_s,
            open_timeout_s=open_timeout_s,
            protocol_pings=False,
        )
        self.subscriptions = subscriptions
        self._on_message = on_message
        self._on_state = on_state
        self._on_connect_failed = on_connect_failed
        self._ping = ping_interval_s

    async def _handshake(self, ws: ClientConnection) -> None:
        for sub in self.subscriptions:
            await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))

    async def _heartbeat(self, ws: ClientConnection) -> None:
        while True:
            await self._clock.sleep(self._ping)
            await ws.send(json.dumps({"method": "ping"}))

    async def _state(self, up: bool, detail: str) -> None:
        log.info(f"hyperliquid ws {'connected' if up else 'disconnected'}", detail=detail)
        if self._on_state is not None:
            await self._on_state(up, detail)

    async def _connect_failed(self, detail: str) -> None:
        if self._on_connect_failed is not None:
            await self._on_connect_failed(detail)

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
