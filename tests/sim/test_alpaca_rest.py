"""The simulated Alpaca REST API: auth, rate limit, order rules, matching, market hours, bars."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from alpaca_support import KEYS, MONDAY_10AM, Venue, alpaca_venue, rest

from arenad.clock import FakeClock

OTHER = {"APCA-API-KEY-ID": "PKTEST2", "APCA-API-SECRET-KEY": "secret2"}


def market(symbol: str, qty: str, side: str = "buy", **kw: Any) -> dict[str, Any]:
    return {"symbol": symbol, "qty": qty, "side": side, "type": "market",
            "time_in_force": "day", **kw}  # fmt: skip


def events(venue: Venue, order_id: str) -> list[str]:
    return [e.data["event"] for e in venue.sim.broker.events if e.data["order"]["id"] == order_id]


async def test_auth_headers_are_checked_and_each_key_has_its_own_account() -> None:
    async with alpaca_venue() as venue:
        status, body, _ = await rest(venue, "GET", "/v2/account", headers={})
        assert (status, body) == (401, {"code": 40110000, "message": "request is not authorized"})
        status, body, _ = await rest(venue, "GET", "/v2/stocks/bars?symbols=SPY&timeframe=1Min",
                                     headers={})  # fmt: skip
        assert status == 401
        assert (await rest(venue, "GET", "/v2/account"))[0] == 200  # opens PKTEST1
        wrong = {**KEYS, "APCA-API-SECRET-KEY": "not-the-secret"}
        assert (await rest(venue, "GET", "/v2/account", headers=wrong))[0] == 401
        status, body, _ = await rest(venue, "GET", "/v2/stocks/bars?symbols=SPY&timeframe=1Min",
                                     headers=wrong)  # fmt: skip
        assert (status, body) == (403, {"message": "forbidden"})

        status, _, _ = await rest(venue, "POST", "/v2/orders", json=market("AAPL", "5"))
        assert status == 200
        _, mine, _ = await rest(venue, "GET", "/v2/account")
        _, theirs, _ = await rest(venue, "GET", "/v2/account", headers=OTHER)
        _, their_orders, _ = await rest(venue, "GET", "/v2/orders?status=all", headers=OTHER)
    assert mine["id"] != theirs["id"]
    assert Decimal(mine["cash"]) < 100_000 and theirs["cash"] == "100000"
    assert their_orders == []


async def test_rate_limit_429_with_headers_then_a_new_window() -> None:
    async with alpaca_venue(requests_per_minute=3) as venue:
        seen = [await rest(venue, "GET", "/v2/clock") for _ in range(4)]
        assert [s for s, _, _ in seen] == [200, 200, 200, 429]
        first, last = seen[0][2], seen[3][2]
        reset = int(MONDAY_10AM.timestamp()) + 60
        assert (first["X-Ratelimit-Limit"], first["X-Ratelimit-Remaining"]) == ("3", "2")
        assert first["X-Ratelimit-Reset"] == str(reset)
        assert last["X-Ratelimit-Remaining"] == "0" and last["X-Ratelimit-Reset"] == str(reset)
        assert seen[3][1] == {"code": 42910000, "message": "rate limit exceeded"}
        # The data API has its own budget.
        assert (await rest(venue, "GET", "/v2/stocks/SPY/bars?timeframe=1Min"))[0] == 200
        venue.fake.advance(60)
        assert (await rest(venue, "GET", "/v2/clock"))[0] == 200


async def test_order_validation_errors_are_alpacas() -> None:
    async with alpaca_venue() as venue:
        cases = [
            (market("ZZZZ", "1"), 422, 40010001, 'asset "ZZZZ" not found'),
            ({"symbol": "SPY", "side": "buy", "type": "market", "time_in_force": "day"},
             422, 40010001, "qty or notional is required"),
            (market("SPY", "-1"), 422, 40010001, "qty must be > 0"),
            (market("SPY", "1.5", time_in_force="gtc"), 422, 40010001,
             "fractional orders must be DAY orders"),
            ({**market("SPY", "1"), "type": "limit", "limit_price": "500.001"}, 422, 42210000,
             "invalid limit_price 500.001. sub-penny increment does not fulfill minimum pricing "
             "criteria"),
            ({**market("SPY", "1"), "type": "limit"}, 422, 40010001,
             "limit_price is required for limit orders"),
            (market("SPY", "1", time_in_force="opg"), 422, 40010001,
             "time_in_force opg is not supported by the simulator"),
            (market("SPY", "5", order_class="bracket", take_profit={"limit_price": "1.00"},
                    stop_loss={"stop_price": "0.50"}), 422, 42210000, None),
            (market("SPY", "5", side="sell"), 200, None, None),  # a short sale is allowed
        ]  # fmt: skip
        for body, status, code, message in cases:
            got, answer, _ = await rest(venue, "POST", "/v2/orders", json=body)
            assert got == status, (body, answer)
            if code is not None:
                assert answer["code"] == code, answer
            if message is not None:
                assert answer["message"] == message
        status, answer, _ = await rest(venue, "POST", "/v2/orders", data=b"{not json")
        assert status == 400 and answer["code"] == 40010000


async def test_insufficient_qty_and_buying_power_are_403() -> None:
    async with alpaca_venue(margin_multiplier="1") as venue:
        await rest(venue, "POST", "/v2/orders", json=market("AAPL", "10"))
        status, body, _ = await rest(venue, "POST", "/v2/orders",
                                     json=market("AAPL", "25", side="sell"))  # fmt: skip
        assert status == 403
        assert body == {
            "code": 40310000,
            "message": "insufficient qty available for order (requested: 25, available: 10)",
            "available": "10",
            "existing_qty": "10",
            "held_for_orders": "0",
            "symbol": "AAPL",
        }
        status, body, _ = await rest(
            venue, "POST", "/v2/orders", json=market("MSFT", "1", side="sell")
        )
        assert (status, body["message"]) == (403, "account is not allowed to short")
        _, acct, _ = await rest(venue, "GET", "/v2/account")
        bp = Decimal(acct["buying_power"])
        ask = venue.sim.broker.quote("SPY", venue.sim.now())[1]
        too_many = int(bp / ask) + 1
        status, body, _ = await rest(venue, "POST", "/v2/orders", json=market("SPY", str(too_many)))
        assert (status, body["code"], body["message"]) == (
            403,
            40310000,
            "insufficient buying power",
        )
        assert body["buying_power"] == acct["buying_power"]


async def test_resting_limit_fills_when_the_ask_reaches_it() -> None:
    async with alpaca_venue() as venue:
        now = venue.sim.now()
        # Plan a limit the ask will touch within the hour (the model is known to the test).
        asks = [venue.sim.broker.quote("TSLA", now + timedelta(seconds=30 * i))[1]
                for i in range(1, 121)]  # fmt: skip
        limit = min(asks)
        assert limit < venue.sim.broker.quote("TSLA", now)[1]
        body = {**market("TSLA", "4"), "type": "limit", "limit_price": str(limit)}
        status, order, _ = await rest(venue, "POST", "/v2/orders", json=body)
        assert (status, order["status"], order["filled_qty"]) == (200, "new", "0")
        steps = 0
        while venue.sim.broker.accounts["PKTEST1"].orders[order["id"]].status != "filled":
            venue.sim.step(30)
            steps += 1
            assert steps <= 120
        _, filled, _ = await rest(venue, "GET", f"/v2/orders/{order['id']}")
    assert steps == asks.index(limit) + 1  # filled at the first tick the ask was at the limit
    assert Decimal(filled["filled_avg_price"]) <= limit
    assert filled["filled_qty"] == "4" and filled["status"] == "filled"
    assert events(venue, order["id"]) == ["new", "fill"]


async def test_stop_order_triggers_on_the_last_price() -> None:
    async with alpaca_venue() as venue:
        await rest(venue, "POST", "/v2/orders", json=market("NVDA", "20"))
        now = venue.sim.now()
        lasts = [venue.sim.broker.last("NVDA", now + timedelta(seconds=30 * i))
                 for i in range(1, 121)]  # fmt: skip
        stop = min(lasts)
        body = {**market("NVDA", "20", side="sell"), "type": "stop", "stop_price": str(stop),
                "time_in_force": "gtc"}  # fmt: skip
        _, order, _ = await rest(venue, "POST", "/v2/orders", json=body)
        for _ in range(lasts.index(stop)):
            venue.sim.step(30)
        assert venue.sim.broker.accounts["PKTEST1"].orders[order["id"]].status == "new"
        venue.sim.step(30)
        _, done, _ = await rest(venue, "GET", f"/v2/orders/{order['id']}")
        _, positions, _ = await rest(venue, "GET", "/v2/positions")
    assert done["status"] == "filled"
    assert positions == []


async def test_bracket_take_profit_fills_and_cancels_the_stop_leg() -> None:
    async with alpaca_venue() as venue:
        now = venue.sim.now()
        bid, ask = venue.sim.broker.quote("AMD", now)
        bids = [venue.sim.broker.quote("AMD", now + timedelta(seconds=30 * i))[0]
                for i in range(1, 241)]  # fmt: skip
        target = max(bids)
        assert target > ask
        body = market("AMD", "10", order_class="bracket", time_in_force="gtc",
                      take_profit={"limit_price": str(target)},
                      stop_loss={"stop_price": str(round(bid * Decimal("0.9"), 2))})  # fmt: skip
        status, order, _ = await rest(venue, "POST", "/v2/orders", json=body)
        assert status == 200, order
        take, stop = order["legs"]
        assert (take["type"], stop["type"], take["side"]) == ("limit", "stop", "sell")
        for _ in range(bids.index(target) + 1):
            venue.sim.step(30)
        _, parent, _ = await rest(venue, "GET", f"/v2/orders/{order['id']}?nested=true")
        _, positions, _ = await rest(venue, "GET", "/v2/positions")
    assert parent["status"] == "filled"
    legs = {leg["id"]: leg for leg in parent["legs"]}
    assert legs[take["id"]]["status"] == "filled"
    assert legs[stop["id"]]["status"] == "canceled"
    assert positions == []
    assert events(venue, stop["id"]) == ["new", "canceled"]


async def test_large_orders_fill_in_parts() -> None:
    async with alpaca_venue(max_fill_qty="100") as venue:
        _, order, _ = await rest(venue, "POST", "/v2/orders", json=market("SPY", "250"))
        assert venue.sim.broker.accounts["PKTEST1"].orders[order["id"]].filled_qty == 100
        venue.sim.step(1)
        venue.sim.step(1)
        _, done, _ = await rest(venue, "GET", f"/v2/orders/{order['id']}")
    assert done["status"] == "filled" and done["filled_qty"] == "250"
    assert events(venue, order["id"]) == ["new", "partial_fill", "partial_fill", "fill"]
    qtys = [e.data.get("position_qty") for e in venue.sim.broker.events
            if e.data["order"]["id"] == order["id"]]  # fmt: skip
    assert qtys[1:] == ["100", "200", "250"]


async def test_cancel_and_order_listing() -> None:
    async with alpaca_venue() as venue:
        bid = venue.sim.broker.quote("MSFT", venue.sim.now())[0]
        low = str((bid * Decimal("0.5")).quantize(Decimal("0.01")))
        body = {**market("MSFT", "1"), "type": "limit", "limit_price": low,
                "client_order_id": "rest-1"}  # fmt: skip
        _, resting, _ = await rest(venue, "POST", "/v2/orders", json=body)
        _, filled, _ = await rest(venue, "POST", "/v2/orders", json=market("MSFT", "1"))
        _, open_orders, _ = await rest(venue, "GET", "/v2/orders")
        assert [o["id"] for o in open_orders] == [resting["id"]]
        _, closed, _ = await rest(venue, "GET", "/v2/orders?status=closed")
        assert [o["id"] for o in closed] == [filled["id"]]
        status, body, _ = await rest(venue, "DELETE", f"/v2/orders/{resting['id']}")
        assert (status, body) == (204, None)
        status, body, _ = await rest(venue, "DELETE", f"/v2/orders/{resting['id']}")
        assert (status, body["code"], body["message"]) == (422, 42210000, "order is not cancelable")
        status, body, _ = await rest(
            venue, "DELETE", "/v2/orders/00000000-0000-4000-8000-000000000000"
        )
        assert status == 404 and body["code"] == 40410000
        status, by_cid, _ = await rest(venue, "GET", "/v2/orders:by_client_order_id",
                                       params={"client_order_id": "rest-1"})  # fmt: skip
        assert (status, by_cid["status"]) == (200, "canceled")
        status, _, _ = await rest(venue, "GET", "/v2/orders:by_client_order_id",
                                  params={"client_order_id": "nope"})  # fmt: skip
        assert status == 404
        status, _, _ = await rest(venue, "GET", "/v2/positions/TSLA")
        assert status == 404


async def test_close_all_positions() -> None:
    async with alpaca_venue() as venue:
        await rest(venue, "POST", "/v2/orders", json=market("AAPL", "3"))
        await rest(venue, "POST", "/v2/orders", json=market("META", "2", side="sell"))
        status, body, _ = await rest(venue, "DELETE", "/v2/positions")
        _, positions, _ = await rest(venue, "GET", "/v2/positions")
    assert status == 207
    assert [(r["symbol"], r["status"], r["body"]["side"]) for r in body] == [
        ("AAPL", 200, "sell"),
        ("META", 200, "buy"),
    ]
    assert positions == []


async def test_market_hours_queue_orders_until_the_open_and_expire_day_orders() -> None:
    friday_evening = datetime(2025, 1, 10, 23, 0, tzinfo=UTC)  # 18:00 New York
    async with alpaca_venue(always_open=False, clock=FakeClock(friday_evening)) as venue:
        _, clock, _ = await rest(venue, "GET", "/v2/clock")
        assert clock["is_open"] is False
        assert clock["next_open"] == "2025-01-13T09:30:00-05:00"
        _, order, _ = await rest(venue, "POST", "/v2/orders", json=market("GOOG", "2"))
        assert order["status"] == "accepted"
        bid = venue.sim.broker.quote("GOOG", friday_evening)[0]
        _, limit, _ = await rest(venue, "POST", "/v2/orders",
                                 json={**market("GOOG", "1"), "type": "limit",
                                       "limit_price": str(round(bid / 2, 2))})  # fmt: skip
        venue.fake.set(datetime(2025, 1, 13, 14, 29, tzinfo=UTC))  # Monday 9:29
        venue.sim.tick()
        assert venue.sim.broker.accounts["PKTEST1"].orders[order["id"]].status == "accepted"
        venue.fake.set(datetime(2025, 1, 13, 14, 30, tzinfo=UTC))  # the open
        venue.sim.tick()
        _, filled, _ = await rest(venue, "GET", f"/v2/orders/{order['id']}")
        assert filled["status"] == "filled"
        assert filled["filled_at"] == "2025-01-13T14:30:00.000000Z"
        venue.fake.set(datetime(2025, 1, 13, 21, 0, tzinfo=UTC))  # the close
        venue.sim.tick()
        _, expired, _ = await rest(venue, "GET", f"/v2/orders/{limit['id']}")
    assert events(venue, order["id"]) == ["accepted", "new", "fill"]
    assert expired["status"] == "expired" and expired["expired_at"] is not None
    assert events(venue, limit["id"]) == ["accepted", "new", "expired"]


async def test_order_queued_overnight_is_rejected_at_the_open_if_it_no_longer_fits() -> None:
    friday_evening = datetime(2025, 1, 10, 23, 0, tzinfo=UTC)
    monday_open = datetime(2025, 1, 13, 14, 30, tzinfo=UTC)
    async with alpaca_venue(always_open=False, clock=FakeClock(friday_evening),
                            margin_multiplier="1") as venue:  # fmt: skip
        broker = venue.sim.broker
        # A symbol whose ask is higher at Monday's open than on Friday evening.
        symbol = next(
            s
            for s in sorted(broker.prices.specs)
            if broker.quote(s, monday_open)[1] > broker.quote(s, friday_evening)[1]
        )
        qty = int(Decimal(100_000) / broker.quote(symbol, friday_evening)[1])
        status, order, _ = await rest(venue, "POST", "/v2/orders", json=market(symbol, str(qty)))
        assert (status, order["status"]) == (200, "accepted")
        venue.fake.set(monday_open)
        venue.sim.tick()
        _, rejected, _ = await rest(venue, "GET", f"/v2/orders/{order['id']}")
    assert rejected["status"] == "rejected" and rejected["failed_at"] is not None
    assert events(venue, order["id"]) == ["accepted", "rejected"]


async def test_bars_rest_paging_and_no_future() -> None:
    async with alpaca_venue(always_open=False) as venue:
        path = "/v2/stocks/SPY/bars"
        params = {"timeframe": "1Min", "start": "2025-01-06T14:30:00Z", "limit": "20"}
        pages, token = [], None
        while True:
            q = {**params, **({"page_token": token} if token else {})}
            status, page, _ = await rest(venue, "GET", path, params=q)
            assert status == 200 and page["symbol"] == "SPY"
            pages.append(page["bars"])
            token = page["next_page_token"]
            if token is None:
                break
            assert base64.urlsafe_b64decode(token)  # opaque but well-formed
        # Monday 9:30 to 10:00: 30 finished minutes, nothing from the current minute on.
        bars = [b for p in pages for b in p]
        assert [len(p) for p in pages] == [20, 10]
        assert bars[0]["t"] == "2025-01-06T14:30:00Z" and bars[-1]["t"] == "2025-01-06T14:59:00Z"
        status, daily, _ = await rest(venue, "GET", "/v2/stocks/bars",
                                      params={"symbols": "SPY,AAPL", "timeframe": "1Day",
                                              "start": "2025-01-01", "sort": "desc"})  # fmt: skip
        assert status == 200 and daily["next_page_token"] is None
        assert [b["t"] for b in daily["bars"]["SPY"]] == [
            "2025-01-06T05:00:00Z", "2025-01-03T05:00:00Z", "2025-01-02T05:00:00Z",
        ]  # fmt: skip
        # Today's daily bar so far is the 30 minute bars aggregated.
        today = daily["bars"]["SPY"][0]
        assert today["o"] == bars[0]["o"] and today["c"] == bars[-1]["c"]
        assert today["h"] == max(b["h"] for b in bars) and today["v"] == sum(b["v"] for b in bars)
        status, body, _ = await rest(venue, "GET", path, params={"timeframe": "7Day"})
        assert (status, body) == (400, {"message": "invalid timeframe: '7Day'"})
        status, body, _ = await rest(
            venue, "GET", path, params={"timeframe": "1Min", "start": "yesterday"}
        )
        assert status == 400 and "start" in body["message"]
        _, latest, _ = await rest(venue, "GET", "/v2/stocks/bars/latest", params={"symbols": "SPY"})
        assert latest["bars"]["SPY"] == bars[-1]
        _, quotes, _ = await rest(
            venue, "GET", "/v2/stocks/quotes/latest", params={"symbols": "SPY"}
        )
        bid, ask = venue.sim.broker.quote("SPY", venue.sim.now())
        assert (quotes["quotes"]["SPY"]["bp"], quotes["quotes"]["SPY"]["ap"]) == (
            float(bid),
            float(ask),
        )


async def test_step_control_moves_the_market() -> None:
    async with alpaca_venue() as venue:
        status, body, _ = await rest(venue, "POST", "/_sim/step", json={"seconds": 3600})
        assert status == 200 and body["now"] == "2025-01-06T16:00:00.000000Z"
        status, body, _ = await rest(venue, "POST", "/_sim/step", json={"seconds": "x"})
        assert status == 400
        _, stats, _ = await rest(venue, "GET", "/_sim/stats")
    assert stats["ticks"] == 1


async def test_time_scale_runs_the_stock_market_faster() -> None:
    async with alpaca_venue(time_scale=60) as venue:
        venue.fake.advance(2)  # two wall seconds are two market minutes
        _, clock, _ = await rest(venue, "GET", "/v2/clock")
        _, latest, _ = await rest(venue, "GET", "/v2/stocks/bars/latest", params={"symbols": "SPY"})
    assert clock["timestamp"].startswith("2025-01-06T10:02:00")
    assert latest["bars"]["SPY"]["t"] == "2025-01-06T15:01:00Z"
