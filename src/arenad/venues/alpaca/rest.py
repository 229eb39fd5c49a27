"""Async Alpaca REST client.

Rate limits: Alpaca allows 200 requests a minute per account and answers 429 past that, with
``X-Ratelimit-Limit/Remaining/Reset`` on every response. We pace ourselves with a sliding window
*and* honour what the server says (Retry-After, or Reset when Remaining hits 0), so a second
process on the same keys cannot push us into a 429 storm.

Errors are converted here, typed by what the caller should do: 429/5xx/network →
TemporaryError (retried here first, within ``max_retries``); 422 and 403-insufficient-funds →
OrderRejected (this order is refused; nothing to retry); 401/other 403 → OperationalError (the
keys are wrong: stop).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from alpaca.trading.models import Calendar, Clock, Order, Position, TradeAccount

from arenad.clock import Clock as TimeSource
from arenad.clock import SystemClock
from arenad.errors import OperationalError, OrderRejected, TemporaryError


class DuplicateClientOrderId(OrderRejected):
    """The venue already has an order with this client_order_id (a replayed cause)."""


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """What we ask Alpaca to do; ``client_order_id`` is derived from the cause, never random."""

    symbol: str
    qty: Decimal
    side: str  # "buy" | "sell"
    client_order_id: str
    type: str = "market"  # market | limit | stop | stop_limit
    time_in_force: str = "day"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    take_profit: Decimal | None = None  # bracket legs
    stop_loss: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "symbol": self.symbol,
            "qty": str(self.qty),
            "side": self.side,
            "type": self.type,
            "time_in_force": self.time_in_force,
            "client_order_id": self.client_order_id,
        }
        if self.limit_price is not None:
            body["limit_price"] = str(self.limit_price)
        if self.stop_price is not None:
            body["stop_price"] = str(self.stop_price)
        if self.take_profit is not None or self.stop_loss is not None:
            body["order_class"] = "bracket"
            if self.take_profit is not None:
                body["take_profit"] = {"limit_price": str(self.take_profit)}
            if self.stop_loss is not None:
                body["stop_loss"] = {"stop_price": str(self.stop_loss)}
        return body


class AlpacaREST:
    def __init__(
        self,
        trading_url: str,
        data_url: str,
        key_id: str,
        secret_key: str,
        *,
        clock: TimeSource | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
        max_retries: int = 4,
        requests_per_minute: int = 200,
    ) -> None:
        headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key}
        self._trading = httpx.AsyncClient(
            base_url=trading_url.rstrip("/"),
            headers=headers,
            transport=transport,
            timeout=timeout_s,
        )
        self._data = httpx.AsyncClient(
            base_url=data_url.rstrip("/"), headers=headers, transport=transport, timeout=timeout_s
        )
        self._clock = clock or SystemClock()
        self._timeout_s = timeout_s
        self.max_retries = max_retries
        self._rpm = requests_per_minute
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self.last_ratelimit: dict[str, str] = {}

    async def close(self) -> None:
        await self._trading.aclose()
        await self._data.aclose()

    # --- pacing and retries -------------------------------------------------------------

    async def _pace(self) -> None:
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                while self._sent and now - self._sent[0] >= 60:
                    self._sent.popleft()
                wait = self._blocked_until - now
                if len(self._sent) >= self._rpm:
                    wait = max(wait, 60 - (now - self._sent[0]))
                if wait <= 0:
                    self._sent.append(now)
                    return
                await self._clock.sleep(wait)

    def _server_wait(self, resp: httpx.Response) -> float | None:
        """Seconds the server asks us to wait, from Retry-After or X-Ratelimit-Reset."""
        ra = resp.headers.get("Retry-After")
        if ra:
            try:
                return max(0.0, float(ra))
            except ValueError:
                try:
                    return max(0.0, (parsedate_to_datetime(ra) - self._clock.now()).total_seconds())
                except (TypeError, ValueError):
                    pass
        reset = resp.headers.get("X-Ratelimit-Reset")
        if reset and reset.isdigit():
            return max(0.0, int(reset) - self._clock.now().timestamp())
        return None

    async def _request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        allow_404: bool = False,
    ) -> Any:
        delay = 0.5
        for attempt in range(self.max_retries + 1):
            await self._pace()
            try:
                async with asyncio.timeout(self._timeout_s + 1):
                    resp = await client.request(method, path, params=params, json=json)
            except (httpx.TransportError, TimeoutError) as e:
                err: TemporaryError = TemporaryError(
                    f"alpaca {method} {path}: {type(e).__name__}: {e}"
                )
                err.__cause__ = e
            else:
                self.last_ratelimit = {
                    k: v for k, v in resp.headers.items() if k.lower().startswith("x-ratelimit")
                }
                exhausted = resp.headers.get("X-Ratelimit-Remaining") == "0"
                if exhausted and (w := self._server_wait(resp)) is not None:
                    self._blocked_until = self._clock.monotonic() + w
                if resp.status_code < 400:
                    return resp.json() if resp.content else None
                if resp.status_code == 404 and allow_404:
                    return None
                wait = self._server_wait(resp)
                if resp.status_code == 429 or resp.status_code >= 500:
                    err = TemporaryError(
                        f"alpaca {method} {path}: HTTP {resp.status_code} {_message(resp)}",
                        retry_after=wait,
                    )
                    if resp.status_code == 429 and wait is not None:
                        self._blocked_until = self._clock.monotonic() + wait
                else:
                    raise _client_error(method, path, resp)
            if attempt == self.max_retries:
                raise err
            sleep = (
                err.retry_after if err.retry_after is not None else delay * random.uniform(0.5, 1.0)
            )
            await self._clock.sleep(sleep)
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    # --- trading API ------------------------------------------------------------------

    async def account(self) -> TradeAccount:
        return TradeAccount(**await self._request(self._trading, "GET", "/v2/account"))

    async def submit_order(self, spec: OrderSpec) -> Order:
        return Order(
            **await self._request(self._trading, "POST", "/v2/orders", json=spec.to_json())
        )

    async def order_by_client_id(self, client_order_id: str) -> Order | None:
        raw = await self._request(
            self._trading,
            "GET",
            "/v2/orders:by_client_order_id",
            params={"client_order_id": client_order_id},
            allow_404=True,
        )
        return Order(**raw) if raw else None

    async def orders(self, status: str = "open", limit: int = 500) -> list[Order]:
        raw = await self._request(
            self._trading,
            "GET",
            "/v2/orders",
            params={"status": status, "limit": limit, "nested": "true"},
        )
        return [Order(**o) for o in raw]

    async def cancel_order(self, order_id: str) -> None:
        await self._request(self._trading, "DELETE", f"/v2/orders/{order_id}", allow_404=True)

    async def positions(self) -> list[Position]:
        return [Position(**p) for p in await self._request(self._trading, "GET", "/v2/positions")]

    async def close_position(self, symbol: str) -> Order | None:
        raw = await self._request(
            self._trading, "DELETE", f"/v2/positions/{symbol}", allow_404=True
        )
        return Order(**raw) if raw else None

    async def clock(self) -> Clock:
        return Clock(**await self._request(self._trading, "GET", "/v2/clock"))

    async def calendar(self, start: date, end: date) -> list[Calendar]:
        raw = await self._request(
            self._trading,
            "GET",
            "/v2/calendar",
            params={"start": start.isoformat(), "end": end.isoformat()},
        )
        return [Calendar(**c) for c in raw]

    # --- market data ------------------------------------------------------------------

    async def bars(
        self,
        symbols: list[str],
        timeframe: str,
        start: datetime,
        end: datetime | None = None,
        *,
        feed: str = "iex",
        page_limit: int = 10_000,
        max_pages: int = 1_000,
    ) -> dict[str, list[dict[str, Any]]]:
        """Historical bars of several symbols, following ``next_page_token`` to the end."""
        params: dict[str, Any] = {
            "symbols": ",".join(symbols),
            "timeframe": timeframe,
            "start": start.isoformat().replace("+00:00", "Z"),
            "limit": page_limit,
            "feed": feed,
        }
        if end is not None:
            params["end"] = end.isoformat().replace("+00:00", "Z")
        out: dict[str, list[dict[str, Any]]] = {s: [] for s in symbols}
        for _ in range(max_pages):
            page = await self._request(self._data, "GET", "/v2/stocks/bars", params=params)
            for sym, bars in (page.get("bars") or {}).items():
                out.setdefault(sym, []).extend(bars)
            token = page.get("next_page_token")
            if not token:
                return out
            params["page_token"] = token
        raise TemporaryError(f"alpaca bars: more than {max_pages} pages; narrow the range")


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body)
    return str(body)[:200]


def _client_error(method: str, path: str, resp: httpx.Response) -> Exception:
    msg = _message(resp)
    text = f"alpaca {method} {path}: HTTP {resp.status_code} {msg}"
    if resp.status_code == 422 and "client_order_id" in msg:
        return DuplicateClientOrderId(text)
    if resp.status_code in (403, 422) and (
        resp.status_code == 422 or "buying power" in msg or "insufficient" in msg
    ):
        return OrderRejected(text)
    if resp.status_code in (401, 403):
        return OperationalError(text + " (check the API keys and the account)")
    if resp.status_code == 400:
        return OrderRejected(text)
    return OperationalError(text)
