"""The arena on Alpaca: market data and order execution through the project's Alpaca adapter
(:mod:`arenad.venues.alpaca`), against the simulator or Alpaca's paper API.

Orders carry the arena's deterministic client order id; their fills come back over the
trade-updates stream (:func:`order_result` turns an update's order into an
:class:`~arenad.arena.executor.OrderResult`), and a lost answer is recovered by looking the
order up by client order id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from arenad.arena.calendar import TableCalendar
from arenad.arena.executor import OrderRequest, OrderResult
from arenad.arena.market import Bar
from arenad.arena.settings import ArenaSettings
from arenad.clock import Clock, SystemClock
from arenad.errors import OrderRejected, SkipError
from arenad.venues.alpaca.rest import AlpacaREST, DuplicateClientOrderId, OrderSpec

log = structlog.get_logger("arenad.arena")

PAPER_TRADING = "https://paper-api.alpaca.markets"
PAPER_DATA = "https://data.alpaca.markets"
PAPER_TRADE_STREAM = "wss://paper-api.alpaca.markets/stream"
DATA_STREAM = "wss://stream.data.alpaca.markets/v2"


@dataclass(frozen=True, slots=True)
class VenueUrls:
    trading: str
    data: str
    trade_stream: str
    data_stream: str


def venue_urls(arena: ArenaSettings, sim_host: str, sim_alpaca_port: int) -> VenueUrls:
    """Where the arena's Alpaca is: the simulator (one port for everything) or paper."""
    if arena.venue == "simulator":
        base = f"http://{sim_host}:{sim_alpaca_port}"
        ws = base.replace("http://", "ws://")
        d = VenueUrls(base, base, f"{ws}/stream", f"{ws}/v2/{arena.data_feed}")
    else:
        d = VenueUrls(
            PAPER_TRADING, PAPER_DATA, PAPER_TRADE_STREAM, f"{DATA_STREAM}/{arena.data_feed}"
        )
    return VenueUrls(
        arena.trading_url or d.trading,
        arena.data_url or d.data,
        arena.trade_stream_url or d.trade_stream,
        arena.data_stream_url or d.data_stream,
    )


class AlpacaMarketData:
    """The newest bars per symbol over REST (paged by the adapter)."""

    def __init__(
        self, rest: AlpacaREST, timeframe: str, *, feed: str = "iex", clock: Clock | None = None
    ) -> None:
        self.rest = rest
        self.timeframe = timeframe
        self.feed = feed
        self.clock = clock or SystemClock()
        self.skipped = 0

    def _span(self, limit: int) -> timedelta:
        # Calendar time that holds `limit` bars with weekends and holidays: ~252 sessions a
        # year for days, ~7 bars a session for hours.
        if self.timeframe == "1Hour":
            return timedelta(days=limit // 6 * 7 // 5 + 7)
        return timedelta(days=limit * 7 // 5 + 14)

    async def bars(self, symbols: Sequence[str], limit: int) -> dict[str, list[Bar]]:
        start = self.clock.now() - self._span(limit)
        raw = await self.rest.bars(list(symbols), self.timeframe, start, feed=self.feed)
        out: dict[str, list[Bar]] = {}
        for sym in symbols:
            parsed = []
            for b in raw.get(sym, []):
                try:
                    parsed.append(Bar.from_alpaca(b))
                except SkipError as e:
                    self.skipped += 1
                    log.warning("arena: bad bar skipped", symbol=sym, error=str(e))
            parsed.sort(key=lambda b: b.t)
            out[sym] = parsed[-limit:]
        return out


def _dec(v: Any) -> Decimal | None:
    if v is None or v == "":
        return None
    return Decimal(str(v))


def _status(v: Any) -> str:
    return str(getattr(v, "value", v))


def order_result(order: Any) -> OrderResult:
    """From an alpaca-py ``Order`` or the ``order`` object of a trade update."""

    def get(key: str) -> Any:
        return order.get(key) if isinstance(order, Mapping) else getattr(order, key, None)

    filled_at = get("filled_at")
    if isinstance(filled_at, str):
        filled_at = datetime.fromisoformat(filled_at.replace("Z", "+00:00"))
    return OrderResult(
        _status(get("status")),
        venue_order_id=str(get("id")) if get("id") is not None else None,
        filled_qty=_dec(get("filled_qty")) or Decimal(0),
        filled_avg_price=_dec(get("filled_avg_price")),
        filled_at=filled_at,
    )


class AlpacaExecutor:
    def __init__(self, rest: AlpacaREST, *, time_in_force: str = "day") -> None:
        self.rest = rest
        self.time_in_force = time_in_force

    async def submit(self, req: OrderRequest) -> OrderResult:
        spec = OrderSpec(
            req.symbol,
            req.qty,
            req.side,
            req.client_order_id,
            type="limit" if req.limit_price is not None else "market",
            time_in_force=self.time_in_force,
            limit_price=req.limit_price,
        )
        try:
            return order_result(await self.rest.submit_order(spec))
        except DuplicateClientOrderId:
            # Sent before (a crash between sending and recording): adopt the venue's order.
            found = await self.lookup(req.client_order_id)
            return found or OrderResult("duplicate", error="client_order_id already used")
        except OrderRejected as e:
            return OrderResult("rejected", error=str(e))

    async def lookup(self, client_order_id: str) -> OrderResult | None:
        order = await self.rest.order_by_client_id(client_order_id)
        return None if order is None else order_result(order)

    async def positions(self) -> dict[str, Decimal]:
        return {p.symbol: Decimal(str(p.qty)) for p in await self.rest.positions()}


async def venue_calendar(rest: AlpacaREST, today: date, days: int = 60) -> TableCalendar:
    """The venue's sessions around today (the built-in table outside them)."""
    rows = await rest.calendar(today - timedelta(days=7), today + timedelta(days=days))
    return TableCalendar.from_alpaca(rows)
