"""The Alpaca REST adapter against httpx.MockTransport: pacing, 429s, error typing, paging."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from arenad.clock import FakeClock
from arenad.errors import OperationalError, OrderRejected, TemporaryError
from arenad.venues.alpaca.rest import AlpacaREST, DuplicateClientOrderId, OrderSpec

ORDER = {
    "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
    "client_order_id": "arena-s1-m1-AAPL",
    "created_at": "2025-01-02T15:00:00Z",
    "updated_at": "2025-01-02T15:00:00Z",
    "submitted_at": "2025-01-02T15:00:00Z",
    "filled_at": None,
    "expired_at": None,
    "canceled_at": None,
    "failed_at": None,
    "replaced_at": None,
    "replaced_by": None,
    "replaces": None,
    "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    "symbol": "AAPL",
    "asset_class": "us_equity",
    "notional": None,
    "qty": "3",
    "filled_qty": "0",
    "filled_avg_price": None,
    "order_class": "simple",
    "order_type": "market",
    "type": "market",
    "side": "buy",
    "time_in_force": "day",
    "limit_price": None,
    "stop_price": None,
    "status": "accepted",
    "extended_hours": False,
    "legs": None,
    "trail_percent": None,
    "trail_price": None,
    "hwm": None,
    "position_intent": "buy_to_open",
}


class AutoClock(FakeClock):
    """Sleeping advances time at once, and is recorded."""

    def __init__(self) -> None:
        super().__init__(datetime(2025, 1, 2, 15, 0, tzinfo=UTC))
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


def client(handler, clock: AutoClock, **kw) -> AlpacaREST:  # type: ignore[no-untyped-def]
    return AlpacaREST(
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
        "KEY",
        "SECRET",
        clock=clock,
        transport=httpx.MockTransport(handler),
        **kw,
    )


async def test_order_body_and_auth_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=ORDER)

    c = client(handler, AutoClock())
    spec = OrderSpec(
        "AAPL",
        Decimal("3"),
        "buy",
        "arena-s1-m1-AAPL",
        take_profit=Decimal("200.5"),
        stop_loss=Decimal("180"),
    )
    order = await c.submit_order(spec)
    assert order.client_order_id == "arena-s1-m1-AAPL" and order.symbol == "AAPL"
    body = json.loads(seen[0].content)
    assert body["order_class"] == "bracket" and body["qty"] == "3"
    assert body["take_profit"] == {"limit_price": "200.5"} and body["stop_loss"] == {
        "stop_price": "180"
    }
    assert seen[0].headers["APCA-API-KEY-ID"] == "KEY"


async def test_429_retry_after_is_honoured() -> None:
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "too many"})
        return httpx.Response(200, json=ORDER)

    clock = AutoClock()
    c = client(handler, clock)
    assert (await c.order_by_client_id("x")) is not None
    assert calls == 3 and clock.slept.count(7.0) >= 2


async def test_ratelimit_reset_header_blocks_the_next_request() -> None:
    clock = AutoClock()
    reset = int(clock.now().timestamp()) + 30

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json=ORDER,
            headers={
                "X-Ratelimit-Limit": "200",
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": str(reset),
            },
        )

    c = client(handler, clock)
    await c.order_by_client_id("a")
    assert clock.slept == []
    await c.order_by_client_id("b")
    assert clock.slept and abs(sum(clock.slept) - 30) < 1
    assert c.last_ratelimit["x-ratelimit-remaining"] == "0"


async def test_client_side_pacing_at_200_per_minute() -> None:
    clock = AutoClock()
    c = client(lambda req: httpx.Response(200, json=ORDER), clock, requests_per_minute=200)
    for _ in range(200):
        await c.order_by_client_id("x")
    assert clock.slept == []
    await c.order_by_client_id("x")
    assert len(clock.slept) == 1 and 59 <= clock.slept[0] <= 60


@pytest.mark.parametrize(
    ("status", "body", "exc"),
    [
        (
            422,
            {"code": 40010001, "message": "client_order_id must be unique"},
            DuplicateClientOrderId,
        ),
        (403, {"code": 40310000, "message": "insufficient buying power"}, OrderRejected),
        (422, {"code": 40010001, "message": "qty must be > 0"}, OrderRejected),
        (401, {"message": "unauthorized."}, OperationalError),
        (403, {"message": "forbidden"}, OperationalError),
    ],
)
async def test_client_errors_are_typed(status: int, body: dict, exc: type) -> None:  # type: ignore[type-arg]
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status, json=body)

    with pytest.raises(exc) as ei:
        await client(handler, AutoClock()).submit_order(OrderSpec("AAPL", Decimal(1), "buy", "c1"))
    assert body["message"] in str(ei.value)
    assert calls == 1  # never retried: retrying cannot change the answer


async def test_5xx_and_network_errors_retry_then_raise_temporary() -> None:
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls % 2:
            raise httpx.ConnectError("refused")
        return httpx.Response(503, text="<html>down</html>")

    clock = AutoClock()
    with pytest.raises(TemporaryError, match=r"503|ConnectError"):
        await client(handler, clock, max_retries=4).account()
    assert calls == 5 and len(clock.slept) == 4


async def test_bars_follow_next_page_token() -> None:
    pages = {
        None: {
            "bars": {"AAPL": [{"t": "1", "c": 1}], "MSFT": [{"t": "1", "c": 2}]},
            "next_page_token": "p2",
        },
        "p2": {"bars": {"AAPL": [{"t": "2", "c": 3}]}, "next_page_token": "p3"},
        "p3": {"bars": {"MSFT": [{"t": "2", "c": 4}]}, "next_page_token": None},
    }

    def handler(req: httpx.Request) -> httpx.Response:
        assert req.url.path == "/v2/stocks/bars"
        return httpx.Response(200, json=pages[req.url.params.get("page_token")])

    bars = await client(handler, AutoClock()).bars(
        ["AAPL", "MSFT"], "1Day", datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert [b["c"] for b in bars["AAPL"]] == [1, 3] and [b["c"] for b in bars["MSFT"]] == [2, 4]
