"""Conformance of the simulated Alpaca with the official alpaca-py as the judge.

The SDK's REST clients are synchronous (requests), so they run in a worker thread while the
server runs on the test's loop; its streams are driven by their own `_run_forever()`
coroutines as tasks of the same loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream
from alpaca.data.models import Bar
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, TimeInForce
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import (
    GetCalendarRequest,
    GetOrderByIdRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)
from alpaca.trading.stream import TradingStream
from alpaca_support import MONDAY_10AM, alpaca_venue, wait_until


def trading(base: str) -> TradingClient:
    return TradingClient("PKSDK", "s3cret", paper=True, url_override=base)


async def test_account_orders_positions_clock_with_trading_client() -> None:
    async with alpaca_venue() as venue:
        tc = trading(venue.base)
        spy = venue.sim.broker.quote("SPY", venue.sim.now())

        def flow() -> dict[str, Any]:
            out: dict[str, Any] = {"account": tc.get_account()}
            out["market"] = tc.submit_order(
                MarketOrderRequest(
                    symbol="AAPL",
                    qty=10,
                    side=OrderSide.BUY,
                    time_in_force=TimeInForce.DAY,
                    client_order_id="arena-1",
                )
            )
            out["by_cid"] = tc.get_order_by_client_id("arena-1")
            out["by_id"] = tc.get_order_by_id(out["market"].id)
            with pytest.raises(APIError) as dup:
                tc.submit_order(
                    MarketOrderRequest(
                        symbol="AAPL",
                        qty=1,
                        side=OrderSide.BUY,
                        time_in_force=TimeInForce.DAY,
                        client_order_id="arena-1",
                    )
                )
            out["dup"] = dup.value
            out["bracket"] = tc.submit_order(
                MarketOrderRequest(
                    symbol="SPY",
                    qty=3,
                    side=OrderSide.BUY,
                    time_in_force=TimeInForce.GTC,
                    order_class=OrderClass.BRACKET,
                    take_profit=TakeProfitRequest(
                        limit_price=float(spy[1] * Decimal("1.05")).__round__(2)
                    ),
                    stop_loss=StopLossRequest(
                        stop_price=float(spy[0] * Decimal("0.95")).__round__(2)
                    ),
                )
            )
            out["bracket_now"] = tc.get_order_by_id(
                out["bracket"].id, GetOrderByIdRequest(nested=True)
            )
            out["positions"] = tc.get_all_positions()
            out["aapl"] = tc.get_open_position("AAPL")
            out["close"] = tc.close_position("AAPL")
            out["after_close"] = tc.get_all_positions()
            out["clock"] = tc.get_clock()
            out["calendar"] = tc.get_calendar(
                GetCalendarRequest(start=MONDAY_10AM.date(), end=MONDAY_10AM.date() + timedelta(7))
            )
            out["account_after"] = tc.get_account()
            return out

        r = await asyncio.to_thread(flow)

    acct = r["account"]
    assert acct.cash == "100000" and acct.equity == "100000" and acct.buying_power == "200000"
    assert acct.status == "ACTIVE"
    market = r["market"]
    assert market.client_order_id == "arena-1" and market.symbol == "AAPL"
    assert market.status == OrderStatus.NEW and market.filled_qty == "0"  # as POSTed
    assert r["by_cid"].id == market.id and r["by_cid"].status == OrderStatus.FILLED
    assert r["by_id"].filled_qty == "10" and Decimal(r["by_id"].filled_avg_price) > 0
    dup = r["dup"]
    assert dup.status_code == 422
    assert (dup.code, dup.message) == (40010001, "client_order_id must be unique")
    bracket = r["bracket"]
    assert bracket.order_class == OrderClass.BRACKET and len(bracket.legs) == 2
    assert {leg.status for leg in bracket.legs} == {OrderStatus.HELD}
    now = r["bracket_now"]
    assert now.status == OrderStatus.FILLED
    assert {leg.status for leg in now.legs} == {OrderStatus.NEW}
    assert {leg.order_type.value for leg in now.legs} == {"limit", "stop"}
    assert {p.symbol: p.qty for p in r["positions"]} == {"AAPL": "10", "SPY": "3"}
    assert r["aapl"].side.value == "long" and r["aapl"].qty_available == "10"
    assert r["close"].side == OrderSide.SELL and r["close"].qty == "10"
    assert [p.symbol for p in r["after_close"]] == ["SPY"]
    clock = r["clock"]
    assert clock.is_open is True
    assert [c.date.isoformat() for c in r["calendar"]][:2] == ["2025-01-06", "2025-01-07"]
    # Bought and sold AAPL across the spread, bought SPY: equity = cash + SPY value.
    after = r["account_after"]
    assert Decimal(after.cash) < Decimal(100_000)
    assert Decimal(after.long_market_value) > 0


async def test_insufficient_buying_power_is_api_error_403() -> None:
    async with alpaca_venue() as venue:
        tc = trading(venue.base)

        def too_big() -> APIError:
            with pytest.raises(APIError) as e:
                tc.submit_order(
                    LimitOrderRequest(
                        symbol="MSFT",
                        qty=1000,
                        limit_price=400,
                        side=OrderSide.BUY,
                        time_in_force=TimeInForce.DAY,
                    )
                )
            return e.value

        err = await asyncio.to_thread(too_big)
    assert err.status_code == 403
    assert err.message == "insufficient buying power"


async def test_trading_stream_receives_the_fill_of_its_order() -> None:
    async with alpaca_venue() as venue:
        stream = TradingStream("PKSDK", "s3cret", paper=True, url_override=venue.ws + "/stream")
        updates: list[TradeUpdate] = []
        filled = asyncio.Event()

        async def on_update(update: TradeUpdate) -> None:
            updates.append(update)
            if update.event == "fill":
                filled.set()

        stream.subscribe_trade_updates(on_update)
        task = asyncio.create_task(stream._run_forever())
        try:
            await wait_until(
                lambda: any(c.listening for c in venue.sim.trade_conns), "the stream to listen"
            )
            order = await asyncio.to_thread(
                trading(venue.base).submit_order,
                MarketOrderRequest(
                    symbol="NVDA", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
                ),
            )
            await asyncio.wait_for(filled.wait(), 10)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await stream.close()
    assert [u.event for u in updates] == ["new", "fill"]
    fill = updates[-1]
    assert fill.order.id == order.id and fill.order.status == OrderStatus.FILLED
    assert fill.qty == 5 and fill.position_qty == 5 and fill.price is not None
    assert fill.execution_id is not None


async def test_stock_data_stream_receives_bars_over_msgpack() -> None:
    async with alpaca_venue() as venue:
        stream = StockDataStream("PKSDK", "s3cret", url_override=venue.ws + "/v2/iex")
        bars: list[Bar] = []
        got = asyncio.Event()

        async def on_bar(bar: Bar) -> None:
            bars.append(bar)
            if len(bars) >= 2:
                got.set()

        stream.subscribe_bars(on_bar, "SPY", "TSLA")
        task = asyncio.create_task(stream._run_forever())
        try:
            await wait_until(
                lambda: any(c.subs["bars"] for c in venue.sim.data_conns), "the subscription"
            )
            conn = next(iter(venue.sim.data_conns))
            assert conn.use_msgpack  # alpaca-py asked for msgpack
            await venue.step(60)
            await asyncio.wait_for(got.wait(), 10)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await stream.close()
    assert {b.symbol for b in bars} == {"SPY", "TSLA"}
    spy = next(b for b in bars if b.symbol == "SPY")
    assert spy.timestamp == MONDAY_10AM  # the minute that just ended, a real datetime
    assert spy.low <= min(spy.open, spy.close) <= max(spy.open, spy.close) <= spy.high
    assert spy.volume > 0 and spy.vwap is not None


async def test_historical_client_follows_several_pages() -> None:
    async with alpaca_venue(always_open=False) as venue:
        client = StockHistoricalDataClient("PKSDK", "s3cret", url_override=venue.base)
        req = StockBarsRequest(
            symbol_or_symbols=["AAPL", "MSFT", "SPY"],
            timeframe=TimeFrame.Minute,
            start=datetime(2024, 12, 2, 5, 0, tzinfo=UTC),  # midnight New York
            end=MONDAY_10AM,
        )
        barset = await asyncio.to_thread(client.get_stock_bars, req)
        pages = venue.sim.requests["data"]
    # 22 full sessions, the Dec 24 early close (210 min) and Jan 6 up to 10:00 (30 min);
    # no bars on Dec 25 or Jan 1, nor at night or on weekends.
    per_symbol = 22 * 390 + 210 + 30
    assert {s: len(b) for s, b in barset.data.items()} == dict.fromkeys(
        ["AAPL", "MSFT", "SPY"], per_symbol
    )
    assert pages == -(-3 * per_symbol // 10_000) == 3  # alpaca-py followed next_page_token
    for bars in barset.data.values():
        stamps = [b.timestamp for b in bars]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert stamps[-1] == MONDAY_10AM - timedelta(minutes=1)
        assert all(b.low <= min(b.open, b.close) and max(b.open, b.close) <= b.high for b in bars)
    # Consecutive minute bars chain: each opens where the previous one closed.
    spy = barset.data["SPY"]
    assert spy[1].open == spy[0].close
