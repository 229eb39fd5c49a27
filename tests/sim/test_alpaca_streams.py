"""The two Alpaca websocket protocols of the simulator, spoken by a raw client."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import msgpack
from alpaca_support import (
    KEYS,
    MONDAY_10AM,
    Venue,
    alpaca_venue,
    closed,
    recv,
    recv_json,
    rest,
    wait_until,
    ws_client,
)

AUTH = {"action": "auth", "key": "PKTEST1", "secret": "secret1"}


# --- trade updates ----------------------------------------------------------------------


async def test_trade_updates_are_json_in_binary_frames_for_the_own_account_only() -> None:
    async with alpaca_venue() as venue, ws_client(venue.ws + "/stream") as mine:
        await mine.send_str(
            json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}})
        )
        assert (await recv_json(mine))["data"]["status"] == "unauthorized"
        await mine.send_str(
            json.dumps(
                {"action": "authenticate", "data": {"key_id": "PKTEST1", "secret_key": "secret1"}}
            )
        )
        msg = await recv(mine)
        assert msg.type == aiohttp.WSMsgType.BINARY
        assert json.loads(msg.data) == {
            "stream": "authorization",
            "data": {"action": "authenticate", "status": "authorized"},
        }
        await mine.send_str(
            json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}})
        )
        assert await recv_json(mine) == {
            "stream": "listening",
            "data": {"streams": ["trade_updates"]},
        }
        other = {"APCA-API-KEY-ID": "PKTEST2", "APCA-API-SECRET-KEY": "secret2"}
        await rest(venue, "POST", "/v2/orders", headers=other,
                   json={"symbol": "SPY", "qty": "1", "side": "buy", "type": "market",
                         "time_in_force": "day"})  # fmt: skip
        await rest(venue, "POST", "/v2/orders",
                   json={"symbol": "AAPL", "qty": "2", "side": "buy", "type": "market",
                         "time_in_force": "day", "client_order_id": "mine"})  # fmt: skip
        new, fill = await recv_json(mine), await recv_json(mine)
    assert new["stream"] == "trade_updates" and new["data"]["event"] == "new"
    assert new["data"]["order"]["client_order_id"] == "mine"
    assert fill["data"]["event"] == "fill"
    assert (fill["data"]["qty"], fill["data"]["position_qty"]) == ("2", "2")
    assert fill["data"]["order"]["status"] == "filled"


async def test_trade_stream_refuses_a_wrong_secret_and_closes() -> None:
    async with alpaca_venue() as venue:
        await rest(venue, "GET", "/v2/account")  # binds PKTEST1 to secret1
        async with ws_client(venue.ws + "/stream") as ws:
            await ws.send_str(json.dumps({"action": "auth", "key": "PKTEST1", "secret": "bad"}))
            reply = await recv_json(ws)
            assert reply["data"]["status"] == "unauthorized"
            assert reply["data"]["message"] == "access key verification failed"
            assert await closed(ws)


async def test_trade_stream_speaks_msgpack_when_asked() -> None:
    headers = {"Content-Type": "application/msgpack"}
    async with alpaca_venue() as venue, ws_client(venue.ws + "/stream", headers) as ws:
        await ws.send_bytes(
            msgpack.packb({"action": "auth", "key": "PKTEST1", "secret": "secret1"})
        )
        reply = msgpack.unpackb((await recv(ws)).data)
        assert reply["data"]["status"] == "authorized"
        await ws.send_bytes(msgpack.packb({"action": "listen",
                                           "data": {"streams": ["trade_updates"]}}))  # fmt: skip
        assert msgpack.unpackb((await recv(ws)).data)["stream"] == "listening"
        _, order, _ = await rest(venue, "POST", "/v2/orders",
                                 json={"symbol": "QQQ", "notional": "1000", "side": "buy",
                                       "type": "market", "time_in_force": "day"})  # fmt: skip
        new = msgpack.unpackb((await recv(ws)).data)
        fill = msgpack.unpackb((await recv(ws)).data)
    assert order["notional"] == "1000" and order["qty"] is None
    assert (new["data"]["event"], fill["data"]["event"]) == ("new", "fill")
    qty, price = fill["data"]["qty"], fill["data"]["price"]
    assert "." in qty  # a fractional share count bought for $1,000
    assert abs(float(qty) * float(price) - 1000) < 0.01


# --- market data ------------------------------------------------------------------------


async def subscribed_conn(venue: Venue, what: str) -> None:
    await wait_until(lambda: any(c.subs[what] for c in venue.sim.data_conns), "a subscription")


async def test_market_data_json_session() -> None:
    async with alpaca_venue() as venue, ws_client(venue.ws + "/v2/iex") as ws:
        assert await recv_json(ws) == [{"T": "success", "msg": "connected"}]
        await ws.send_str(json.dumps({"action": "subscribe", "trades": ["SPY"]}))
        assert await recv_json(ws) == [{"T": "error", "code": 401, "msg": "not authenticated"}]
        await ws.send_str(json.dumps(AUTH))
        assert await recv_json(ws) == [{"T": "success", "msg": "authenticated"}]
        await ws.send_str(json.dumps(AUTH))
        assert await recv_json(ws) == [{"T": "error", "code": 403, "msg": "already authenticated"}]
        await ws.send_str("{nope")
        assert await recv_json(ws) == [{"T": "error", "code": 400, "msg": "invalid syntax"}]
        await ws.send_str(json.dumps({"action": "subscribe", "orderbooks": ["SPY"]}))
        assert (await recv_json(ws))[0]["code"] == 410
        await ws.send_str(
            json.dumps(
                {
                    "action": "subscribe",
                    "trades": ["SPY"],
                    "quotes": ["AAPL"],
                    "bars": ["*"],
                    "dailyBars": ["SPY"],
                }
            )
        )
        ack = (await recv_json(ws))[0]
        assert ack == {
            "T": "subscription",
            "trades": ["SPY"],
            "quotes": ["AAPL"],
            "bars": ["*"],
            "updatedBars": [],
            "dailyBars": ["SPY"],
            "statuses": [],
            "lulds": [],
            "corrections": ["SPY"],
            "cancelErrors": ["SPY"],
        }
        venue.sim.step(60)
        msg = await recv(ws)
        assert msg.type == aiohttp.WSMsgType.TEXT
        batch = json.loads(msg.data)
        await ws.send_str(json.dumps({"action": "unsubscribe", "bars": ["*"]}))
        assert (await recv_json(ws))[0]["bars"] == []
    kinds = [(m["T"], m["S"]) for m in batch]
    assert kinds[:2] == [("t", "SPY"), ("q", "AAPL")]
    assert {s for t, s in kinds if t == "b"} == set(venue.sim.prices.specs)
    assert kinds[-1] == ("d", "SPY")
    trade = batch[0]
    assert trade["t"] == "2025-01-06T15:01:00Z" and trade["x"] == "V" and trade["s"] > 0
    bar = next(m for m in batch if m["T"] == "b" and m["S"] == "SPY")
    assert bar["t"] == "2025-01-06T15:00:00Z"
    assert set(bar) == {"T", "S", "o", "h", "l", "c", "v", "t", "n", "vw"}


async def test_market_data_msgpack_uses_timestamps() -> None:
    headers = {"Content-Type": "application/msgpack"}
    async with alpaca_venue() as venue, ws_client(venue.ws + "/v2/iex", headers) as ws:
        first = await recv(ws)
        assert first.type == aiohttp.WSMsgType.BINARY
        assert msgpack.unpackb(first.data) == [{"T": "success", "msg": "connected"}]
        await ws.send_bytes(msgpack.packb(AUTH))
        assert msgpack.unpackb((await recv(ws)).data)[0]["msg"] == "authenticated"
        await ws.send_bytes(msgpack.packb({"action": "subscribe", "bars": ["TSLA"]}))
        await recv(ws)
        venue.sim.step(60)
        batch = msgpack.unpackb((await recv(ws)).data)
    (bar,) = batch
    assert isinstance(bar["t"], msgpack.Timestamp)
    assert bar["t"].to_datetime() == MONDAY_10AM
    assert isinstance(bar["o"], float) and isinstance(bar["v"], int)


async def test_header_auth_and_one_connection_per_account() -> None:
    async with alpaca_venue() as venue, ws_client(venue.ws + "/v2/iex", KEYS) as first:
        assert await recv_json(first) == [{"T": "success", "msg": "connected"}]
        assert await recv_json(first) == [{"T": "success", "msg": "authenticated"}]
        async with ws_client(venue.ws + "/v2/iex") as second:
            await recv_json(second)
            await second.send_str(json.dumps(AUTH))
            assert await recv_json(second) == [
                {"T": "error", "code": 406, "msg": "connection limit exceeded"}
            ]
            assert await closed(second)
        # Another feed is another endpoint, and another key is another account.
        async with ws_client(venue.ws + "/v2/test", KEYS) as test_feed:
            await recv_json(test_feed)
            assert await recv_json(test_feed) == [{"T": "success", "msg": "authenticated"}]
        other = {"action": "auth", "key": "PKTEST2", "secret": "x"}
        async with ws_client(venue.ws + "/v2/iex") as third:
            await recv_json(third)
            await third.send_str(json.dumps(other))
            assert await recv_json(third) == [{"T": "success", "msg": "authenticated"}]
    # Once the holder leaves, the account may connect again.
    async with alpaca_venue() as venue:
        for _ in range(2):
            async with ws_client(venue.ws + "/v2/iex", KEYS) as ws:
                await recv_json(ws)
                assert (await recv_json(ws))[0]["msg"] == "authenticated"
            await wait_until(lambda: not venue.sim.data_conns, "the server to let go")


async def test_auth_failed_auth_timeout_symbol_limit_and_sip() -> None:
    async with alpaca_venue(stream_auth_timeout_s=5, stream_symbol_limit=3) as venue:
        await rest(venue, "GET", "/v2/account")
        async with ws_client(venue.ws + "/v2/iex") as ws:
            await recv_json(ws)
            await ws.send_str(json.dumps({**AUTH, "secret": "wrong"}))
            assert await recv_json(ws) == [{"T": "error", "code": 402, "msg": "auth failed"}]
            assert await closed(ws)
        async with ws_client(venue.ws + "/v2/iex") as ws:
            await recv_json(ws)
            await wait_until(lambda: venue.fake.sleepers >= 2, "the auth deadline")
            venue.fake.advance(5)
            assert await recv_json(ws) == [{"T": "error", "code": 404, "msg": "auth timeout"}]
            assert await closed(ws)
        async with ws_client(venue.ws + "/v2/iex", KEYS) as ws:
            await recv_json(ws)
            await recv_json(ws)
            await ws.send_str(json.dumps({"action": "subscribe", "trades": ["SPY", "AAPL"],
                                          "quotes": ["SPY", "MSFT"]}))  # fmt: skip
            assert (await recv_json(ws))[0]["T"] == "subscription"
            await ws.send_str(json.dumps({"action": "subscribe", "bars": ["NVDA"]}))
            assert await recv_json(ws) == [
                {"T": "error", "code": 405, "msg": "symbol limit exceeded"}
            ]
        async with ws_client(venue.ws + "/v2/sip", KEYS) as ws:
            await recv_json(ws)
            assert await recv_json(ws) == [
                {"T": "error", "code": 409, "msg": "insufficient subscription"}
            ]
            assert await closed(ws)


async def test_slow_client_gets_407() -> None:
    async with (
        alpaca_venue(stream_outbox_limit=10) as venue,
        ws_client(venue.ws + "/v2/iex", KEYS) as ws,
    ):
        await recv_json(ws)
        await recv_json(ws)
        await ws.send_str(json.dumps({"action": "subscribe", "trades": ["*"]}))
        await recv_json(ws)
        venue.faults.update({"latency_ms": 200})  # the writer falls behind
        for _ in range(30):
            venue.sim.step(1)
        messages: list[Any] = []
        while not ws.closed:
            msg = await recv(ws)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            messages.append(json.loads(msg.data))
    assert messages[-1] == [{"T": "error", "code": 407, "msg": "slow client"}]
    assert venue.sim.slow_clients >= 1
