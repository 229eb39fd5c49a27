"""The position rail holds on the fill, not only at the price the order was judged at (issue
#20), against the simulator's Alpaca with a wide quoted spread (300 bps: market orders cross
150 bps) and a model that buys as much as a tight ``max_position_size`` allows.

Before the fix the buys went out as market orders judged at the last price and filled at the
ask, past the rail (AAPL 50,689.14 USD against 50,000)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from arena_fakes import arena_settings
from test_arena_sim import KEY, SECRET, rows

from arenad.arena.alpaca import AlpacaExecutor, AlpacaMarketData, order_result, venue_urls
from arenad.arena.runner import ArenaRunner
from arenad.arena.schedule import Slot
from arenad.arena.store import ArenaStore
from arenad.clock import SystemClock
from arenad.venues.alpaca.rest import AlpacaREST
from arenad.venues.alpaca.streams import TradeUpdatesStream
from fixtures_sim import poll_until

SYMBOLS = ["AAPL", "NVDA", "MSFT", "TSLA"]
CAP = Decimal(50000)
SPREAD_BPS = 300


@contextlib.asynccontextmanager
async def arena_on_sim(sim: Any, store: Any, allowance_bps: int) -> AsyncIterator[ArenaRunner]:
    settings = arena_settings(
        [
            {
                "id": "all-in",
                "initial_capital": 1_000_000,
                "baseline": {"kind": "buy_and_hold", "position_fraction": 1.0},
            },
        ],
        rails={
            "allowed_symbols": SYMBOLS,
            "max_position_size": int(CAP),
            "market_allowance_bps": allowance_bps,
        },
        benchmark_symbol=None,
    )
    host, port = sim.alpaca_url.removeprefix("http://").split(":")
    urls = venue_urls(settings, host, int(port))
    rest = AlpacaREST(urls.trading, urls.data, KEY, SECRET)
    runner = ArenaRunner(
        settings, ArenaStore(store.writer), AlpacaMarketData(rest, "1Day"), AlpacaExecutor(rest)
    )

    async def on_update(msg: dict[str, Any]) -> None:
        order = msg.get("order") or {}
        if order.get("client_order_id"):
            await runner.on_order_update(order["client_order_id"], order_result(order))

    stream = TradeUpdatesStream(urls.trade_stream, KEY, SECRET, on_update, max_backoff_s=0.2)
    task = asyncio.create_task(stream.run())
    await runner.start()
    try:
        await poll_until(lambda: stream.connected, what="trade stream")
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.close()
        await rest.close()


@pytest.fixture
async def wide_sim(sim_factory: Any) -> Any:
    return await sim_factory(alpaca={"spread_bps": SPREAD_BPS}, alpaca_starting_cash=5_000_000)


def assert_within_rail(store: Any, runner: ArenaRunner) -> None:
    for o in rows(store.path, "SELECT * FROM arena_orders"):
        if o["filled_avg_price"] is not None:
            notional = Decimal(o["filled_qty"]) * Decimal(o["filled_avg_price"])
            assert notional <= CAP, f"{o['symbol']} filled at {notional} USD, over {CAP}"
    for p in runner.ledgers["all-in"].positions.values():
        assert p.notional() <= CAP, f"{p.symbol} held at {p.notional()} USD, over {CAP}"


async def test_buys_sized_to_the_rail_fill_within_it_across_a_wide_spread(  # type: ignore[no-untyped-def]
    wide_sim, store
) -> None:
    async with arena_on_sim(wide_sim, store, allowance_bps=250) as runner:
        summary = await runner.run(Slot(SystemClock().now(), "test:rails-spread"), "operator")
        assert summary.status == "completed", summary.errors
        assert summary.trades == len(SYMBOLS)
        await poll_until(lambda: not runner._pending, timeout=20, what="all fills booked")
        orders = rows(store.path, "SELECT * FROM arena_orders")
        assert {(o["status"], o["type"]) for o in orders} == {("filled", "limit")}
        assert set(runner.ledgers["all-in"].positions) == set(SYMBOLS)
        # The fills crossed the spread (they did not land at the judged last price) ...
        decided = {
            d["symbol"]: Decimal(d["current_price"])
            for d in rows(store.path, "SELECT * FROM arena_decisions")
        }
        assert all(Decimal(o["filled_avg_price"]) > decided[o["symbol"]] for o in orders)
        # ... and yet no position is past the rail, and no fill was flagged.
        assert_within_rail(store, runner)
        assert rows(store.path, "SELECT * FROM arena_rail_verdicts WHERE allowed = 0") == []


async def test_an_allowance_narrower_than_the_spread_rests_and_blocks_more_buys(  # type: ignore[no-untyped-def]
    wide_sim, store
) -> None:
    async with arena_on_sim(wide_sim, store, allowance_bps=20) as runner:
        first = await runner.run(Slot(SystemClock().now(), "test:rails-narrow-1"), "operator")
        assert first.status == "completed" and first.trades == len(SYMBOLS)
        # The limits sit 130 bps under the ask: the orders rest, nothing fills past them.
        orders = rows(store.path, "SELECT * FROM arena_orders")
        assert {o["status"] for o in orders} == {"new"}
        assert all(Decimal(o["filled_qty"]) == 0 for o in orders)
        assert runner.ledgers["all-in"].positions == {}
        # The next slot's buy-and-hold would buy again: the resting orders count into the
        # position it would make, so the rail refuses and no second order goes out.
        second = await runner.run(
            Slot(SystemClock().now(), "test:rails-narrow-2"), "operator", run_id="r-narrow-2"
        )
        assert second.status == "completed" and second.trades == 0
        assert len(rows(store.path, "SELECT * FROM arena_orders")) == len(SYMBOLS)
        refused = rows(
            store.path,
            "SELECT d.symbol, v.reason, d.verdicts FROM arena_rail_verdicts v"
            " JOIN arena_decisions d ON d.id = v.decision_id"
            " WHERE v.rail = 'max_position_size' AND v.allowed = 0",
        )
        assert {r["symbol"] for r in refused} == set(SYMBOLS)
        assert all("in open orders" in r["reason"] for r in refused)
        assert all(json.loads(r["verdicts"]) for r in refused)
        assert_within_rail(store, runner)
