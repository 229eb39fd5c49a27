"""The arena against the simulator's Alpaca on loopback: a scheduled run of the four baselines
places orders, fills come back over the trade-updates stream, the ledgers reconcile with the
account, and a stop loss and a take profit fire from the market-data stream. A crash between
committing an order intent and recording the venue's answer leaves no duplicate order."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from arena_fakes import arena_settings

from arenad.arena.alpaca import AlpacaExecutor, AlpacaMarketData, order_result, venue_urls
from arenad.arena.calendar import NyseCalendar
from arenad.arena.executor import OrderRequest
from arenad.arena.rails import client_order_id
from arenad.arena.runner import ArenaRunner
from arenad.arena.schedule import Schedule
from arenad.arena.scheduler import run_schedule
from arenad.arena.settings import ScheduleSettings
from arenad.arena.store import ArenaStore
from arenad.clock import SystemClock
from arenad.metrics.recompute import Recomputer
from arenad.metrics.settings import MetricsSettings
from arenad.venues.alpaca.rest import AlpacaREST, OrderSpec
from arenad.venues.alpaca.streams import MarketDataStream, TradeUpdatesStream
from fixtures_sim import poll_until

SYMBOLS = ["AAPL", "NVDA", "MSFT"]
KEY, SECRET = "PKARENA1", "secret-arena-1"


def models() -> list[dict[str, Any]]:
    return [
        {"id": "buy-and-hold", "baseline": {"kind": "buy_and_hold", "position_fraction": 0.05}},
        {"id": "momentum", "baseline": {"kind": "momentum", "position_fraction": 0.05}},
        {"id": "rsi-reversion", "baseline": {"kind": "rsi_reversion", "position_fraction": 0.05}},
        {
            "id": "random",
            "baseline": {"kind": "random", "trade_probability": 1.0, "position_fraction": 0.05},
        },
    ]


def rows(path: Any, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


class Wiring:
    """What the daemon component wires, built by hand around one runner."""

    def __init__(self, sim: Any, store: Any, **kw: Any) -> None:
        self.settings = arena_settings(
            models(),
            rails={"allowed_symbols": SYMBOLS, "max_position_size": 20000},
            schedule={
                "kind": "cron",
                "cron": "* * * * *",
                "market_days_only": False,
                "missed_max_age_s": 120,
            },
            **kw,
        )
        host, port = sim.alpaca_url.removeprefix("http://").split(":")
        self.urls = venue_urls(self.settings, host, int(port))
        self.rest = AlpacaREST(self.urls.trading, self.urls.data, KEY, SECRET)
        self.executor = AlpacaExecutor(self.rest)
        self.runner = ArenaRunner(
            self.settings,
            ArenaStore(store.writer),
            AlpacaMarketData(self.rest, "1Day"),
            self.executor,
        )
        self.updates: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.trades_stream: TradeUpdatesStream | None = None
        self.data_stream: MarketDataStream | None = None
        self.ticks = 0

    async def on_update(self, msg: dict[str, Any]) -> None:
        self.updates.append(msg)
        order = msg.get("order") or {}
        if order.get("client_order_id"):
            await self.runner.on_order_update(order["client_order_id"], order_result(order))

    async def on_tick(self, m: dict[str, Any]) -> None:
        if m.get("T") == "t":
            self.ticks += 1
            await self.runner.on_price(m["S"], Decimal(str(m["p"])))

    async def start_streams(self) -> None:
        self.trades_stream = TradeUpdatesStream(
            self.urls.trade_stream, KEY, SECRET, self.on_update, max_backoff_s=0.2
        )
        self.tasks.append(asyncio.create_task(self.trades_stream.run()))
        await poll_until(lambda: self.trades_stream.connected, what="trade stream")

    async def start_market_data(self) -> None:
        self.data_stream = MarketDataStream(
            self.urls.data_stream, KEY, SECRET, self.on_tick, trades=SYMBOLS, max_backoff_s=0.2
        )
        self.tasks.append(asyncio.create_task(self.data_stream.run()))

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.runner.close()
        await self.rest.close()

    async def account(self) -> dict[str, Decimal]:
        return await self.executor.positions()


@pytest.mark.live_market
async def test_scheduled_baseline_run_fills_reconciles_and_exits(sim_server, store) -> None:  # type: ignore[no-untyped-def]
    w = Wiring(sim_server, store)
    await w.runner.start()
    await w.start_streams()
    try:
        # a scheduled slot (cron every minute; the current minute's slot is caught up once)
        ran = []

        async def run(slot: Any, trigger: str) -> None:
            ran.append(await w.runner.run(slot, trigger))  # type: ignore[arg-type]

        sched = Schedule(
            ScheduleSettings.model_validate(w.settings.schedule.model_dump()), NyseCalendar()
        )
        loop = asyncio.create_task(run_schedule(sched, SystemClock(), run))
        await poll_until(lambda: ran, timeout=30, what="the scheduled run")
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        (summary,) = ran
        assert summary.status == "completed", summary.errors
        assert summary.trades > 0 and summary.models_executed == sorted(m["id"] for m in models())
        # every order fills over the trade-updates stream; ledgers book the fills
        await poll_until(lambda: not w.runner._pending, timeout=20, what="all fills booked")
        orders = rows(store.path, "SELECT * FROM arena_orders")
        assert len(orders) == summary.trades
        assert all(
            o["status"] == "filled" and Decimal(o["filled_qty"]) == Decimal(o["qty"])
            for o in orders
        )
        fills = {u["order"]["client_order_id"] for u in w.updates if u["event"] == "fill"}
        assert fills == {o["client_order_id"] for o in orders}
        assert await w.runner.account_drift(await w.account()) == {}
        bh = w.runner.ledgers["buy-and-hold"]
        assert set(bh.positions) == set(SYMBOLS)
        assert all(p.avg_price > 0 for p in bh.positions.values())

        # stop loss and take profit from market data: move one position's stop just above
        # the market and another's target just below it, then let ticks arrive
        mom = w.runner.ledgers["momentum"]
        rnd = w.runner.ledgers["random"]
        sym_sl = next(iter(rnd.positions))
        p = rnd.positions[sym_sl]
        rnd.positions[sym_sl] = dataclasses.replace(p, stop_loss=p.avg_price * 2, take_profit=None)
        tp_book, sym_tp = next(
            (led, s)
            for led in (mom, w.runner.ledgers["rsi-reversion"], bh)
            for s in led.positions
            if (led is not bh or s != sym_sl)
        )
        q = tp_book.positions[sym_tp]
        tp_book.positions[sym_tp] = dataclasses.replace(
            q, take_profit=q.avg_price / 2, stop_loss=None
        )
        await w.start_market_data()
        await poll_until(
            lambda: sym_sl not in rnd.positions and sym_tp not in tp_book.positions,
            timeout=30,
            what="the stop loss and the take profit",
        )
        await poll_until(lambda: not w.runner._pending, timeout=20, what="exit fills booked")
        trades = rows(store.path, "SELECT * FROM arena_trades")
        reasons = {(t["model_id"], t["symbol"], t["exit_reason"]) for t in trades}
        assert ("random", sym_sl, "stop_loss") in reasons
        assert (tp_book.book_id.removeprefix("arena:"), sym_tp, "take_profit") in reasons
        for t in trades:
            assert Decimal(t["exit_price"]) > 0 and t["pnl_pct"] is not None
        assert await w.runner.account_drift(await w.account()) == {}

        # The books feed the leaderboard: decisions, round trips and equity in 0002, and the
        # standings update from them (with the buy-and-hold SPY benchmark beside the models).
        await store.writer.flush()
        logged = rows(store.path, "SELECT book_id, source, decision FROM decision_log")
        decided = rows(store.path, "SELECT book_id, action FROM arena_decisions")
        assert len(logged) == len(decided) and {r["source"] for r in logged} == {"arena"}
        trip_log = rows(store.path, "SELECT * FROM trade_log WHERE source = 'arena'")
        assert len(trip_log) == len(trades)
        assert sorted(round(r["realized_pnl"], 6) for r in trip_log) == sorted(
            round(float(Decimal(t["pnl"])), 6) for t in trades
        )
        eq_books = {r["book_id"] for r in rows(store.path, "SELECT book_id FROM equity_snapshots")}
        assert {f"arena:{m['id']}" for m in models()} <= eq_books
        assert "benchmark:SPY" in eq_books
        rc = Recomputer(store.path, MetricsSettings(min_points=2, min_trades=1))
        await rc.run(store.writer.transaction, datetime.now(UTC) + timedelta(seconds=1))
        standings = {r["book_id"]: r for r in rows(store.path, "SELECT * FROM current_standings")}
        assert set(standings) >= eq_books
        assert sum(standings[b]["trades"] for b in standings) == len(trades)
    finally:
        await w.close()


async def test_crash_between_intent_and_answer_leaves_no_duplicate(sim_server, store) -> None:  # type: ignore[no-untyped-def]
    w = Wiring(sim_server, store)
    await w.runner.start()
    arena = ArenaStore(store.writer)
    slot_key = "cron:2025-03-10T19:45Z"
    sent = client_order_id(slot_key, "momentum", "AAPL")
    lost = client_order_id(slot_key, "momentum", "NVDA")
    now = SystemClock().now()
    for cid, sym in ((sent, "AAPL"), (lost, "NVDA")):
        assert await arena.write_intent(
            cid=cid,
            now=now,
            run_id=None,
            decision_id=None,
            model_id="momentum",
            book_id="arena:momentum",
            symbol=sym,
            side="buy",
            qty=Decimal(3),
            limit_price=None,
            purpose="entry",
            stop_loss=Decimal(1),
            timeframe="swing",
        )
    # the process sent `sent` and died before recording the answer; `lost` was never sent
    await w.rest.submit_order(OrderSpec("AAPL", Decimal(3), "buy", sent))
    await w.close()

    w2 = Wiring(sim_server, store)  # the restart
    await w2.runner.start()
    try:
        assert set(w2.runner._pending) == {sent, lost}
        for _ in range(50):  # the sim fills market orders on its next tick
            found = await w2.executor.lookup(sent)
            if found is not None and found.status == "filled":
                break
            await asyncio.sleep(0.1)
        assert await w2.runner.reconcile_orders(w2.executor.lookup) == 2
        orders = {o["client_order_id"]: o for o in rows(store.path, "SELECT * FROM arena_orders")}
        assert orders[sent]["status"] == "filled" and orders[lost]["status"] == "not_sent"
        led = w2.runner.ledgers["momentum"]
        assert led.qty("AAPL") == Decimal(3) and led.qty("NVDA") == 0
        assert led.positions["AAPL"].stop_loss == Decimal(1)
        # re-sending the same cause is refused by the store and, were it sent, by the venue
        req = OrderRequest(sent, "AAPL", "buy", Decimal(3), Decimal(100))
        m = w2.settings.model("momentum")
        assert m is not None
        async with w2.runner._locks["momentum"]:
            assert not await w2.runner._execute(req, m, None, None, "entry", None, None)
        dup = await w2.executor.submit(req)
        assert dup.status == "filled"  # the venue's existing order, adopted, not a new one
        account = await w2.account()
        assert account.get("AAPL") == Decimal(3)
        assert await w2.runner.account_drift(account) == {}
    finally:
        await w2.close()
