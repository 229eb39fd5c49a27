"""The Hyperliquid adapter against the simulator on loopback: real HTTP and websockets."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Any

import httpx
import pytest
from eth_account import Account

from arenad.venues.hyperliquid.exchange import HyperliquidExchange, OrderIntent
from arenad.venues.hyperliquid.info import HyperliquidInfo
from arenad.venues.hyperliquid.ws import HyperliquidWS
from fixtures_sim import poll_until


@pytest.mark.live_market
async def test_info_and_fills_since_for_a_trading_bot(sim_server) -> None:  # type: ignore[no-untyped-def]
    info = HyperliquidInfo(sim_server.hyperliquid_url)
    try:
        meta = await info.meta()
        assert {"BTC", "ETH"} <= {a["name"] for a in meta["universe"]}
        mids = await info.all_mids()
        assert Decimal(mids["BTC"]) > 0
        bot = next(iter(sim_server.hyperliquid.bots.by_name().values()))
        fills = await poll_until(
            lambda: sim_server.hyperliquid.house.user_fills(bot.address),
            what="the bot's first fill",
        )
        got = await info.fills_since(bot.address, 0)
        assert {(f["hash"], f["tid"]) for f in got} >= {(f["hash"], f["tid"]) for f in fills}
        state = await info.clearinghouse_state(bot.address)
        assert "assetPositions" in state and "marginSummary" in state
    finally:
        await info.close()


@pytest.mark.live_market
async def test_ws_userfills_snapshot_live_fills_and_reconnect(sim_server) -> None:  # type: ignore[no-untyped-def]
    bots = list(sim_server.hyperliquid.bots.by_name().values())
    msgs: list[dict[str, Any]] = []
    states: list[bool] = []

    async def on_message(m: dict[str, Any]) -> None:
        msgs.append(m)

    async def on_state(up: bool, detail: str) -> None:
        states.append(up)

    ws = HyperliquidWS(
        sim_server.hyperliquid_ws_url,
        [{"type": "userFills", "user": b.address} for b in bots] + [{"type": "allMids"}],
        on_message,
        on_state=on_state,
        ping_interval_s=0.2,
        max_backoff_s=0.2,
    )
    task = asyncio.create_task(ws.run())
    try:

        def fills(snapshot: bool) -> list[dict[str, Any]]:
            return [
                m
                for m in msgs
                if m["channel"] == "userFills" and bool(m["data"].get("isSnapshot")) is snapshot
            ]

        await poll_until(lambda: len(fills(True)) == len(bots), what="a snapshot per bot")
        await poll_until(lambda: fills(False), what="a live fill")
        await poll_until(lambda: any(m["channel"] == "allMids" for m in msgs), what="allMids")
        # the simulator drops every connection; the client comes back and re-subscribes
        async with httpx.AsyncClient() as c:
            r = await c.post(sim_server.hyperliquid_url + "/_sim/drop")
            assert r.status_code == 200
        await poll_until(lambda: ws.connects >= 2 and ws.connected, what="reconnect")
        assert states[:3] == [True, False, True]
        await poll_until(lambda: len(fills(True)) == 2 * len(bots), what="fresh snapshots")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_signed_ioc_order_fills_and_cloid_is_queryable(sim_server) -> None:  # type: ignore[no-untyped-def]
    wallet = Account.from_key("0x" + "42" * 32)
    info = HyperliquidInfo(sim_server.hyperliquid_url)
    ex = HyperliquidExchange(sim_server.hyperliquid_url, wallet, is_mainnet=False)
    try:
        meta = await info.meta()
        asset = next(i for i, a in enumerate(meta["universe"]) if a["name"] == "ETH")
        book = await info.l2_book("ETH")
        ask = Decimal(book["levels"][1][0]["px"])
        price = (ask * Decimal("1.01")).quantize(Decimal("0.1"))
        cloid = "0x" + "0f" * 16
        order = OrderIntent(asset, True, price, Decimal("0.01"), False, cloid)
        now_ms = sim_server.hyperliquid.now_ms()
        reply = await ex.place([order], now_ms=now_ms)
        assert reply["status"] == "ok", reply
        (status,) = reply["response"]["data"]["statuses"]
        assert "filled" in status, status
        st = await info.order_status(wallet.address, cloid)
        assert st["status"] == "order" and st["order"]["order"]["cloid"] == cloid
        # the same cloid again is refused inside an ok envelope
        again = await ex.place([order], now_ms=now_ms + 5)
        assert "error" in again["response"]["data"]["statuses"][0]
    finally:
        await info.close()
        await ex.close()
