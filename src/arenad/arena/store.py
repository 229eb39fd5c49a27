"""Reading and writing the arena's tables (schemas/0005_arena.sql) through the store writer.

Durability by consequence: the run claim and every order intent are awaited until COMMITTED
(``execute``/``transaction``) before the next step — the claim is what makes a slot run at most
once, the intent is what lets a restart reconcile an order it may have sent. Decisions and call
logs are committed in the same way because the next step links to their ids.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosqlite

from arenad.arena.decision import Decision
from arenad.arena.ledger import ClosedTrade, Ledger, Position
from arenad.arena.rails import Verdict
from arenad.arena.schedule import Slot
from arenad.arena.settings import ArenaModelSettings
from arenad.llm.base import Attempt
from arenad.metrics.store import INSERT_ROUND_TRIP, benchmark_snapshot, round_trip
from arenad.store.db import connect_sync, open_reader, parse_iso, utc_iso
from arenad.store.writer import StoreWriter


def _d(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


def _dec(x: Any) -> Decimal | None:
    return None if x is None else Decimal(str(x))


class ArenaStore:
    def __init__(self, writer: StoreWriter) -> None:
        self.writer = writer
        self.path = writer.path

    # --- books and ledgers -----------------------------------------------------------

    async def ensure_books(self, models: Sequence[ArenaModelSettings], now: datetime) -> None:
        async def fn(conn: aiosqlite.Connection) -> None:
            for m in models:
                details = json.dumps(
                    {
                        "model_id": m.id,
                        "model": m.model,
                        "baseline": m.baseline.model_dump(mode="json") if m.baseline else None,
                    }
                )
                await conn.execute(
                    "INSERT INTO books (book_id, kind, name, provider, venue, initial_capital,"
                    " active, details, created_at) VALUES (?, 'arena_model', ?, ?, 'alpaca', ?,"
                    " ?, ?, ?) ON CONFLICT (book_id) DO UPDATE SET name = excluded.name,"
                    " provider = excluded.provider, active = excluded.active,"
                    " details = excluded.details",
                    (
                        m.book_id,
                        m.display_name,
                        m.provider,
                        float(m.initial_capital),
                        int(m.enabled),
                        details,
                        utc_iso(now),
                    ),
                )

        await self.writer.transaction(fn)

    async def load_ledgers(self, models: Sequence[ArenaModelSettings]) -> dict[str, Ledger]:
        out: dict[str, Ledger] = {}
        async with open_reader(self.path) as conn:
            for m in models:
                row = await (
                    await conn.execute(
                        "SELECT * FROM arena_ledgers WHERE book_id = ?", (m.book_id,)
                    )
                ).fetchone()
                if row is None:
                    out[m.id] = Ledger.new(m.book_id, m.initial_capital)
                    continue
                led = Ledger(
                    m.book_id,
                    Decimal(row["initial_capital"]),
                    Decimal(row["cash"]),
                    realized_pnl=Decimal(row["realized_pnl"]),
                    day=date.fromisoformat(row["day"]) if row["day"] else None,
                    day_start_equity=_dec(row["day_start_equity"]),
                    sat_out_day=date.fromisoformat(row["sat_out_day"])
                    if row["sat_out_day"]
                    else None,
                )
                cur = await conn.execute(
                    "SELECT * FROM arena_positions WHERE book_id = ?", (m.book_id,)
                )
                for p in await cur.fetchall():
                    led.positions[p["symbol"]] = Position(
                        p["symbol"],
                        Decimal(p["qty"]),
                        Decimal(p["avg_price"]),
                        parse_iso(p["opened_at"]),
                        _dec(p["stop_loss"]),
                        _dec(p["take_profit"]),
                        p["timeframe"],
                        p["entry_client_order_id"],
                    )
                out[m.id] = led
        return out

    async def last_run_equity(self, book_id: str) -> float | None:
        async with open_reader(self.path) as conn:
            row = await (
                await conn.execute(
                    "SELECT last_run_equity FROM arena_ledgers WHERE book_id = ?", (book_id,)
                )
            ).fetchone()
        return None if row is None else row[0]

    async def save_ledger(
        self,
        model_id: str,
        led: Ledger,
        now: datetime,
        last_run_equity: float | None = None,
        *,
        snapshot_equity: float | None = None,
    ) -> None:
        """Save the ledger and its positions; with an equity (a run's end, or a fill), also the
        book's equity snapshot for the leaderboard (schemas/0002)."""
        ts = utc_iso(now)
        equity = last_run_equity if last_run_equity is not None else snapshot_equity

        async def fn(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO arena_ledgers (book_id, model_id, initial_capital, cash, realized_pnl,"
                " day, day_start_equity, sat_out_day, last_run_equity, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (book_id) DO UPDATE SET"
                " cash = excluded.cash, realized_pnl = excluded.realized_pnl, day = excluded.day,"
                " day_start_equity = excluded.day_start_equity,"
                " sat_out_day = excluded.sat_out_day,"
                " last_run_equity = COALESCE(excluded.last_run_equity, last_run_equity),"
                " updated_at = excluded.updated_at",
                (
                    led.book_id,
                    model_id,
                    str(led.initial_capital),
                    str(led.cash),
                    str(led.realized_pnl),
                    led.day.isoformat() if led.day else None,
                    _d(led.day_start_equity),
                    led.sat_out_day.isoformat() if led.sat_out_day else None,
                    last_run_equity,
                    ts,
                ),
            )
            await conn.execute("DELETE FROM arena_positions WHERE book_id = ?", (led.book_id,))
            await conn.executemany(
                "INSERT INTO arena_positions (book_id, symbol, qty, avg_price, stop_loss,"
                " take_profit, timeframe, opened_at, entry_client_order_id, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        led.book_id,
                        p.symbol,
                        str(p.qty),
                        str(p.avg_price),
                        _d(p.stop_loss),
                        _d(p.take_profit),
                        p.timeframe,
                        utc_iso(p.opened_at),
                        p.entry_client_order_id,
                        ts,
                    )
                    for p in led.positions.values()
                ],
            )
            if equity is not None:
                await conn.execute(
                    "INSERT OR REPLACE INTO equity_snapshots (book_id, ts, equity, cash,"
                    " positions_value, positions_count, realized_pnl) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        led.book_id,
                        ts,
                        equity,
                        float(led.cash),
                        equity - float(led.cash),
                        len(led.positions),
                        float(led.realized_pnl),
                    ),
                )

        await self.writer.transaction(fn)

    async def benchmark_snapshot(
        self, symbol: str, price: Decimal, capital: Decimal, now: datetime
    ) -> None:
        """Buy and hold ``symbol`` from the first run on (see metrics.store)."""
        ts = utc_iso(now)
        await self.writer.transaction(
            lambda conn: benchmark_snapshot(conn, symbol, price, capital, ts, "alpaca")
        )

    async def claim_run(
        self, run_id: str, slot: Slot, trigger: str, now: datetime, models: Sequence[str]
    ) -> bool:
        """Insert the run row; False when this slot (or run id) was already taken."""

        async def fn(conn: aiosqlite.Connection) -> bool:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO arena_runs (run_id, slot_key, trigger, scheduled_for,"
                " started_at, status, models_executed) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (
                    run_id,
                    slot.key,
                    trigger,
                    utc_iso(slot.at),
                    utc_iso(now),
                    json.dumps(list(models)),
                ),
            )
            return cur.rowcount == 1

        return await self.writer.transaction(fn)

    async def finish_run(
        self,
        run_id: str,
        now: datetime,
        *,
        status: str,
        models_executed: Sequence[str],
        decisions: int,
        trades: int,
        errors: list[dict[str, Any]],
        total_pnl: float | None,
        top_performer: str | None,
        details: dict[str, Any],
    ) -> None:
        await self.writer.execute(
            "UPDATE arena_runs SET completed_at = ?, status = ?, models_executed = ?,"
            " decisions = ?, trades_generated = ?, errors = ?, total_pnl = ?, top_performer = ?,"
            " details = ? WHERE run_id = ?",
            (
                utc_iso(now),
                status,
                json.dumps(list(models_executed)),
                decisions,
                trades,
                json.dumps(errors),
                total_pnl,
                top_performer,
                json.dumps(details),
                run_id,
            ),
        )

    async def stop_interrupted(self, now: datetime) -> list[str]:
        """Runs left 'running' by a crash: marked stopped (never re-run: at most once)."""

        async def fn(conn: aiosqlite.Connection) -> list[str]:
            rows = await (
                await conn.execute("SELECT run_id FROM arena_runs WHERE status = 'running'")
            ).fetchall()
            ids = [r[0] for r in rows]
            await conn.execute(
                "UPDATE arena_runs SET status = 'stopped', completed_at = ?, errors = json_insert("
                "errors, '$[#]',"
                " json_object('error', 'interrupted: arenad stopped during the run'))"
                " WHERE status = 'running'",
                (utc_iso(now),),
            )
            return ids

        return await self.writer.transaction(fn)

    async def slot_taken(self, slot_key: str) -> bool:
        async with open_reader(self.path) as conn:
            row = await (
                await conn.execute("SELECT 1 FROM arena_runs WHERE slot_key = ?", (slot_key,))
            ).fetchone()
        return row is not None

    # --- calls and decisions -----------------------------------------------------------

    async def record_attempts(
        self,
        attempts: Sequence[Attempt],
        *,
        run_id: str | None,
        model: ArenaModelSettings,
        symbol: str | None,
        system: str,
        prompt: str,
    ) -> list[int]:
        async def fn(conn: aiosqlite.Connection) -> list[int]:
            ids = []
            for n, a in enumerate(attempts, 1):
                cur = await conn.execute(
                    "INSERT INTO llm_calls (created_at, run_id, book_id, model_id, provider, model,"
                    " symbol, attempt, endpoint, method, status_code, outcome, duration_ms,"
                    " system_prompt, prompt, response, response_bytes, content, finish_reason,"
                    " input_tokens, output_tokens, cost_usd, error)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        utc_iso(a.started_at),
                        run_id,
                        model.book_id,
                        model.id,
                        model.provider,
                        model.model,
                        symbol,
                        n,
                        a.endpoint,
                        a.method,
                        a.status_code,
                        a.outcome,
                        a.latency_ms,
                        system,
                        prompt,
                        a.raw,
                        a.raw_bytes,
                        a.content,
                        a.finish_reason,
                        a.input_tokens,
                        a.output_tokens,
                        a.cost_usd,
                        a.error,
                    ),
                )
                ids.append(int(cur.lastrowid or 0))
            return ids

        if not attempts:
            return []
        return await self.writer.transaction(fn)

    async def record_decision(
        self,
        *,
        now: datetime,
        run_id: str,
        slot_key: str,
        model: ArenaModelSettings,
        symbol: str,
        decision: Decision,
        valid: bool,
        error: str | None,
        raw: str | None,
        current_price: Decimal | None,
        llm_call_id: int | None,
        verdicts: Sequence[Verdict],
        rails_allowed: bool | None,
        client_order_id: str | None,
    ) -> int:
        async def fn(conn: aiosqlite.Connection) -> int:
            w = decision.wire()
            cur = await conn.execute(
                "INSERT INTO arena_decisions (ts, run_id, slot_key, book_id, model_id, model_name,"
                " provider, symbol, action, quantity, entry_price, stop_loss, take_profit,"
                " confidence, timeframe, reasoning, current_price, valid, error, raw, llm_call_id,"
                " rails_allowed, verdicts, client_order_id, order_status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?, ?, ?, ?)",
                (
                    utc_iso(now),
                    run_id,
                    slot_key,
                    model.book_id,
                    model.id,
                    model.display_name,
                    model.provider,
                    symbol,
                    decision.action,
                    None if decision.quantity is None else str(decision.quantity),
                    w["entry_price"],
                    w["stop_loss"],
                    w["take_profit"],
                    decision.confidence if valid else None,
                    decision.timeframe if valid else None,
                    json.dumps(w["reasoning"]),
                    _d(current_price),
                    int(valid),
                    error,
                    raw,
                    llm_call_id,
                    None if rails_allowed is None else int(rails_allowed),
                    json.dumps([v.wire() for v in verdicts]),
                    client_order_id,
                    "intent" if client_order_id else None,
                ),
            )
            did = int(cur.lastrowid or 0)
            await conn.executemany(
                "INSERT INTO arena_rail_verdicts (decision_id, rail, allowed, reason)"
                " VALUES (?, ?, ?, ?)",
                [(did, v.rail, int(v.allowed), v.reason) for v in verdicts],
            )
            await self._mirror_decision_log(conn, did)
            return did

        return await self.writer.transaction(fn)

    @staticmethod
    async def _mirror_decision_log(conn: aiosqlite.Connection, decision_id: int) -> None:
        """Copy the decision into the leaderboard's ``decision_log`` (schemas/0002); the
        arena's own table stays the full record. A HOLD goes without its confidence: the
        leaderboard's average confidence is over the decisions that act (a baseline's HOLD
        says 0.0 and means "no view", not "no confidence")."""
        await conn.execute(
            "INSERT INTO decision_log (book_id, model_id, symbol, ts, decision, reasoning,"
            " confidence, current_price, position_size, entry_price, stop_loss, take_profit,"
            " timeframe, executed, source, source_id) SELECT book_id, model_id, symbol, ts,"
            " action, reasoning, CASE WHEN action = 'HOLD' THEN NULL ELSE confidence END,"
            " current_price, quantity, entry_price, stop_loss, take_profit, timeframe, 0,"
            " 'arena', id FROM arena_decisions WHERE id = ?",
            (decision_id,),
        )

    async def record_verdict(self, decision_id: int, v: Verdict) -> None:
        """A verdict found after the decision was recorded (the position rail checked again on
        a fill): in the verdict table and the decision's verdict list, replacing an earlier
        verdict of the same rail."""

        async def fn(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO arena_rail_verdicts (decision_id, rail, allowed, reason)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (decision_id, rail) DO UPDATE SET"
                " allowed = excluded.allowed, reason = excluded.reason",
                (decision_id, v.rail, int(v.allowed), v.reason),
            )
            await conn.execute(
                "UPDATE arena_decisions SET verdicts = json_insert((SELECT"
                " json_group_array(json(value)) FROM json_each(verdicts)"
                " WHERE json_extract(value, '$.rail') IS NOT ?), '$[#]', json(?)) WHERE id = ?",
                (v.rail, json.dumps(v.wire()), decision_id),
            )

        await self.writer.transaction(fn)

    async def set_decision_order(self, decision_id: int, status: str) -> None:
        await self.writer.execute(
            "UPDATE arena_decisions SET order_status = ? WHERE id = ?", (status, decision_id)
        )

    # --- orders and trades ---------------------------------------------------------------

    async def write_intent(
        self,
        *,
        cid: str,
        now: datetime,
        run_id: str | None,
        decision_id: int | None,
        model_id: str,
        book_id: str,
        symbol: str,
        side: str,
        qty: Decimal,
        limit_price: Decimal | None,
        purpose: str,
        exit_reason: str | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        timeframe: str | None = None,
    ) -> bool:
        """Commit the intent before sending; False if this client order id already exists."""

        async def fn(conn: aiosqlite.Connection) -> bool:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO arena_orders (client_order_id, created_at, updated_at,"
                " run_id, decision_id, book_id, model_id, symbol, side, qty, type, limit_price,"
                " purpose, exit_reason, stop_loss, take_profit, timeframe)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    utc_iso(now),
                    utc_iso(now),
                    run_id,
                    decision_id,
                    book_id,
                    model_id,
                    symbol,
                    side,
                    str(qty),
                    "limit" if limit_price else "market",
                    _d(limit_price),
                    purpose,
                    exit_reason,
                    _d(stop_loss),
                    _d(take_profit),
                    timeframe,
                ),
            )
            return cur.rowcount == 1

        return await self.writer.transaction(fn)

    async def open_orders(self, final: frozenset[str]) -> list[sqlite3.Row]:
        """Orders whose outcome is not known yet (to reconcile at start)."""
        marks = ", ".join("?" * len(final))
        async with open_reader(self.path) as conn:
            cur = await conn.execute(
                f"SELECT * FROM arena_orders WHERE status NOT IN ({marks})"  # noqa: S608
                " ORDER BY created_at",
                tuple(sorted(final)),
            )
            return list(await cur.fetchall())

    async def update_order(
        self,
        cid: str,
        now: datetime,
        *,
        status: str,
        venue_order_id: str | None = None,
        filled_qty: Decimal | None = None,
        filled_avg_price: Decimal | None = None,
        filled_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """The order's state; its decision's order status; and, once it has filled, the
        execution in ``decision_log`` — with the fill's average price as the entry of a
        decision that named none (a market order)."""

        async def fn(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "UPDATE arena_orders SET updated_at = ?, status = ?,"
                " venue_order_id = COALESCE(?, venue_order_id),"
                " filled_qty = COALESCE(?, filled_qty),"
                " filled_avg_price = COALESCE(?, filled_avg_price),"
                " filled_at = COALESCE(?, filled_at), error = COALESCE(?, error)"
                " WHERE client_order_id = ?",
                (
                    utc_iso(now),
                    status,
                    venue_order_id,
                    _d(filled_qty),
                    _d(filled_avg_price),
                    utc_iso(filled_at) if filled_at else None,
                    error,
                    cid,
                ),
            )
            await conn.execute(
                "UPDATE arena_decisions SET order_status = ? WHERE client_order_id = ?",
                (status, cid),
            )
            row = await (
                await conn.execute(
                    "SELECT o.filled_avg_price, o.filled_at, o.status, d.id, d.entry_price"
                    " FROM arena_orders o JOIN arena_decisions d"
                    " ON d.client_order_id = o.client_order_id"
                    " WHERE o.client_order_id = ? AND o.filled_avg_price IS NOT NULL",
                    (cid,),
                )
            ).fetchone()
            if row is not None:
                price, at, st, did, asked = row
                await conn.execute(
                    "UPDATE decision_log SET executed = 1, execution_price = ?,"
                    " execution_time = ?, execution_status = ?, entry_price = ?"
                    " WHERE source = 'arena' AND source_id = ?",
                    (price, at, st, asked if asked is not None else price, str(did)),
                )

        await self.writer.transaction(fn)

    async def record_trade(
        self, t: ClosedTrade, model_id: str, run_id: str | None, timeframe: str | None = None
    ) -> None:
        """The round trip, in the arena's table and in the leaderboard's trade_log."""
        await self.writer.submit(
            INSERT_ROUND_TRIP,
            round_trip(
                book_id=t.book_id,
                symbol=t.symbol,
                direction=t.side,
                quantity=str(t.qty),
                entry_time=utc_iso(t.opened_at),
                entry_price=str(t.entry_price),
                exit_time=utc_iso(t.closed_at),
                exit_price=str(t.exit_price),
                realized_pnl=float(t.pnl),
                pnl_pct=t.pnl_pct,
                exit_reason=t.exit_reason,
                timeframe=timeframe,
                source="arena",
                source_id=f"{t.entry_client_order_id}>{t.exit_client_order_id}",
                details={"model_id": model_id, "run_id": run_id},
            ),
        )
        await self.writer.execute(
            "INSERT OR IGNORE INTO arena_trades (book_id, model_id, symbol, side, qty, entry_price,"
            " exit_price, opened_at, closed_at, exit_reason, pnl, pnl_pct, entry_client_order_id,"
            " exit_client_order_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                t.book_id,
                model_id,
                t.symbol,
                t.side,
                str(t.qty),
                str(t.entry_price),
                str(t.exit_price),
                utc_iso(t.opened_at),
                utc_iso(t.closed_at),
                t.exit_reason,
                str(t.pnl),
                t.pnl_pct,
                t.entry_client_order_id,
                t.exit_client_order_id,
                run_id,
            ),
        )


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    slot_key: str
    trigger: str
    status: str
    started_at: str
    completed_at: str | None
    models_executed: list[str]
    decisions: int
    trades_generated: int
    errors: list[dict[str, Any]]
    total_pnl: float | None
    top_performer: str | None

    def wire(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "slot": self.slot_key,
            "trigger": self.trigger,
            "status": self.status,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "models_executed": self.models_executed,
            "decisions": self.decisions,
            "trades_generated": self.trades_generated,
            "errors": self.errors,
            "total_pnl": self.total_pnl,
            "top_performer": self.top_performer,
        }


def list_runs(db_path: Path, limit: int = 20) -> list[RunRow]:
    """Newest first; for the CLI (no event loop needed)."""
    conn = connect_sync(db_path, readonly=True)
    try:
        rows = conn.execute(
            "SELECT * FROM arena_runs ORDER BY started_at DESC, run_id DESC LIMIT ?", (limit,)
        ).fetchall()
    finally:
        conn.close()
    return [
        RunRow(
            r["run_id"],
            r["slot_key"],
            r["trigger"],
            r["status"],
            r["started_at"],
            r["completed_at"],
            json.loads(r["models_executed"]),
            r["decisions"],
            r["trades_generated"],
            json.loads(r["errors"]),
            r["total_pnl"],
            r["top_performer"],
        )
        for r in rows
    ]
