"""Schema 0006 and the persistence functions, on a real migrated SQLite file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest

from arenad.store.db import connect_sync, open_reader
from arenad.strategies import store as db
from arenad.strategies.batch import BatchResult, RunResult, plan_batch, run_batch
from arenad.strategies.definition import (
    StrategyError,
    VariableSpec,
    compile_root,
    parse_strategy,
)
from arenad.strategies.engine import BacktestConfig, run_backtest
from arenad.strategies.synthetic import make_prices
from conftest import Store

NOW = datetime(2025, 3, 3, 15, 45, tzinfo=UTC)
PRICES = make_prices(["SPY", "QQQ", "TLT"], 200, seed=4)
SEED_STRATEGY = {
    "name": "core",
    "elements": [{"type": "ticker", "ticker": "$t", "weight": "1"}],
    "tags": ["core", "etf"],
}


def rows(path: Any, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = connect_sync(path, readonly=True)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


async def test_every_seed_table_exists(store: Store) -> None:
    names = {r[0] for r in rows(store.path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "strategies",
        "backtest_results",
        "batch_jobs",
        "batch_job_runs",
        "active_strategies",
        "active_strategy_snapshots",
        "variable_lists",
        "execution_orders",
    } <= names
    assert "users" not in names  # single-operator by design
    for table in names & {"strategies", "batch_jobs", "active_strategies"}:
        cols = {r[1] for r in rows(store.path, f"PRAGMA table_info({table})")}
        assert "user_id" not in cols


async def test_a_saved_strategy_is_a_book(store: Store) -> None:
    sf = parse_strategy(SEED_STRATEGY)
    sid = await store_save(store, sf)
    (book,) = rows(store.path, "SELECT * FROM books WHERE book_id = ?", (f"strategy:{sid}",))
    assert (book["kind"], book["name"], json.loads(book["details"])) == (
        "strategy",
        "core",
        {"strategy_id": sid},
    )
    (s,) = rows(store.path, "SELECT * FROM strategies WHERE id = ?", (sid,))
    assert json.loads(s["elements"]) == SEED_STRATEGY["elements"]
    assert json.loads(s["tags"]) == ["core", "etf"]
    # tags are queryable like the seed's array column
    assert (
        rows(
            store.path, "SELECT s.id FROM strategies s, json_each(s.tags) t WHERE t.value = 'etf'"
        )[0][0]
        == sid
    )
    # Saving the same name again updates that strategy (and its book), keeping the id.
    again = await store_save(store, parse_strategy({**SEED_STRATEGY, "description": "v2"}))
    assert again == sid
    assert rows(store.path, "SELECT description FROM strategies")[0][0] == "v2"
    assert rows(store.path, "SELECT count(*) FROM books WHERE kind = 'strategy'")[0][0] == 1


async def store_save(st: Store, sf: Any) -> int:
    return await db.save_strategy(st.writer, sf, now=NOW)


async def test_updated_at_trigger(store: Store) -> None:
    sid = await store_save(store, parse_strategy(SEED_STRATEGY))
    await store.writer.execute("UPDATE strategies SET is_archived = 1 WHERE id = ?", (sid,))
    (r,) = rows(store.path, "SELECT created_at, updated_at FROM strategies")
    assert r["created_at"] == "2025-03-03T15:45:00.000000Z"
    assert r["updated_at"] > r["created_at"] and r["updated_at"].endswith("000Z")


async def test_backtest_history_and_its_metric_columns(store: Store) -> None:
    sf = parse_strategy(SEED_STRATEGY)
    sid = await store_save(store, sf)
    cfg = BacktestConfig(benchmark="SPY")
    res = run_backtest(compile_root(sf.template(), {"t": "QQQ"}), PRICES, cfg)
    bid = await db.save_backtest(
        store.writer,
        res,
        cfg,
        elements=[{"ticker": "QQQ"}],
        strategy_id=sid,
        variables={"t": "QQQ"},
        now=NOW,
    )
    (r,) = rows(store.path, "SELECT * FROM backtest_results WHERE id = ?", (bid,))
    assert r["total_return"] == pytest.approx(res.metrics["total_return"])
    assert r["sharpe"] == pytest.approx(res.metrics["sharpe"])
    assert json.loads(r["equity_curve"])[0] == {"date": res.start, "value": 100_000.0}
    assert json.loads(r["positions"])[0] == {"date": res.start, "ticker": "QQQ", "weight": 1.0}
    assert (r["start_date"], r["end_date"], r["benchmark_symbol"]) == (res.start, res.end, "SPY")
    # Deleting the strategy keeps its history (seed: ON DELETE SET NULL).
    await store.writer.execute("DELETE FROM strategies WHERE id = ?", (sid,))
    assert rows(store.path, "SELECT strategy_id FROM backtest_results")[0][0] is None


async def test_sweep_runs_are_queryable_by_metric(store: Store) -> None:
    sf = parse_strategy(SEED_STRATEGY)
    sid = await store_save(store, sf)
    plan = plan_batch(
        sf.template(),
        [VariableSpec(name="t", values=["SPY", "QQQ", "TLT"])],
        PRICES,
        BacktestConfig(),
        2,
    )
    job = db.new_batch_id(NOW)
    await db.create_batch_job(
        store.writer,
        plan,
        job_id=job,
        name="core sweep",
        strategy_id=sid,
        kind="local",
        workers=1,
        now=NOW,
    )
    (j,) = rows(store.path, "SELECT * FROM batch_jobs")
    assert (j["status"], j["total"], j["completed"], j["truncated"]) == ("running", 2, 0, 1)
    assert json.loads(j["variables"]) == [
        {"name": "t", "values": ["SPY", "QQQ", "TLT"], "count": 3}
    ]
    await db.update_batch_progress(store.writer, job, 1, now=NOW)
    await store.writer.flush()
    assert rows(store.path, "SELECT completed FROM batch_jobs")[0][0] == 1

    result = run_batch(plan, PRICES, workers=0)
    # Plus two hand-made runs so the threshold query has something on each side.
    result = BatchResult(
        plan,
        [
            *result.runs,
            RunResult(2, {"t": "X"}, {"total_return": 0.75}),
            RunResult(3, {"t": "Y"}, {"total_return": 0.5}),
        ],
    )
    await db.finish_batch_job(store.writer, job, result, now=NOW)
    (j,) = rows(store.path, "SELECT * FROM batch_jobs")
    assert (j["status"], j["completed"], j["completed_at"]) == (
        "finished",
        4,
        "2025-03-03T15:45:00.000000Z",
    )
    assert json.loads(j["summary"])["best"] == {
        "run_index": 2,
        "vars": {"t": "X"},
        "total_return": 0.75,
    }

    # The seed's example: "find all runs where total_return > 0.5".
    found = await db.runs_where_total_return_above(store.path, 0.5)
    assert [(r["run_index"], r["variables"]) for r in found] == [(2, {"t": "X"})]
    assert found[0]["batch_job_id"] == job
    sql = "SELECT run_index FROM batch_job_runs WHERE total_return > 0.5"
    assert [r[0] for r in rows(store.path, sql)] == [2]
    plan_text = " ".join(str(tuple(r)) for r in rows(store.path, "EXPLAIN QUERY PLAN " + sql))
    assert "ix_batch_job_runs_total_return" in plan_text
    # Runs go with their job.
    await store.writer.execute("DELETE FROM batch_jobs WHERE id = ?", (job,))
    assert rows(store.path, "SELECT count(*) FROM batch_job_runs")[0][0] == 0


async def test_failed_job_and_all_failed_runs(store: Store) -> None:
    sf = parse_strategy(SEED_STRATEGY)
    plan = plan_batch(
        sf.template(), [VariableSpec(name="t", values=["SPY"])], PRICES, BacktestConfig(), 5
    )
    await db.create_batch_job(
        store.writer,
        plan,
        job_id="j1",
        name="x",
        strategy_id=None,
        kind="server",
        workers=1,
        now=NOW,
    )
    await db.finish_batch_job(
        store.writer, "j1", BatchResult(plan, [RunResult(0, {"t": "SPY"}, None, "boom")]), now=NOW
    )
    (j,) = rows(store.path, "SELECT status, error FROM batch_jobs")
    assert tuple(j) == ("failed", "1 of 1 runs failed")
    assert rows(store.path, "SELECT error, metrics FROM batch_job_runs")[0][:] == ("boom", "{}")
    await db.create_batch_job(
        store.writer,
        plan,
        job_id="j2",
        name="x",
        strategy_id=None,
        kind="local",
        workers=1,
        now=NOW,
    )
    await db.fail_batch_job(store.writer, "j2", "worker died", now=NOW)
    assert rows(store.path, "SELECT status, error FROM batch_jobs WHERE id = 'j2'")[0][:] == (
        "failed",
        "worker died",
    )
    with pytest.raises(sqlite3.IntegrityError):
        await store.writer.execute("UPDATE batch_jobs SET status = 'done' WHERE id = 'j2'")


async def test_variable_lists(store: Store) -> None:
    vid = await db.save_variable_list(
        store.writer, "tech", "ticker", ["AAPL", "MSFT"], description="big tech", now=NOW
    )
    again = await db.save_variable_list(
        store.writer, "tech", "ticker", ["AAPL", "MSFT", "NVDA"], now=NOW
    )
    assert again == vid
    spec = await db.load_variable_list(store.path, "tech")
    assert spec is not None and spec.values == ["AAPL", "MSFT", "NVDA"]
    assert await db.load_variable_list(store.path, "nope") is None
    with pytest.raises(ValueError, match="listed twice"):
        await db.save_variable_list(store.writer, "x", "number", ["1", "1"], now=NOW)
    with pytest.raises(StrategyError, match=r"y\.type: one of ticker, number, date"):
        await db.save_variable_list(store.writer, "y", "colour", ["red"], now=NOW)
    with pytest.raises(StrategyError, match=r"n\[1\]: 'ten' is not a number"):
        await db.save_variable_list(store.writer, "n", "number", ["10", "ten"], now=NOW)
    with pytest.raises(StrategyError, match=r"d\[0\]: '2024-02-30' is not a date"):
        await db.save_variable_list(store.writer, "d", "date", ["2024-02-30"], now=NOW)
    with pytest.raises(StrategyError, match=r"t\[0\]: 'S P Y' is not a ticker"):
        await db.save_variable_list(store.writer, "t", "ticker", ["S P Y"], now=NOW)
    with pytest.raises(sqlite3.IntegrityError):  # the schema refuses it too
        await store.writer.execute(
            "INSERT INTO variable_lists (name, type, \"values\") VALUES ('y', 'colour', '[]')"
        )
    assert [v["name"] for v in await db.list_variable_lists(store.path)] == ["tech"]


async def test_execution_orders_are_unique_by_client_order_id(store: Store) -> None:
    sid = await store_save(store, parse_strategy(SEED_STRATEGY))
    await store.writer.execute(
        "INSERT INTO active_strategies (strategy_id, mode, initial_capital, started_at, "
        "rebalance_frequency, rebalance_time) VALUES (?, 'paper', '10000.00', ?, 'monthly', "
        "'15:45:00')",
        (sid, "2025-03-03T15:45:00.000000Z"),
    )
    order = (
        "INSERT INTO execution_orders (active_strategy_id, client_order_id, rebalance_date, "
        "symbol, side, quantity, submitted_at) VALUES (1, ?, '2025-03-03', 'SPY', 'buy', "
        "'1.5', 'now')"
    )
    await store.writer.execute(order, ("s1-20250303-SPY",))
    with pytest.raises(sqlite3.IntegrityError):
        await store.writer.execute(order, ("s1-20250303-SPY",))
    async with open_reader(store.path) as conn:
        cur = await conn.execute("SELECT quantity FROM execution_orders")
        assert (await cur.fetchone())[0] == "1.5"  # type: ignore[index]
