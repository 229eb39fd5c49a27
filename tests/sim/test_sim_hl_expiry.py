"""The simulated Hyperliquid honours `expiresAfter` when it applies an action, the
`late_action_ms` fault applies an action after its answer was lost, and `/_sim/inject_fill`
changes an account's position behind its owner's back."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import eth_account
import httpx
import pytest
from hyperliquid.exchange import Exchange

from arenad.errors import TemporaryError
from arenad.sim.server import SimServer
from arenad.venues.hyperliquid.exchange import HyperliquidExchange, OrderIntent
from arenad.venues.hyperliquid.rules import round_price
from fixtures_sim import poll_until

KEY = "0x" + "33" * 32


@pytest.fixture
async def quiet(sim_factory: Any) -> SimServer:
    server: SimServer = await sim_factory(bots_enabled=False)
    return server


def _intent(sim: SimServer, cloid: str) -> OrderIntent:
    house = sim.hyperliquid.house
    ask = sim.hyperliquid.market.best_ask("ETH")
    px = round_price(ask * Decimal("1.01"), sim.hyperliquid.market.spec("ETH").sz_decimals)
    return OrderIntent(house.asset_of["ETH"], True, px, Decimal("0.01"), False, cloid, "Ioc")


def _status(sim: SimServer, user: str, cloid: str) -> Any:
    return sim.hyperliquid.house.order_status(user, cloid)


async def test_an_action_past_its_expiry_is_refused_with_the_venues_error(
    quiet: SimServer,
) -> None:
    w = eth_account.Account.from_key(KEY)
    ex = HyperliquidExchange(quiet.hyperliquid_url, w, is_mainnet=False)
    now = quiet.hyperliquid.now_ms()
    late = await ex.place([_intent(quiet, "0x" + "01" * 16)], now, now - 1)
    assert late == {"status": "err", "response": "Action already expired"}
    ok = await ex.place([_intent(quiet, "0x" + "02" * 16)], now + 1, now + 10_000)
    assert ok["status"] == "ok" and "filled" in ok["response"]["data"]["statuses"][0]
    await ex.close()

    def sdk() -> Any:  # the official SDK's expiresAfter is signed and honoured the same way
        e = Exchange(w, quiet.hyperliquid_url)
        e.set_expires_after(quiet.hyperliquid.now_ms() - 1)
        return e.market_open("ETH", True, 0.01)

    assert await asyncio.to_thread(sdk) == {"status": "err", "response": "Action already expired"}
    user = str(w.address).lower()
    assert _status(quiet, user, "0x" + "01" * 16)["status"] == "unknownOid"


async def test_a_late_action_is_applied_after_its_answer_is_lost_unless_expired(
    quiet: SimServer,
) -> None:
    w = eth_account.Account.from_key(KEY)
    user = str(w.address).lower()
    ex = HyperliquidExchange(quiet.hyperliquid_url, w, is_mainnet=False)
    sim = quiet.hyperliquid
    quiet.hyperliquid_faults.update({"late_action_ms": 300})
    now = sim.now_ms()
    # Expiring well after the slow path: the answer is lost, the order fills later.
    with pytest.raises(TemporaryError):
        await ex.place([_intent(quiet, "0x" + "03" * 16)], now, now + 10_000)
    assert _status(quiet, user, "0x" + "03" * 16)["status"] == "unknownOid"  # not yet
    await poll_until(lambda: sim.late["applied"] == 1, 10, "the late action applied")
    st = _status(quiet, user, "0x" + "03" * 16)
    assert st["status"] == "order" and st["order"]["status"] == "filled"
    # Expiring before the slow path reaches it: refused, never fills.
    now = sim.now_ms()
    with pytest.raises(TemporaryError):
        await ex.place([_intent(quiet, "0x" + "04" * 16)], now, now + 100)
    await poll_until(lambda: sim.late["expired"] == 1, 10, "the late action refused")
    assert _status(quiet, user, "0x" + "04" * 16)["status"] == "unknownOid"
    async with httpx.AsyncClient() as c:
        stats = (await c.get(f"{quiet.hyperliquid_url}/_sim/stats", timeout=5)).json()
    assert stats["late_actions_pending"] == 0
    assert (stats["late_actions_applied"], stats["late_actions_expired"]) == (1, 1)
    quiet.hyperliquid_faults.update({"late_action_ms": 0})
    await ex.close()


async def test_inject_fill_moves_a_position_behind_the_owners_back(quiet: SimServer) -> None:
    user = str(eth_account.Account.from_key(KEY).address).lower()
    url = quiet.hyperliquid_url
    async with httpx.AsyncClient() as c:
        r = await c.post(
            f"{url}/_sim/inject_fill", json={"user": user, "coin": "XRP", "side": "B", "sz": "285"}
        )
        assert r.status_code == 200, r.text
        (p,) = r.json()["assetPositions"]
        assert (p["position"]["coin"], Decimal(p["position"]["szi"])) == ("XRP", Decimal(285))
        fills = (await c.post(f"{url}/info", json={"type": "userFills", "user": user})).json()
        assert [(f["coin"], Decimal(f["sz"]), f["side"]) for f in fills] == [("XRP", 285, "B")]
        for bad, why in (
            ({"user": user, "coin": "NOPE", "side": "B", "sz": "1"}, "not listed"),
            ({"user": user, "coin": "XRP", "side": "X", "sz": "1"}, "side"),
            ({"user": user, "coin": "XRP", "side": "B", "sz": "-1"}, "positive"),
            ({"user": "0x12", "coin": "XRP", "side": "B", "sz": "1"}, "0x + 40 hex"),
            ({"coin": "XRP"}, "body must be"),
        ):
            r = await c.post(f"{url}/_sim/inject_fill", json=bad)
            assert r.status_code == 400 and why in r.json()["error"], (bad, r.text)
