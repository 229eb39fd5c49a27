"""Conformance: the official hyperliquid-python-sdk, pointed at the simulator, is the judge.

The SDK is synchronous (requests, a websocket-client thread), so every call runs in a worker
thread: the simulator serves from this test's event loop.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import eth_account
import pytest
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.signing import get_timestamp_ms, sign_l1_action
from hyperliquid.utils.types import Cloid

from arenad.sim.server import SimServer
from fixtures_sim import poll_until, step_until

KEY_A = "0x" + "11" * 32
KEY_B = "0x" + "22" * 32


def wallet(key: str) -> LocalAccount:
    return eth_account.Account.from_key(key)


@pytest.fixture
async def quiet(sim_factory: Any) -> SimServer:
    server: SimServer = await sim_factory(bots_enabled=False)
    return server


async def test_sdk_info_reads_everything(sim_server: SimServer) -> None:
    url = sim_server.hyperliquid_url
    bot = sim_server.hyperliquid.bots.bots[0].address
    # Let the bots trade a little first.
    step_until(
        sim_server, lambda: sim_server.hyperliquid.house.accounts[bot].fills, what="a bot fill"
    )

    def calls() -> dict[str, Any]:
        info = Info(url, skip_ws=True)
        fills = info.user_fills(bot)
        return {
            "meta": info.meta(),
            "mids": info.all_mids(),
            "state": info.user_state(bot),
            "fills": fills,
            "by_time": info.user_fills_by_time(bot, fills[-1]["time"]),
            "book": info.l2_snapshot("BTC"),
            "asset": info.name_to_asset("DOGE"),
        }

    r = await asyncio.to_thread(calls)
    assert r["meta"]["universe"][r["asset"]]["name"] == "DOGE"
    assert set(r["mids"]) >= {"BTC", "ETH", "SOL", "BNB", "DOGE", "XRP"}
    assert Decimal(r["state"]["marginSummary"]["accountValue"]) > 0
    assert r["fills"] and all(f["coin"] in r["mids"] for f in r["fills"])
    assert r["by_time"][0]["tid"] == r["fills"][-1]["tid"]  # oldest of the window first
    assert r["book"]["coin"] == "BTC" and len(r["book"]["levels"]) == 2


async def test_sdk_order_is_accepted_and_filled_on_the_signers_account(quiet: SimServer) -> None:
    url = quiet.hyperliquid_url
    a = wallet(KEY_A)

    def calls() -> tuple[Any, Any, Any]:
        ex = Exchange(a, url)
        res = ex.market_open("ETH", True, 0.05)
        info = Info(url, skip_ws=True)
        return res, info.user_state(a.address), info.user_fills(a.address)

    res, state, fills = await asyncio.to_thread(calls)
    assert res["status"] == "ok"
    (status,) = res["response"]["data"]["statuses"]
    assert status["filled"]["totalSz"] == "0.05"
    assert [p["position"]["szi"] for p in state["assetPositions"]] == ["0.05"]
    assert fills[0]["oid"] == status["filled"]["oid"] and fills[0]["crossed"] is True
    assert Decimal(fills[0]["fee"]) > 0


async def test_an_order_signed_by_another_key_is_rejected(sim_factory: Any) -> None:
    """With accounts only for funded addresses (mainnet's rule), the venue recovers the signer
    from the signature: the same order signed by key B is refused with mainnet's message, and
    a signature over a different action recovers a stranger."""
    server: SimServer = await sim_factory(bots_enabled=False, auto_fund_signers=False)
    url = server.hyperliquid_url
    a, b = wallet(KEY_A), wallet(KEY_B)
    server.hyperliquid.house.fund(a.address, Decimal(5000))

    def calls() -> tuple[Any, Any, Any]:
        ok = Exchange(a, url).market_open("SOL", False, 0.5)
        refused = Exchange(b, url).market_open("SOL", False, 0.5)
        # A's order with a signature made for another action (as a forger would).
        ex = Exchange(a, url)
        action = {"type": "cancel", "cancels": [{"a": 2, "o": 1}]}
        nonce = get_timestamp_ms()
        other = {"type": "cancel", "cancels": [{"a": 2, "o": 2}]}
        sig = sign_l1_action(a, other, None, nonce, None, False)
        forged = ex.post("/exchange", {"action": action, "nonce": nonce, "signature": sig})
        return ok, refused, forged

    ok, refused, forged = await asyncio.to_thread(calls)
    assert ok["status"] == "ok" and "filled" in ok["response"]["data"]["statuses"][0]
    assert refused == {
        "status": "err",
        "response": f"User or API Wallet {b.address.lower()} does not exist.",
    }
    assert forged["status"] == "err" and "does not exist" in forged["response"]
    assert a.address.lower() not in forged["response"]


async def test_with_auto_funding_another_key_trades_its_own_account(quiet: SimServer) -> None:
    url = quiet.hyperliquid_url
    a, b = wallet(KEY_A), wallet(KEY_B)

    def calls() -> tuple[Any, Any]:
        Exchange(b, url).market_open("BTC", True, 0.001)
        info = Info(url, skip_ws=True)
        return info.user_state(a.address), info.user_state(b.address)

    state_a, state_b = await asyncio.to_thread(calls)
    assert state_a["assetPositions"] == []
    assert [p["position"]["coin"] for p in state_b["assetPositions"]] == ["BTC"]


async def test_cloid_order_found_by_query_order_by_cloid_and_canceled(quiet: SimServer) -> None:
    url = quiet.hyperliquid_url
    a = wallet(KEY_A)
    cloid = Cloid.from_str("0x" + "ab" * 16)
    mid = quiet.hyperliquid.market.mid("SOL")
    px = float(round(mid * Decimal("0.9"), 1))

    def calls() -> tuple[Any, ...]:
        ex = Exchange(a, url)
        info = Info(url, skip_ws=True)
        placed = ex.order("SOL", True, 1.0, px, {"limit": {"tif": "Gtc"}}, cloid=cloid)
        found = info.query_order_by_cloid(a.address, cloid)
        dup = ex.order("SOL", True, 1.0, px, {"limit": {"tif": "Gtc"}}, cloid=cloid)
        canceled = ex.cancel_by_cloid("SOL", cloid)
        again = ex.cancel_by_cloid("SOL", cloid)
        after = info.query_order_by_cloid(a.address, cloid)
        return placed, found, dup, canceled, again, after

    placed, found, dup, canceled, again, after = await asyncio.to_thread(calls)
    resting = placed["response"]["data"]["statuses"][0]["resting"]
    assert resting["cloid"] == cloid.to_raw()
    assert found["status"] == "order"
    assert found["order"]["order"]["oid"] == resting["oid"]
    assert found["order"]["order"]["cloid"] == cloid.to_raw()
    assert found["order"]["status"] == "open"
    assert dup["status"] == "ok" and "error" in dup["response"]["data"]["statuses"][0]
    assert canceled["response"]["data"]["statuses"] == ["success"]
    assert again["response"]["data"]["statuses"] == [
        {"error": "Order was never placed, already canceled, or filled."}
    ]
    assert after["order"]["status"] == "canceled"


async def test_per_order_errors_inside_status_ok(quiet: SimServer) -> None:
    url = quiet.hyperliquid_url
    a = wallet(KEY_A)
    m = quiet.hyperliquid.market
    eth_mid = float(m.mid("ETH"))
    ask = float(m.best_ask("ETH"))

    def calls() -> list[Any]:
        ex = Exchange(a, url)
        gtc = {"limit": {"tif": "Gtc"}}
        return [
            ex.order("ETH", True, 0.001, round(eth_mid * 0.9, 1), gtc),  # $3.6 < $10
            ex.order("ETH", True, 0.01, round(eth_mid * 0.9, 1) + 0.01, gtc),  # 6 sig figs
            ex.order("ETH", False, 0.01, round(eth_mid, 1), gtc, reduce_only=True),  # no position
            ex.order("ETH", True, 0.01, ask, {"limit": {"tif": "Alo"}}),  # would cross
            ex.order("ETH", True, 0.01, round(eth_mid * 0.9, 1), {"limit": {"tif": "Ioc"}}),
            ex.order("ETH", True, 100.0, round(eth_mid * 1.01, 1), gtc),  # $400k on $10k
        ]

    results = await asyncio.to_thread(calls)
    errors = []
    for r in results:
        assert r["status"] == "ok"
        (status,) = r["response"]["data"]["statuses"]
        errors.append(status["error"])
    assert errors[0] == "Order must have minimum value of $10."
    assert errors[1] == "Price must be divisible by tick size."
    assert errors[2] == "Reduce only order would increase position."
    assert errors[3].startswith("Post only order would have immediately matched, bbo was ")
    assert errors[4] == "Order could not immediately match against any resting orders."
    assert errors[5] == "Insufficient margin to place order."


async def test_lot_size_and_reduce_only_close(quiet: SimServer) -> None:
    url = quiet.hyperliquid_url
    a = wallet(KEY_A)
    m = quiet.hyperliquid.market
    doge = float(m.mid("DOGE"))

    def calls() -> tuple[Any, Any, Any]:
        ex = Exchange(a, url)
        ioc = {"limit": {"tif": "Ioc"}}
        half_lot = ex.order("DOGE", True, 100.5, round(doge * 1.02, 5), ioc)  # szDecimals 0
        opened = ex.order("DOGE", True, 200, round(doge * 1.02, 5), ioc)
        closed = ex.market_close("DOGE")
        return half_lot, opened, closed

    half_lot, opened, closed = await asyncio.to_thread(calls)
    assert half_lot["response"]["data"]["statuses"] == [{"error": "Order has invalid size."}]
    assert opened["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "200.0"
    assert closed["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "200.0"
    fills = quiet.hyperliquid.house.user_fills(a.address)
    assert [f["dir"] for f in fills] == ["Close Long", "Open Long"]
    assert Decimal(fills[0]["closedPnl"]) != 0 or fills[0]["px"] == fills[1]["px"]


async def test_nonce_rules(quiet: SimServer) -> None:
    url = quiet.hyperliquid_url
    a = wallet(KEY_A)

    def calls() -> list[Any]:
        ex = Exchange(a, url)
        action = {"type": "cancel", "cancels": [{"a": 0, "o": 1}]}
        now = get_timestamp_ms()
        out = []
        for nonce in (now, now, now - 3 * 86_400_000, now + 2 * 86_400_000):
            sig = sign_l1_action(a, action, None, nonce, None, False)
            out.append(ex.post("/exchange", {"action": action, "nonce": nonce, "signature": sig}))
        return out

    first, dup, old, future = await asyncio.to_thread(calls)
    assert first["status"] == "ok"  # an unknown oid is a per-cancel error, not an envelope one
    assert dup["status"] == "err" and "duplicate nonce" in dup["response"]
    assert old["status"] == "err" and "Invalid nonce" in old["response"]
    assert future["status"] == "err" and "Invalid nonce" in future["response"]


async def test_malformed_exchange_bodies_get_422(quiet: SimServer) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=quiet.hyperliquid_url) as client:
        for body in ({}, {"action": {"type": "order"}, "nonce": 1}, [1, 2]):
            resp = await client.post("/exchange", json=body)
            assert resp.status_code == 422, body


@pytest.mark.live_market
async def test_sdk_websocket_receives_user_fills_and_all_mids(sim_server: SimServer) -> None:
    """`Info.subscribe` (the SDK's WebsocketManager thread) gets a userFills snapshot, then
    live fills of a bot as it trades, and allMids ticks."""
    url = sim_server.hyperliquid_url
    bot = sim_server.hyperliquid.bots.bots[1].address
    lock = threading.Lock()
    got: dict[str, list[Any]] = {"fills": [], "mids": []}

    def on_fills(msg: Any) -> None:
        with lock:
            got["fills"].append(msg)

    def on_mids(msg: Any) -> None:
        with lock:
            got["mids"].append(msg)

    def connect() -> Info:
        info = Info(url)  # starts the websocket thread
        info.subscribe({"type": "userFills", "user": bot}, on_fills)
        info.subscribe({"type": "allMids"}, on_mids)
        return info

    info = await asyncio.to_thread(connect)
    try:
        await poll_until(lambda: len(got["mids"]) >= 2, 10, "two allMids messages")
        await poll_until(lambda: len(got["fills"]) >= 2, 15, "a snapshot and a live fill")
    finally:
        await asyncio.to_thread(info.disconnect_websocket)
    with lock:
        first, live = got["fills"][0], got["fills"][1]
        mids = got["mids"][-1]
    assert first["channel"] == "userFills" and first["data"]["isSnapshot"] is True
    assert first["data"]["user"] == bot
    assert "isSnapshot" not in live["data"] and live["data"]["fills"]
    assert all(f["coin"] in mids["data"]["mids"] for f in live["data"]["fills"])
    assert set(mids["data"]["mids"]) >= {"BTC", "ETH"}


async def test_the_daemons_exchange_client_places_and_cancels_by_cloid(quiet: SimServer) -> None:
    """arenad's own /exchange client (Decimal wires, SDK signing, is_mainnet=False) against the
    simulator: an order is accepted, found by cloid, and canceled by cloid."""
    from arenad.venues.hyperliquid.exchange import HyperliquidExchange, OrderIntent
    from arenad.venues.hyperliquid.info import HyperliquidInfo

    a = wallet(KEY_A)
    ex = HyperliquidExchange(quiet.hyperliquid_url, a, is_mainnet=False)
    info = HyperliquidInfo(quiet.hyperliquid_url)
    try:
        sim = quiet.hyperliquid
        px = Decimal(round(sim.market.mid("BTC") * Decimal("0.95")))
        cloid = "0x" + "0f" * 16
        intent = OrderIntent(
            asset=0,
            is_buy=True,
            price=px,
            size=Decimal("0.001"),
            reduce_only=False,
            cloid=cloid,
            tif="Gtc",
        )
        now = sim.now_ms()
        placed = await ex.place([intent], now)
        assert placed["response"]["data"]["statuses"][0]["resting"]["cloid"] == cloid
        status = await info.order_status(a.address, cloid)
        assert status["order"]["status"] == "open"
        canceled = await ex.cancel_by_cloid(0, cloid, now + 1)
        assert canceled["response"]["data"]["statuses"] == ["success"]
        assert (await info.order_status(a.address, cloid))["order"]["status"] == "canceled"
    finally:
        await ex.close()
        await info.close()
