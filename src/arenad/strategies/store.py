"""Persistence of strategies, backtests, sweeps and variable lists (schema 0006).

Writes go through the single :class:`StoreWriter`; multi-row writes (a strategy and its
book, a sweep's runs and its final status) are one ``writer.transaction`` each, so a reader
never sees a finished job without its runs or a strategy without its book.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from arenad.books.tables import BookSpec, register_book
from arenad.store.db import open_reader, utc_iso
from arenad.store.writer import StoreWriter
from arenad.strategies.batch import BatchPlan, BatchResult
from arenad.strategies.definition import (
    StrategyError,
    StrategyFile,
    VariableSpec,
    list_value_problems,
)
from arenad.strategies.engine import BacktestConfig, BacktestResult


def book_id(strategy_id: int) -> str:
    return f"strategy:{strategy_id}"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


async def save_strategy(writer: StoreWriter, sf: StrategyFile, *, now: datetime) -> int:
    """Insert, or update the strategy of the same name; its book row comes with it."""
    ts = utc_iso(now)
    cols = {
        "description": sf.description,
        "elements": _dumps(sf.elements),
        "weighting": None if sf.weighting is None else _dumps(sf.weighting),
        "benchmark_symbol": sf.benchmark_symbol,
        "start_date": sf.start_date.isoformat() if sf.start_date else None,
        "end_date": sf.end_date.isoformat() if sf.end_date else None,
        "rebalance": sf.rebalance,
        "tags": _dumps(sf.tags),
    }

    async def txn(conn: aiosqlite.Connection) -> int:
        cur = await conn.execute("SELECT id FROM strategies WHERE name = ?", (sf.name,))
        row = await cur.fetchone()
        if row is None:
            cur = await conn.execute(
                "INSERT INTO strategies (name, description, elements, weighting, "
                "benchmark_symbol, start_date, end_date, rebalance, tags, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sf.name, *cols.values(), ts, ts),
            )
            sid = int(cur.lastrowid or 0)
        else:
            sid = int(row[0])
            sets = ", ".join(f"{k} = ?" for k in cols)
            await conn.execute(
                f"UPDATE strategies SET {sets}, updated_at = ? WHERE id = ?",  # noqa: S608 - fixed column names
                (*cols.values(), ts, sid),
            )
        await register_book(
            conn,
            BookSpec(
                book_id(sid),
                "strategy",
                sf.name,
                provider="allocation",
                venue="backtest",
                details={"strategy_id": sid},
            ),
            ts,
            update=("name",),
        )
        return sid

    return await writer.transaction(txn)


async def save_backtest(
    writer: StoreWriter,
    result: BacktestResult,
    config: BacktestConfig,
    *,
    elements: Any,
    strategy_id: int | None,
    variables: dict[str, str] | None = None,
    now: datetime,
) -> int:
    """One backtest in the history (seed ``backtest_results``), curve and positions included."""
    metrics = dict(result.metrics) | result.summary()

    async def txn(conn: aiosqlite.Connection) -> int:
        cur = await conn.execute(
            "INSERT INTO backtest_results (strategy_id, start_date, end_date, benchmark_symbol, "
            "strategy_elements, variables, rebalance, initial_capital, fee_bps, slippage_bps, "
            "metrics, equity_curve, positions, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                strategy_id,
                result.start,
                result.end,
                result.benchmark,
                _dumps(elements),
                _dumps(variables or {}),
                config.rebalance,
                config.initial_capital,
                config.fee_bps,
                config.slippage_bps,
                _dumps(metrics),
                _dumps(result.equity_curve()),
                _dumps(result.positions()),
                utc_iso(now),
            ),
        )
        return int(cur.lastrowid or 0)

    return await writer.transaction(txn)


def new_batch_id(now: datetime) -> str:
    return f"batch-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


async def create_batch_job(
    writer: StoreWriter,
    plan: BatchPlan,
    *,
    job_id: str,
    name: str,
    strategy_id: int | None,
    kind: str,
    workers: int,
    now: datetime,
) -> None:
    ts = utc_iso(now)
    cfg = plan.config
    await writer.execute(
        "INSERT INTO batch_jobs (id, strategy_id, name, kind, status, total, completed, "
        "created_at, updated_at, truncated, variables, strategy_elements, start_date, end_date, "
        "benchmark_symbol, config, assignments_preview) "
        "VALUES (?, ?, ?, ?, 'running', ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job_id,
            strategy_id,
            name,
            kind,
            plan.total,
            ts,
            ts,
            int(plan.truncated),
            _dumps(plan.variables_json()),
            _dumps(plan.template),
            cfg.start.isoformat() if cfg.start else None,
            cfg.end.isoformat() if cfg.end else None,
            cfg.benchmark,
            _dumps(
                {
                    "rebalance": cfg.rebalance,
                    "initial_capital": cfg.initial_capital,
                    "fee_bps": cfg.fee_bps,
                    "slippage_bps": cfg.slippage_bps,
                    "workers": workers,
                    "combinations": plan.combinations,
                }
            ),
            _dumps(plan.preview()),
        ),
    )


async def update_batch_progress(
    writer: StoreWriter, job_id: str, completed: int, *, now: datetime
) -> None:
    """Progress is advisory: enqueue only, a lost update costs nothing."""
    await writer.submit(
        "UPDATE batch_jobs SET completed = ?, updated_at = ? WHERE id = ?",
        (completed, utc_iso(now), job_id),
    )


async def finish_batch_job(
    writer: StoreWriter, job_id: str, result: BatchResult, *, now: datetime
) -> None:
    """Every run and the job's final status, summary and completion time, atomically."""
    ts = utc_iso(now)
    rows = [
        (job_id, r.run_index, _dumps(r.variables), _dumps(r.metrics or {}), r.error, ts)
        for r in result.runs
    ]
    all_failed = bool(result.runs) and result.failed == len(result.runs)
    status = "failed" if all_failed else "finished"
    error = f"{result.failed} of {len(result.runs)} runs failed" if result.failed else None

    async def txn(conn: aiosqlite.Connection) -> None:
        await conn.executemany(
            "INSERT INTO batch_job_runs (batch_job_id, run_index, variables, metrics, error, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        await conn.execute(
            "UPDATE batch_jobs SET status = ?, completed = ?, updated_at = ?, completed_at = ?, "
            "error = ?, summary = ? WHERE id = ?",
            (status, len(result.runs), ts, ts, error, _dumps(result.summary()), job_id),
        )

    await writer.transaction(txn)


async def fail_batch_job(writer: StoreWriter, job_id: str, error: str, *, now: datetime) -> None:
    ts = utc_iso(now)
    await writer.execute(
        "UPDATE batch_jobs SET status = 'failed', error = ?, updated_at = ?, completed_at = ? "
        "WHERE id = ?",
        (error, ts, ts, job_id),
    )


async def save_variable_list(
    writer: StoreWriter,
    name: str,
    type_: str,
    values: Sequence[str],
    *,
    description: str | None = None,
    now: datetime,
) -> int:
    """Insert or replace the values of a named list (seed ``variable_lists``)."""
    spec = VariableSpec(name=name, values=list(values))  # same rules as a sweep variable
    problems = list_value_problems(name, type_, spec.values)
    if problems:
        raise StrategyError(problems)
    ts = utc_iso(now)

    async def txn(conn: aiosqlite.Connection) -> int:
        await conn.execute(
            'INSERT INTO variable_lists (name, type, "values", description, created_at, '
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            'type = excluded.type, "values" = excluded."values", '
            "description = excluded.description, updated_at = excluded.updated_at",
            (spec.name, type_, _dumps(spec.values), description, ts, ts),
        )
        cur = await conn.execute("SELECT id FROM variable_lists WHERE name = ?", (spec.name,))
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    return await writer.transaction(txn)


# --- reads -----------------------------------------------------------------------------


async def list_variable_lists(db_path: Path) -> list[dict[str, Any]]:
    async with open_reader(db_path) as conn:
        cur = await conn.execute(
            'SELECT name, type, "values", description, updated_at FROM variable_lists ORDER BY name'
        )
        rows = await cur.fetchall()
    return [
        {
            "name": r[0],
            "type": r[1],
            "values": json.loads(r[2]),
            "description": r[3],
            "updated_at": r[4],
        }
        for r in rows
    ]


async def load_variable_list(db_path: Path, name: str) -> VariableSpec | None:
    async with open_reader(db_path) as conn:
        cur = await conn.execute(
            'SELECT name, "values" FROM variable_lists WHERE name = ?', (name,)
        )
        row = await cur.fetchone()
    return None if row is None else VariableSpec(name=row[0], values=json.loads(row[1]))


async def runs_where_total_return_above(
    db_path: Path, threshold: float, *, batch_job_id: str | None = None
) -> list[dict[str, Any]]:
    """The seed's example query: "find all runs where total_return > 0.5"."""
    sql = (
        "SELECT batch_job_id, run_index, variables, metrics, total_return FROM batch_job_runs "
        "WHERE total_return > ?"
    )
    params: list[Any] = [threshold]
    if batch_job_id is not None:
        sql += " AND batch_job_id = ?"
        params.append(batch_job_id)
    sql += " ORDER BY total_return DESC, batch_job_id, run_index"
    async with open_reader(db_path) as conn:
        cur = await conn.execute(sql, params)
        rows = await cur.fetchall()
    return [
        {
            "batch_job_id": r[0],
            "run_index": r[1],
            "variables": json.loads(r[2]),
            "metrics": json.loads(r[3]),
            "total_return": r[4],
        }
        for r in rows
    ]
