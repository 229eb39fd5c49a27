"""Alpaca's two websocket streams as reconnecting tasks of the daemon's loop.

- Trade updates (``/stream``): authenticate, listen to ``trade_updates``; the server sends JSON
  in *binary* frames. Events: new, partial_fill, fill, canceled, rejected, ...
- Market data (``/v2/iex``): ``[{"T":"success","msg":"connected"}]``, auth, subscribe; every
  frame is an array of messages whose ``T`` is t (trade), q (quote), b (bar), d (daily bar).
  We ask for JSON; the simulator and Alpaca also speak msgpack to alpaca-py.

Alpaca allows one connection per account per stream: a 406 "connection limit exceeded" is
retried with backoff (another process holds the stream) and reported through ``on_state``.
A rejected key is an OperationalError: retrying cannot fix it. Frames that do not parse are
counted and skipped; they never end the stream. After every reconnect, ``on_state(True)`` is
the consumer's cue to reconcile what it may have missed over REST.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection

from arenad.clock import Clock
from arenad.errors import OperationalError, SkipError, TemporaryError
from arenad.venues.reconnect import ReconnectingWebSocket

StateFn = Callable[[bool, str], Awaitable[None]]
MessageFn = Callable[[dict[str, Any]], Awaitable[None]]

log = structlog.get_logger("arenad.alpaca")


class _Stream(ReconnectingWebSocket):
    name = "stream"

    def __init__(
        self,
        url: str,
        key_id: str,
        secret_key: str,
        on_message: MessageFn,
        *,
        on_state: StateFn | None = None,
        clock: Clock | None = None,
        max_backoff_s: float = 60.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(
            url, clock=clock, max_backoff_s=max_backoff_s, open_timeout_s=open_timeout_s
        )
        self._key = key_id
        self._secret = secret_key
        self._on_message = on_message
        self._on_state = on_state

    async def _state(self, up: bool, detail: str) -> None:
        log.info(f"alpaca {self.name} {'connected' if up else 'disconnected'}", detail=detail)
        if self._on_state is not None:
            await self._on_state(up, detail)

    async def _dispatch(self, raw: str | bytes) -> None:
        try:
            for msg in self._parse(raw):
                await self._on_message(msg)
        except SkipError as e:
            self.skipped += 1
            log.warning(f"alpaca {self.name}: skipped a frame", error=str(e))

    def _parse(self, raw: str | bytes) -> Iterable[dict[str, Any]]:
        raise NotImplementedError


def _loads(raw: str | bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise SkipError(f"{what}: not JSON: {raw[:80]!r}") from e


class TradeUpdatesStream(_Stream):
    name = "trade updates"

    async def _handshake(self, ws: ClientConnection) -> None:
        # The form alpaca-py sends; Alpaca also accepts {"action": "auth", "key", "secret"}.
        await ws.send(
            json.dumps(
                {
                    "action": "authenticate",
                    "data": {"key_id": self._key, "secret_key": self._secret},
                }
            )
        )
        reply = _loads(await ws.recv(), "auth reply")
        data = reply.get("data", {}) if isinstance(reply, dict) else {}
        if data.get("status") != "authorized":
            raise OperationalError(f"alpaca trade updates: authentication refused: {reply}")
        await ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))

    def _parse(self, raw: str | bytes) -> Iterable[dict[str, Any]]:
        msg = _loads(raw, "trade update")
        if not isinstance(msg, dict):
            raise SkipError(f"trade update: expected an object, got {type(msg).__name__}")
        if msg.get("stream") != "trade_updates":
            return []  # listening acks and other control messages
        data = msg.get("data")
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("order"), dict)
            or "event" not in data
        ):
            raise SkipError(f"trade update without event/order: {str(msg)[:200]}")
        return [data]


class MarketDataStream(_Stream):
    name = "market data"

    def __init__(
        self,
        *args: Any,
        trades: Iterable[str] = (),
        quotes: Iterable[str] = (),
        bars: Iterable[str] = (),
        daily_bars: Iterable[str] = (),
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.subscriptions = {
            "trades": list(trades),
            "quotes": list(quotes),
            "bars": list(bars),
            "dailyBars": list(daily_bars),
        }

    async def _handshake(self, ws: ClientConnection) -> None:
        hello = _loads(await ws.recv(), "greeting")
        if not (isinstance(hello, list) and hello and hello[0].get("msg") == "connected"):
            raise TemporaryError(f"alpaca market data: unexpected greeting {hello}")
        await ws.send(json.dumps({"action": "auth", "key": self._key, "secret": self._secret}))
        reply = _loads(await ws.recv(), "auth reply")
        first = reply[0] if isinstance(reply, list) and reply else {}
        if first.get("T") == "error":
            code, text = first.get("code"), first.get("msg")
            if code in (406, 429):  # connection limit / too many attempts: another holder
                raise TemporaryError(f"alpaca market data: {code} {text}")
            raise OperationalError(f"alpaca market data: authentication refused: {code} {text}")
        if first.get("msg") != "authenticated":
            raise TemporaryError(f"alpaca market data: unexpected auth reply {reply}")
        subs = {k: v for k, v in self.subscriptions.items() if v}
        if subs:
            await ws.send(json.dumps({"action": "subscribe", **subs}))

    def _parse(self, raw: str | bytes) -> Iterable[dict[str, Any]]:
        msgs = _loads(raw, "market data")
        if not isinstance(msgs, list):
            raise SkipError(f"market data: expected an array, got {type(msgs).__name__}")
        out = []
        for m in msgs:
            if not isinstance(m, dict) or "T" not in m:
                raise SkipError(f"market data: message without T: {str(m)[:100]}")
            if m["T"] == "error":
                raise SkipError(f"market data error {m.get('code')}: {m.get('msg')}")
            if m["T"] in ("t", "q", "b", "d", "u"):
                out.append(m)
        return out
