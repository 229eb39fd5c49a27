"""Runs of the four baselines through the orchestrator, on a real SQLite store with the
internal executor: decisions, verdicts, orders, ledgers, exits, at-most-once slots."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from arena_fakes import StaticMarket, arena_settings, make_bars

from arenad.arena import baselines
from arenad.arena.component import decision_rows
from arenad.arena.executor import InternalExecutor, OrderRequest, OrderResult
from arenad.arena.ledger import Ledger
from arenad.arena.market import Bar
from arenad.arena.rails import fill_breach
from arenad.arena.runner import ArenaRunner
from arenad.arena.schedule import Slot
from arenad.arena.settings import BaselineSettings, RailsSettings
from arenad.arena.store import ArenaStore, list_runs
from arenad.clock import FakeClock
from arenad.errors import TemporaryError
from arenad.guards.trading import TradingState
from arenad.metrics.recompute import Recomputer
from arenad.metrics.settings import MetricsSettings

NOW = datetime(2025, 3, 10, 19, 45, tzinfo=UTC)
SLOT = Slot(NOW, "daily:2025-03-10T19:45Z")


def baseline_models() -> list[dict[str, Any]]:
    return [
        {"id": "buy-and-hold", "baseline": {"kind": "buy_and_hold", "position_fraction": 0.1}},
        {"id": "momentum", "baseline": {"kind": "momentum", "position_fraction": 0.1}},
        {"id": "rsi-reversion", "baseline": {"kind": "rsi_reversion", "position_fraction": 0.1}},
        {
            "id": "random",
            "baseline": {"kind": "random", "trade_probability": 1.0, "position_fraction": 0.1},
        },
    ]


def market() -> StaticMarket:
    return StaticMarket(
        {
            "AAPL": make_bars("AAPL", drift=0.01, seed=3),
            "NVDA": make_bars("NVDA", drift=-0.02, seed=4),
        }
    )


def rows(path: Any, sql: str, *args: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def make_runner(store: Any, **kw: Any) -> tuple[ArenaRunner, InternalExecutor, FakeClock]:
    clock = FakeClock(NOW)
    ex = InternalExecutor(clock)
    runner = ArenaRunner(
        arena_settings(baseline_models()),
        ArenaStore(store.writer),
        kw.pop("market", market()),
        ex,
        clock=clock,
        **kw,
    )
    await runner.start()
    return runner, ex, clock


async def test_baselines_run_places_orders_once_per_slot(store) -> None:  # type: ignore[no-untyped-def]
    runner, ex, clock = await make_runner(store)
    s = await runner.run(SLOT)
    assert s.status == "completed" and s.errors == []
    assert s.models_executed == ["buy-and-hold", "momentum", "random", "rsi-reversion"]
    assert s.decisions == 8
    dec = {
        (r["model_id"], r["symbol"]): r for r in rows(store.path, "SELECT * FROM arena_decisions")
    }
    assert dec[("buy-and-hold", "AAPL")]["action"] == "BUY"
    assert dec[("momentum", "AAPL")]["action"] == "BUY"  # uptrend: fast SMA above slow
    assert dec[("rsi-reversion", "NVDA")]["action"] == "BUY"  # downtrend: oversold
    assert dec[("momentum", "NVDA")]["action"] == "HOLD"
    bought = [r for r in dec.values() if r["action"] == "BUY"]
    assert all(r["rails_allowed"] == 1 and r["order_status"] == "filled" for r in bought)
    assert len(ex.orders) == s.trades == len(bought)
    verdicts = rows(store.path, "SELECT * FROM arena_rail_verdicts")
    assert {v["rail"] for v in verdicts} >= {"kill_switch", "max_position_size", "max_daily_loss"}
    orders = rows(store.path, "SELECT * FROM arena_orders")
    assert {o["client_order_id"] for o in orders} == {r["client_order_id"] for r in bought}
    led = runner.ledgers["buy-and-hold"]
    assert set(led.positions) == {"AAPL", "NVDA"}
    assert led.cash + sum(p.qty * p.avg_price for p in led.positions.values()) == Decimal(100000)
    books = rows(store.path, "SELECT * FROM books WHERE kind = 'arena_model'")
    assert {b["book_id"] for b in books} == {f"arena:{m['id']}" for m in baseline_models()}

    # the same slot again, and after a restart: nothing happens
    again = await runner.run(SLOT)
    assert again.status == "skipped" and len(ex.orders) == len(bought)
    runner2, ex2, _ = await make_runner(store)
    assert runner2.ledgers["buy-and-hold"].positions == led.positions
    assert runner2.ledgers["buy-and-hold"].cash == led.cash
    assert (await runner2.run(SLOT)).status == "skipped" and ex2.orders == []

    # the next slot: buy-and-hold keeps what it has
    clock.advance(86400)
    nxt = await runner2.run(Slot(NOW + timedelta(days=1), "daily:2025-03-11T19:45Z"))
    assert nxt.status == "completed"
    assert not [o for o in ex2.orders if "buy-and-hold" in o.client_order_id]
    runs = list_runs(store.path)
    assert [r.slot_key for r in runs] == ["daily:2025-03-11T19:45Z", "daily:2025-03-10T19:45Z"]
    assert runs[1].trades_generated == len(bought) and runs[1].top_performer is not None
    assert runs[1].models_executed == s.models_executed


async def test_stop_loss_and_take_profit_fire_from_prices(store) -> None:  # type: ignore[no-untyped-def]
    runner, ex, _clock = await make_runner(store)
    await runner.run(SLOT)
    mom = runner.ledgers["momentum"].positions["AAPL"]
    rsi = runner.ledgers["rsi-reversion"].positions["NVDA"]
    assert mom.stop_loss is not None and rsi.take_profit is not None
    n_orders = len(ex.orders)
    assert await runner.on_price("AAPL", mom.avg_price) == []
    taken = await runner.on_price("AAPL", mom.stop_loss - Decimal("0.01"))
    assert {(t.reason, t.symbol) for t in taken} >= {("stop_loss", "AAPL")}
    assert "AAPL" not in runner.ledgers["momentum"].positions
    assert "AAPL" in runner.ledgers["buy-and-hold"].positions  # no stop: keeps it
    taken = await runner.on_price("NVDA", rsi.take_profit)
    assert ("take_profit", "NVDA") in {(t.reason, t.symbol) for t in taken}
    trades = {
        (t["model_id"], t["exit_reason"]): t for t in rows(store.path, "SELECT * FROM arena_trades")
    }
    sl = trades[("momentum", "stop_loss")]
    assert Decimal(sl["pnl"]) < 0 and sl["pnl_pct"] < 0
    assert Decimal(sl["exit_price"]) == mom.stop_loss - Decimal("0.01")
    tp = trades[("rsi-reversion", "take_profit")]
    assert Decimal(tp["pnl"]) > 0
    assert len(ex.orders) > n_orders
    # repeated ticks close nothing twice
    await runner.on_price("AAPL", mom.stop_loss - 1)
    await runner.on_price("AAPL", mom.stop_loss - 2)
    exits = rows(
        store.path, "SELECT * FROM arena_orders WHERE purpose = 'exit' AND model_id = 'momentum'"
    )
    assert len(exits) == 1 and exits[0]["exit_reason"] == "stop_loss"
    positions = rows(store.path, "SELECT * FROM arena_positions WHERE book_id = 'arena:momentum'")
    assert "AAPL" not in {p["symbol"] for p in positions}
    # manual close through the runner
    sig = await runner.close_position("buy-and-hold", "NVDA", Decimal(50))
    assert sig is not None and sig.reason == "manual"
    assert await runner.close_position("buy-and-hold", "NVDA", Decimal(50)) is None


async def test_kill_switch_blocks_every_order_but_records_decisions(store) -> None:  # type: ignore[no-untyped-def]
    runner, ex, _ = await make_runner(store, trading_state=lambda: TradingState.HALTED)
    s = await runner.run(SLOT)
    assert s.status == "completed" and ex.orders == [] and s.trades == 0
    buys = rows(store.path, "SELECT * FROM arena_decisions WHERE action = 'BUY'")
    assert buys and all(r["rails_allowed"] == 0 and "kill switch" in r["error"] for r in buys)
    assert rows(store.path, "SELECT * FROM arena_orders") == []


class SlippingVenue(InternalExecutor):
    """A venue that fills 5% past the order's limit (what the rail check on the fill is for:
    a broken venue, or one whose fill the limit does not bound)."""

    async def submit(self, req: OrderRequest) -> OrderResult:
        res = await super().submit(req)
        if res.filled_avg_price is None:
            return res
        worse = (req.limit_price or req.reference_price) * Decimal("1.05")
        return OrderResult(
            res.status,
            res.venue_order_id,
            res.filled_qty,
            worse.quantize(Decimal("0.01")),
            res.filled_at,
        )


async def test_market_buys_go_out_as_limits_judged_with_the_allowance(store) -> None:  # type: ignore[no-untyped-def]
    settings = arena_settings(
        [{"id": "bh", "baseline": {"kind": "buy_and_hold", "position_fraction": 1.0}}],
        rails={"allowed_symbols": ["AAPL", "NVDA"], "max_position_size": 10000},
    )
    clock = FakeClock(NOW)
    ex = InternalExecutor(clock)
    runner = ArenaRunner(settings, ArenaStore(store.writer), market(), ex, clock=clock)
    await runner.start()
    assert (await runner.run(SLOT)).trades == 2
    for o in ex.orders:
        assert o.limit_price is not None
        assert o.limit_price == (o.reference_price * Decimal("1.005")).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN
        )
        assert o.qty * o.limit_price <= 10000 < (o.qty + 1) * o.limit_price
    orders = rows(store.path, "SELECT type, limit_price FROM arena_orders")
    assert {r["type"] for r in orders} == {"limit"}


async def test_a_fill_past_the_position_rail_is_recorded_and_raised(store) -> None:  # type: ignore[no-untyped-def]
    settings = arena_settings(
        [{"id": "bh", "baseline": {"kind": "buy_and_hold", "position_fraction": 1.0}}],
        rails={"allowed_symbols": ["AAPL", "NVDA"], "max_position_size": 10000},
    )
    clock = FakeClock(NOW)
    alerts: list[tuple[str, dict[str, Any]]] = []
    published: list[tuple[str, dict[str, Any]]] = []

    async def alert(msg: str, details: dict[str, Any]) -> None:
        alerts.append((msg, details))

    runner = ArenaRunner(
        settings,
        ArenaStore(store.writer),
        market(),
        SlippingVenue(clock),
        clock=clock,
        alert=alert,
        publish=lambda topic, data: published.append((topic, data)),
    )
    await runner.start()
    s = await runner.run(SLOT)
    assert s.trades == 2
    led = runner.ledgers["bh"]
    assert all(p.notional() > 10000 for p in led.positions.values())  # the fills stand
    flagged = rows(
        store.path,
        "SELECT d.symbol, d.verdicts, v.reason FROM arena_rail_verdicts v JOIN arena_decisions d"
        " ON d.id = v.decision_id WHERE v.rail = 'max_position_size_fill' AND v.allowed = 0",
    )
    assert {r["symbol"] for r in flagged} == {"AAPL", "NVDA"}
    for r in flagged:
        assert "over 10000" in r["reason"]
        rails_seen = [v["rail"] for v in json.loads(r["verdicts"])]
        # the verdicts judged before the order stay, the fill's is added once, at the end
        assert rails_seen[-1] == "max_position_size_fill" and "max_position_size" in rails_seen
        assert rails_seen.count("max_position_size_fill") == 1
    assert {a[1]["symbol"] for a in alerts} == {"AAPL", "NVDA"}
    assert all(not a[1]["allowed"] and "over 10000" in a[0] for a in alerts)
    assert {d["symbol"] for t, d in published if t == "arena_rail"} == {"AAPL", "NVDA"}
    # a second breaching fill of the same decision replaces the verdict, not duplicates it
    (d,) = rows(store.path, "SELECT id FROM arena_decisions WHERE symbol = 'AAPL'")
    again = fill_breach(Decimal(200), Decimal(100), settings.rails)
    assert again is not None
    await runner.store.record_verdict(d["id"], again)
    (after,) = rows(store.path, "SELECT verdicts FROM arena_decisions WHERE symbol = 'AAPL'")
    fill_vs = [v for v in json.loads(after["verdicts"]) if v["rail"] == "max_position_size_fill"]
    assert len(fill_vs) == 1 and "20000.00 USD" in fill_vs[0]["reason"]


async def test_top_performer_is_chosen_among_models_that_traded(store) -> None:  # type: ignore[no-untyped-def]
    # nothing trades (the kill switch): no top performer, even though all tie at 0
    runner, _, _ = await make_runner(store, trading_state=lambda: TradingState.HALTED)
    s = await runner.run(SLOT)
    assert s.trades == 0 and s.top_performer is None
    assert list_runs(store.path)[0].top_performer is None


async def test_top_performer_skips_a_model_without_trades_in_a_tie(store) -> None:  # type: ignore[no-untyped-def]
    # The first run: every P&L since the last run is 0. "zz-idle" sorts last and would win
    # the tie, but it cannot trade (its slow average needs 200 bars of the 60 there are).
    models = [
        {"id": "buy-and-hold", "baseline": {"kind": "buy_and_hold", "position_fraction": 0.1}},
        {"id": "zz-idle", "baseline": {"kind": "momentum", "slow": 200, "fast": 5}},
    ]
    clock = FakeClock(NOW)
    runner = ArenaRunner(
        arena_settings(models),
        ArenaStore(store.writer),
        market(),
        InternalExecutor(clock),
        clock=clock,
    )
    await runner.start()
    s = await runner.run(SLOT)
    assert s.trades == 2 and s.total_pnl == 0.0
    assert s.top_performer == "buy-and-hold"
    assert list_runs(store.path)[0].top_performer == "buy-and-hold"


async def test_avg_confidence_averages_only_decisions_that_act(store) -> None:  # type: ignore[no-untyped-def]
    runner, _, clock = await make_runner(store)
    await runner.run(SLOT)
    await store.writer.flush()
    (holds,) = rows(store.path, "SELECT count(*) AS n FROM arena_decisions WHERE action = 'HOLD'")
    assert holds["n"] > 0  # the run has HOLDs (confidence 0.0) to leave out
    expected = {
        r["book_id"]: r["c"]
        for r in rows(
            store.path,
            "SELECT book_id, avg(confidence) AS c FROM arena_decisions"
            " WHERE action != 'HOLD' GROUP BY book_id",
        )
    }
    rc = Recomputer(store.path, MetricsSettings(min_points=2, min_trades=1))
    await rc.run(store.writer.transaction, clock.now() + timedelta(seconds=1))
    got = {
        r["model_id"]: r["avg_confidence"]
        for r in rows(store.path, "SELECT model_id, avg_confidence FROM model_performance")
        if r["model_id"].startswith("arena:")
    }
    assert got == pytest.approx(expected)
    # the arena's own record keeps every decision's confidence, HOLDs included
    kept = rows(store.path, "SELECT confidence FROM arena_decisions WHERE action = 'HOLD'")
    assert kept and all(r["confidence"] is not None for r in kept)


async def test_filled_market_buy_records_the_fill_price_as_entry(store) -> None:  # type: ignore[no-untyped-def]
    runner, _ex, _ = await make_runner(store)
    await runner.run(SLOT)
    filled = rows(
        store.path,
        "SELECT d.id, d.entry_price AS asked, o.filled_avg_price, o.filled_at"
        " FROM arena_decisions d JOIN arena_orders o ON o.client_order_id = d.client_order_id"
        " WHERE o.status = 'filled' AND d.action = 'BUY'",
    )
    assert filled and all(r["asked"] is None for r in filled)  # market buys
    logged = {
        int(r["source_id"]): r
        for r in rows(store.path, "SELECT * FROM decision_log WHERE source = 'arena'")
    }
    for r in filled:
        lg = logged[r["id"]]
        assert lg["entry_price"] == r["filled_avg_price"] is not None
        assert lg["executed"] == 1 and lg["execution_price"] == r["filled_avg_price"]
        assert lg["execution_time"] == r["filled_at"] and lg["execution_status"] == "filled"
    # the control command shows the fill as the entry of a market buy
    wired = {d["id"]: d for d in await decision_rows(store.path, None, 100)}
    for r in filled:
        assert wired[r["id"]]["entry_price"] == r["filled_avg_price"]
        assert wired[r["id"]]["filled_price"] == r["filled_avg_price"]
    holds = [d for d in wired.values() if d["action"] == "HOLD"]
    assert holds and all(d["entry_price"] is None for d in holds)


class BrokenMarket:
    async def bars(self, symbols: Sequence[str], limit: int) -> dict[str, list[Bar]]:
        raise TemporaryError("alpaca bars: HTTP 503")


async def test_market_data_failure_fails_the_run_cleanly(store) -> None:  # type: ignore[no-untyped-def]
    runner, _ex, _ = await make_runner(store, market=BrokenMarket())
    s = await runner.run(SLOT)
    assert s.status == "failed" and "HTTP 503" in s.errors[0]["error"]
    (run,) = rows(store.path, "SELECT * FROM arena_runs")
    assert run["status"] == "failed" and run["completed_at"] is not None


async def test_interrupted_run_is_marked_stopped_at_start(store) -> None:  # type: ignore[no-untyped-def]
    arena = ArenaStore(store.writer)
    assert await arena.claim_run("r-x", SLOT, "schedule", NOW, ["momentum"])
    runner, _, _ = await make_runner(store)
    (run,) = rows(store.path, "SELECT * FROM arena_runs")
    assert run["status"] == "stopped" and "interrupted" in json.loads(run["errors"])[0]["error"]
    assert (await runner.run(SLOT)).status == "skipped"  # at most once, even then


def test_baselines_are_deterministic() -> None:
    bars = make_bars("AAPL", drift=0.01, seed=3)
    led = Ledger.new("arena:x", Decimal(100000))
    rails = RailsSettings()
    for kind in ("buy_and_hold", "momentum", "rsi_reversion", "random"):
        b = BaselineSettings(kind=kind)  # type: ignore[arg-type]
        a1 = baselines.decide(b, "AAPL", bars, led, Decimal(100000), rails, "k1")
        a2 = baselines.decide(b, "AAPL", bars, led, Decimal(100000), rails, "k1")
        assert a1 == a2
        if a1.action == "BUY":
            assert a1.quantity and a1.quantity * bars[-1].close <= rails.max_position_size
    r = BaselineSettings(kind="random", trade_probability=0.5)
    acts = {
        baselines.decide(r, "AAPL", bars, led, Decimal(100000), rails, f"slot{i}").action
        for i in range(30)
    }
    assert acts == {"BUY", "HOLD"}
    assert (
        baselines.decide(
            BaselineSettings(kind="momentum"), "AAPL", bars[:5], led, Decimal(1), rails, "k"
        ).action
        == "HOLD"
    )
