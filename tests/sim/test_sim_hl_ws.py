"""/ws protocol details with a plain websocket client: acks, snapshots, channels, the
10-user limit, ping/pong and the idle close."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from arenad.sim.server import SimServer
from arenad.venues.hyperliquid.rules import round_price

USER = "0x" + "ab" * 20


async def recv(ws: ClientConnection, channel: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message on `channel` (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            if msg["channel"] == channel:
                return msg  # type: ignore[no-any-return]


async def subscribe(ws: ClientConnection, sub: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
    return await recv(ws, "subscriptionResponse")


def place(
    server: SimServer,
    user: str,
    coin: str,
    is_buy: bool,
    sz: str,
    tif: str = "Ioc",
    factor: str | None = None,
) -> Any:
    sim = server.hyperliquid
    f = Decimal(factor) if factor else (Decimal("1.02") if is_buy else Decimal("0.98"))
    px = round_price(sim.market.mid(coin) * f, sim.market.spec(coin).sz_decimals)
    wire = {
        "a": sim.house.asset_of[coin],
        "b": is_buy,
        "p": str(px),
        "s": sz,
        "r": False,
        "t": {"limit": {"tif": tif}},
    }
    (status,) = sim.house.place(user, [wire], sim.now_ms())
    sim.hub.flush()
    return status


@pytest.fixture
async def quiet(sim_factory: Any) -> SimServer:
    server: SimServer = await sim_factory(bots_enabled=False)
    return server


async def test_ack_snapshot_then_live_fills_on_three_user_channels(quiet: SimServer) -> None:
    place(quiet, USER, "ETH", True, "0.01")  # a fill before subscribing: in the snapshot
    async with connect(quiet.hyperliquid_ws_url) as ws:
        sub = {"type": "userFills", "user": USER}
        ack = await subscribe(ws, sub)
        assert ack == {
            "channel": "subscriptionResponse",
            "data": {"method": "subscribe", "subscription": sub},
        }
        snap = await recv(ws, "userFills")
        assert snap["data"]["isSnapshot"] is True and len(snap["data"]["fills"]) == 1
        await subscribe(ws, {"type": "userEvents", "user": USER})
        await subscribe(ws, {"type": "orderUpdates", "user": USER})
        status = place(quiet, USER, "BTC", False, "0.001")
        oid = status["filled"]["oid"]
        live = await recv(ws, "userFills")
        assert "isSnapshot" not in live["data"]
        assert [f["oid"] for f in live["data"]["fills"]] == [oid]
        event = await recv(ws, "user")  # userEvents arrive on channel "user"
        assert [f["oid"] for f in event["data"]["fills"]] == [oid]
        update = await recv(ws, "orderUpdates")
        assert update["data"][-1]["order"]["oid"] == oid
        assert update["data"][-1]["status"] == "filled"


async def test_trades_l2book_and_all_mids_channels(quiet: SimServer) -> None:
    async with connect(quiet.hyperliquid_ws_url) as ws:
        await subscribe(ws, {"type": "trades", "coin": "SOL"})
        await subscribe(ws, {"type": "l2Book", "coin": "SOL"})
        book = await recv(ws, "l2Book")  # current book right away
        assert book["data"]["coin"] == "SOL" and len(book["data"]["levels"]) == 2
        await subscribe(ws, {"type": "allMids"})
        mids = await recv(ws, "allMids")
        assert "SOL" in mids["data"]["mids"]
        place(quiet, USER, "SOL", True, "1")
        trades = await recv(ws, "trades")
        assert trades["data"][0]["coin"] == "SOL" and trades["data"][0]["side"] == "B"
        assert trades["data"][0]["users"][0] == USER
        quiet.hyperliquid.step()
        assert (await recv(ws, "allMids"))["channel"] == "allMids"
        assert (await recv(ws, "l2Book"))["data"]["coin"] == "SOL"


async def test_unsubscribe_stops_the_stream(quiet: SimServer) -> None:
    async with connect(quiet.hyperliquid_ws_url) as ws:
        sub = {"type": "userFills", "user": USER}
        await subscribe(ws, sub)
        await recv(ws, "userFills")
        await ws.send(json.dumps({"method": "unsubscribe", "subscription": sub}))
        ack = await recv(ws, "subscriptionResponse")
        assert ack["data"]["method"] == "unsubscribe"
        place(quiet, USER, "ETH", True, "0.01")
        await ws.send(json.dumps({"method": "ping"}))
        # Pong comes back; no userFills before it.
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert msg == {"channel": "pong"}


async def test_ping_pong_and_error_frames_for_bad_requests(quiet: SimServer) -> None:
    async with connect(quiet.hyperliquid_ws_url) as ws:
        await ws.send(json.dumps({"method": "ping"}))
        assert json.loads(await ws.recv()) == {"channel": "pong"}
        await ws.send("not json")
        err = await recv(ws, "error")
        assert "Error parsing JSON" in err["data"]
        await ws.send(
            json.dumps({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "NOPE"}})
        )
        assert "Invalid subscription" in (await recv(ws, "error"))["data"]
        # The connection survives bad requests.
        await ws.send(json.dumps({"method": "ping"}))
        assert (await recv(ws, "pong")) == {"channel": "pong"}


async def test_at_most_ten_users_per_connection(quiet: SimServer) -> None:
    users = [f"0x{i:040x}" for i in range(1, 12)]
    async with connect(quiet.hyperliquid_ws_url) as ws:
        for u in users[:10]:
            await subscribe(ws, {"type": "userFills", "user": u})
        # Another channel for a user already counted is fine.
        await subscribe(ws, {"type": "orderUpdates", "user": users[0]})
        await ws.send(
            json.dumps(
                {"method": "subscribe", "subscription": {"type": "userEvents", "user": users[10]}}
            )
        )
        err = await recv(ws, "error")
        assert err == {"channel": "error", "data": "Cannot track more than 10 total users."}
        # Freeing a user makes room.
        for kind in ("userFills", "orderUpdates"):
            await ws.send(
                json.dumps(
                    {"method": "unsubscribe", "subscription": {"type": kind, "user": users[0]}}
                )
            )
            await recv(ws, "subscriptionResponse")
        ack = await subscribe(ws, {"type": "userEvents", "user": users[10]})
        assert ack["data"]["subscription"]["user"] == users[10]


async def test_idle_connection_is_closed_and_pings_keep_it_open(sim_factory: Any) -> None:
    server: SimServer = await sim_factory(bots_enabled=False, ws_idle_timeout_s=0.6)
    async with (
        connect(server.hyperliquid_ws_url) as idle,
        connect(server.hyperliquid_ws_url) as chatty,
    ):
        loop = asyncio.get_running_loop()
        start = loop.time()
        closed = asyncio.create_task(idle.wait_closed())
        while loop.time() - start < 1.5:
            await chatty.send(json.dumps({"method": "ping"}))
            await recv(chatty, "pong")
            await asyncio.sleep(0.1)
        await asyncio.wait_for(closed, 5)
        assert idle.close_code is not None
        await chatty.send(json.dumps({"method": "ping"}))
        assert await recv(chatty, "pong") == {"channel": "pong"}
    with pytest.raises(ConnectionClosed):
        await idle.recv()
