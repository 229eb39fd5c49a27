"""The Alpaca adapter against the simulated Alpaca on loopback: REST, trade updates, bars."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arenad.errors import OperationalError
from arenad.venues.alpaca.rest import AlpacaREST, DuplicateClientOrderId, OrderSpec
from arenad.venues.alpaca.streams import MarketDataStream, TradeUpdatesStream
from fixtures_sim import poll_until


def rest(sim, key: str = "PKTEST1") -> AlpacaREST:  # type: ignore[no-untyped-def]
    return AlpacaREST(sim.alpaca_url, sim.alpaca_url, key, "secret-" + key)


async def test_order_fill_reaches_the_trade_updates_stream(sim_server) -> None:  # type: ignore[no-untyped-def]
    ws_url = sim_server.alpaca_url.replace("http", "ws") + "/stream"
    updates: list[dict[str, Any]] = []
    states: list[bool] = []

    async def on_update(m: dict[str, Any]) -> None:
        updates.append(m)

    async def on_state(up: bool, _detail: str) -> None:
        states.append(up)

    stream = TradeUpdatesStream(
        ws_url, "PKTEST1", "secret-PKTEST1", on_update, on_state=on_state, max_backoff_s=0.2
    )
    task = asyncio.create_task(stream.run())
    c = rest(sim_server)
    try:
        await poll_until(lambda: stream.connected, what="trade stream connected")
        account = await c.account()
        assert Decimal(str(account.cash)) == Decimal("100000")
        order = await c.submit_order(OrderSpec("AAPL", Decimal(2), "buy", "arena-slot1-m1-AAPL"))
        assert order.client_order_id == "arena-slot1-m1-AAPL"
        await poll_until(lambda: any(u["event"] == "fill" for u in updates), what="fill event")
        fill = next(u for u in updates if u["event"] == "fill")
        assert fill["order"]["client_order_id"] == "arena-slot1-m1-AAPL"
        with pytest.raises(DuplicateClientOrderId):
            await c.submit_order(OrderSpec("AAPL", Decimal(2), "buy", "arena-slot1-m1-AAPL"))
        found = await c.order_by_client_id("arena-slot1-m1-AAPL")
        assert found is not None and found.status.value == "filled"
        assert await c.order_by_client_id("never-sent") is None
        positions = {p.symbol: p for p in await c.positions()}
        assert Decimal(str(positions["AAPL"].qty)) == 2
        await stream.drop()  # the client reconnects by itself
        await poll_until(lambda: stream.connects >= 2 and stream.connected, what="reconnect")
        assert states[:3] == [True, False, True]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await c.close()


async def test_bad_keys_stop_the_stream_with_an_operational_error(sim_server) -> None:  # type: ignore[no-untyped-def]
    url = sim_server.alpaca_url.replace("http", "ws") + "/v2/iex"

    async def ignore(_m: dict[str, Any]) -> None:
        return None

    stream = MarketDataStream(url, "", "", ignore, bars=["SPY"])
    with pytest.raises(OperationalError, match="authentication refused"):
        await asyncio.wait_for(stream.run(), 10)


@pytest.mark.live_market
async def test_market_data_bars_and_paged_history(sim_server) -> None:  # type: ignore[no-untyped-def]
    url = sim_server.alpaca_url.replace("http", "ws") + "/v2/iex"
    msgs: list[dict[str, Any]] = []

    async def on_msg(m: dict[str, Any]) -> None:
        msgs.append(m)

    stream = MarketDataStream(
        url, "PKTEST2", "secret-PKTEST2", on_msg, trades=["SPY"], bars=["SPY"]
    )
    task = asyncio.create_task(stream.run())
    c = rest(sim_server, "PKTEST2")
    try:
        await poll_until(
            lambda: any(m["T"] in ("t", "b") for m in msgs),
            timeout=20,
            what="a trade or bar on the market-data stream",
        )
        assert all(m["S"] == "SPY" for m in msgs if m["T"] in ("t", "b"))
        end = datetime.now(UTC)
        bars = await c.bars(["SPY", "AAPL"], "1Day", end - timedelta(days=400), end, page_limit=50)
        assert len(bars["SPY"]) > 100 and len(bars["AAPL"]) > 100  # needed several pages
        times = [b["t"] for b in bars["SPY"]]
        assert times == sorted(times) and len(set(times)) == len(times)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await c.close()
