"""Fault injection on the simulated Alpaca, and determinism for a seed."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
from alpaca_support import KEYS, alpaca_venue, closed, recv, recv_json, rest, wait_until, ws_client

from arenad.clock import FakeClock
from arenad.sim.alpaca import AlpacaSim
from arenad.venues.alpaca.rest import AlpacaREST

LISTEN = {"action": "listen", "data": {"streams": ["trade_updates"]}}
AUTH = {"action": "auth", "key": "PKTEST1", "secret": "secret1"}


def market(symbol: str, qty: str, cid: str | None = None) -> dict[str, Any]:
    body = {"symbol": symbol, "qty": qty, "side": "buy", "type": "market", "time_in_force": "day"}
    if cid:
        body["client_order_id"] = cid
    return body


async def listening(ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_str(json.dumps(AUTH))
    await recv_json(ws)
    await ws.send_str(json.dumps(LISTEN))
    await recv_json(ws)


async def test_injected_429_and_5xx_have_alpaca_bodies_and_control_stays_reachable() -> None:
    async with alpaca_venue() as venue:
        change = {"http_error_rate": 1.0, "http_error_status": 429}
        status, body, _ = await rest(venue, "POST", "/_sim/faults", json=change)
        assert status == 200 and body["http_error_rate"] == 1.0
        status, body, headers = await rest(venue, "GET", "/v2/account")
        assert (status, body) == (429, {"code": 42910000, "message": "rate limit exceeded"})
        assert headers["X-Ratelimit-Remaining"] == "0"
        assert int(headers["X-Ratelimit-Reset"]) > venue.clock.now().timestamp()
        await rest(venue, "POST", "/_sim/faults", json={"http_error_status": 503})
        status, body, _ = await rest(venue, "GET", "/v2/stocks/SPY/bars?timeframe=1Min")
        assert (status, body["code"]) == (503, 50010000)
        await rest(venue, "POST", "/_sim/faults", json={"http_error_rate": 0.0})
        assert (await rest(venue, "GET", "/v2/account"))[0] == 200
        status, body, _ = await rest(venue, "POST", "/_sim/faults", json={"http_error_rate": 2})
        assert status == 400 and "http_error_rate" in body["error"]


async def test_a_retrying_client_gets_through_an_error_rate() -> None:
    async with alpaca_venue() as venue:
        venue.faults.update({"http_error_rate": 0.5, "http_error_status": 502})
        backoff = FakeClock()  # the client's own time, run forward whenever it waits
        client = AlpacaREST(
            venue.base, venue.base, "PKTEST1", "secret1", max_retries=12, clock=backoff
        )

        async def fetch() -> list[Any]:
            return [await client.account() for _ in range(4)]

        task = asyncio.create_task(fetch())
        try:
            while not task.done():
                if backoff.sleepers:
                    backoff.advance(60)
                await asyncio.sleep(0)
            accounts = task.result()
        finally:
            await client.close()
    assert {a.cash for a in accounts} == {"100000"}
    assert venue.sim.requests["trading"] == 4  # errors were injected before auth, as by a proxy


async def test_latency_delays_responses_and_stream_messages() -> None:
    async with alpaca_venue() as venue, ws_client(venue.ws + "/stream") as ws:
        await listening(ws)
        venue.faults.update({"latency_ms": 300})
        started = time.monotonic()
        status, _, _ = await rest(venue, "POST", "/v2/orders", json=market("SPY", "1"))
        answered = time.monotonic()
        new = await recv_json(ws)
        assert status == 200 and answered - started >= 0.3
        assert new["data"]["event"] == "new"
        assert time.monotonic() - answered >= 0.3 - 0.05  # the frame waited its own 300 ms


async def test_drop_on_demand_closes_every_stream() -> None:
    async with (
        alpaca_venue() as venue,
        ws_client(venue.ws + "/stream") as trades,
        ws_client(venue.ws + "/v2/iex", KEYS) as data,
    ):
        await listening(trades)
        await recv_json(data)
        await recv_json(data)
        status, body, _ = await rest(venue, "POST", "/_sim/drop")
        assert (status, body) == (200, {"dropped": 2})
        assert await closed(trades) and await closed(data)
        assert venue.faults.dropped == 2
        await wait_until(lambda: not venue.sim.data_holders, "the 406 slot to be released")
        async with ws_client(venue.ws + "/v2/iex", KEYS) as again:
            await recv_json(again)
            assert (await recv_json(again))[0]["msg"] == "authenticated"


async def test_random_drop_closes_instead_of_sending() -> None:
    async with alpaca_venue() as venue, ws_client(venue.ws + "/stream") as ws:
        await listening(ws)
        venue.faults.update({"drop_rate": 1.0})
        await rest(venue, "POST", "/v2/orders", json=market("SPY", "1"))
        assert await closed(ws)
    assert venue.faults.dropped == 1


async def test_malformed_frames() -> None:
    async with alpaca_venue() as venue, ws_client(venue.ws + "/stream") as ws:
        await listening(ws)
        venue.faults.update({"malformed_rate": 1.0})
        await rest(venue, "POST", "/v2/orders", json=market("SPY", "1"))
        frame = await recv(ws)
        venue.faults.update({"malformed_rate": 0.0})
    assert frame.type == aiohttp.WSMsgType.BINARY
    try:
        json.loads(frame.data)
    except ValueError:
        pass
    else:
        raise AssertionError("the frame should not parse")
    assert frame.data.startswith(b'{"stream":"trade_updates"')


async def test_paused_stream_stays_connected_but_mute() -> None:
    async with alpaca_venue() as venue, ws_client(venue.ws + "/stream") as ws:
        await listening(ws)
        venue.faults.update({"pause": "trade_updates"})
        await rest(venue, "POST", "/v2/orders", json=market("SPY", "1", cid="while-paused"))
        venue.faults.update({"resume": "trade_updates"})
        await rest(venue, "POST", "/v2/orders", json=market("SPY", "1", cid="after"))
        first = await recv_json(ws)
    # The paused updates were lost, not delayed: the first frame is about the later order.
    assert first["data"]["order"]["client_order_id"] == "after"
    assert first["data"]["event"] == "new"


async def test_paused_market_data() -> None:
    async with alpaca_venue() as venue, ws_client(venue.ws + "/v2/iex", KEYS) as ws:
        await recv_json(ws)
        await recv_json(ws)
        await ws.send_str(json.dumps({"action": "subscribe", "trades": ["SPY"]}))
        await recv_json(ws)
        venue.faults.update({"pause": "market_data"})
        venue.sim.step(1)
        venue.faults.update({"resume": "market_data"})
        venue.sim.step(1)
        (trade,) = await recv_json(ws)
    assert trade["i"] == 2  # trade 1 was sent while paused, and lost


async def _session(seed: int) -> tuple[list[Any], list[dict[str, Any]]]:
    """A fixed sequence of requests; returns the orders and every trade update."""
    async with alpaca_venue(seed=seed, max_fill_qty="50") as venue:
        sim: AlpacaSim = venue.sim
        out = []
        for i, sym in enumerate(["AAPL", "TSLA", "SPY"]):
            _, order, _ = await rest(venue, "POST", "/v2/orders", json=market(sym, "120"))
            out.append(order["id"])
            bid = sim.broker.quote(sym, sim.now())[0]
            body = {**market(sym, "7"), "type": "limit", "limit_price": str(bid), "side": "sell",
                    "client_order_id": f"l{i}"}  # fmt: skip
            await rest(venue, "POST", "/v2/orders", json=body)
            sim.step(45)
        sim.step(600)
        _, orders, _ = await rest(venue, "GET", "/v2/orders?status=all&direction=asc")
        return orders, [e.data for e in sim.broker.events]


async def test_same_seed_same_fills_other_seed_other_prices() -> None:
    a_orders, a_events = await _session(11)
    b_orders, b_events = await _session(11)
    c_orders, _ = await _session(12)
    assert a_orders == b_orders and a_events == b_events
    fills = [(e["order"]["symbol"], e["price"], e["qty"]) for e in a_events if "price" in e]
    assert len(fills) >= 9  # three 120-share orders in 50-share parts, plus the sells
    assert [o["filled_avg_price"] for o in a_orders] != [o["filled_avg_price"] for o in c_orders]
    assert [o["id"] for o in a_orders] != [o["id"] for o in c_orders]


async def test_faults_rng_is_seeded() -> None:
    async def statuses(seed: int) -> list[int]:
        async with alpaca_venue(seed=seed) as venue:
            venue.faults.update({"http_error_rate": 0.5})
            return [(await rest(venue, "GET", "/v2/clock"))[0] for _ in range(12)]

    first, again = await asyncio.gather(statuses(3), statuses(3))
    assert first == again and 429 in first and 200 in first
