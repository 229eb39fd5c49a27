"""Every write to the shared book tables (schemas/0002): ``books``, ``equity_snapshots``,
``trade_log`` and ``decision_log``.

Each function takes the connection of a store-writer transaction (``writer.transaction(fn)``)
so an engine keeps its atomicity: a fill, its book positions and its round trips commit in one
transaction. Nothing here commits or opens a connection. No engine module writes these tables
itself (tests/books/test_ownership.py greps their SQL).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiosqlite

from arenad.store.db import utc_iso

OWNED_TABLES = ("books", "equity_snapshots", "trade_log", "decision_log")
"""The tables only this package writes."""


# --- books -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookSpec:
    """One competitor: ``book_id`` is ``<kind-prefix>:<id>`` (``fade:gpt-5``, ``arena:m1``,
    ``strategy:2``, ``benchmark:BTC``, ``nof1:…``); ``kind`` is the books.kind enum."""

    book_id: str
    kind: str
    name: str
    provider: str | None = None
    venue: str | None = None
    initial_capital: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    season: str | None = None


_INSERT_BOOK = (
    "INSERT INTO books (book_id, kind, name, provider, venue, initial_capital, season,"
    " active, details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

UPDATE_ALL = ("name", "provider", "details", "active")
"""What a re-registration refreshes by default (config edits: names, providers, metadata)."""


async def register_book(
    conn: aiosqlite.Connection,
    spec: BookSpec,
    ts: str,
    *,
    update: Sequence[str] = UPDATE_ALL,
) -> int:
    """Insert the book, or on a known ``book_id`` refresh the ``update`` columns (none: keep
    the row as it is). Returns the number of rows inserted or changed."""
    bad = set(update) - {"name", "provider", "venue", "initial_capital", "details", "active"}
    if bad:
        raise ValueError(f"register_book: cannot update {sorted(bad)}")
    before = conn.total_changes
    conflict = (
        " ON CONFLICT (book_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)
        if update
        else " ON CONFLICT (book_id) DO NOTHING"
    )
    sql = _INSERT_BOOK + conflict
    await conn.execute(
        sql,
        (
            spec.book_id,
            spec.kind,
            spec.name,
            spec.provider,
            spec.venue,
            spec.initial_capital,
            spec.season,
            int(spec.active),
            json.dumps(spec.details),
            ts,
        ),
    )
    return conn.total_changes - before


async def activate_book(
    conn: aiosqlite.Connection, book_id: str, *, venue: str, initial_capital: float
) -> None:
    """A book starts trading (an allocation strategy activated on a venue with a capital)."""
    await conn.execute(
        "UPDATE books SET venue = ?, active = 1, initial_capital = ? WHERE book_id = ?",
        (venue, initial_capital, book_id),
    )


# --- equity ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One row of ``equity_snapshots`` (USD floats; cumulative realized/fees/funding)."""

    book_id: str
    ts: str
    equity: float
    cash: float | None = None
    positions_value: float | None = None
    positions_count: int | None = None
    realized_pnl: float | None = None
    unrealized_pnl: float | None = None
    fees: float | None = None
    funding: float | None = None

    def row(self) -> tuple[Any, ...]:
        return (
            self.book_id,
            self.ts,
            self.equity,
            self.cash,
            self.positions_value,
            self.positions_count,
            self.realized_pnl,
            self.unrealized_pnl,
            self.fees,
            self.funding,
        )


INSERT_EQUITY = (
    "INSERT OR REPLACE INTO equity_snapshots (book_id, ts, equity, cash, positions_value,"
    " positions_count, realized_pnl, unrealized_pnl, fees, funding)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def write_equity(conn: aiosqlite.Connection, points: Iterable[EquityPoint]) -> int:
    rows = [p.row() for p in points]
    if rows:
        await conn.executemany(INSERT_EQUITY, rows)
    return len(rows)


async def benchmark_snapshot(
    conn: aiosqlite.Connection,
    symbol: str,
    price: Decimal,
    capital: Decimal,
    ts: str,
    venue: str,
) -> float:
    """Buy and hold: ``capital`` in ``symbol`` at the price of the book's first snapshot
    (kept in its details), valued at ``price``; book `benchmark:<symbol>`. Returns equity."""
    book_id = f"benchmark:{symbol}"
    await register_book(
        conn,
        BookSpec(
            book_id,
            "benchmark",
            f"Buy and hold {symbol}",
            venue=venue,
            initial_capital=float(capital),
            details={"symbol": symbol, "base_price": str(price)},
        ),
        ts,
        update=(),
    )
    cur = await conn.execute(
        "SELECT json_extract(details, '$.base_price'), initial_capital FROM books"
        " WHERE book_id = ?",
        (book_id,),
    )
    row = await cur.fetchone()
    base = Decimal(str(row[0])) if row and row[0] else price
    cap = Decimal(str(row[1])) if row and row[1] else capital
    eq = float(cap * price / base)
    await write_equity(
        conn, [EquityPoint(book_id, ts, eq, cash=0.0, positions_value=eq, positions_count=1)]
    )
    return eq


async def downsample(conn: aiosqlite.Connection, cutoff: datetime) -> int:
    """Retention: raw snapshots older than ``cutoff`` (floored to the hour) are thinned to the
    last one of each hour of each book, which is kept and marked 'hourly'. Returns rows
    removed."""
    edge = utc_iso(cutoff.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
    cur = await conn.execute(
        "DELETE FROM equity_snapshots WHERE resolution = 'raw' AND ts < ? AND ts <> ("
        " SELECT max(x.ts) FROM equity_snapshots x WHERE x.book_id = equity_snapshots.book_id"
        " AND substr(x.ts, 1, 13) = substr(equity_snapshots.ts, 1, 13))",
        (edge,),
    )
    removed = cur.rowcount
    await conn.execute(
        "UPDATE equity_snapshots SET resolution = 'hourly' WHERE resolution = 'raw' AND ts < ?",
        (edge,),
    )
    return max(removed, 0)


# --- round trips -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A closed trade of a book (prices and sizes exact TEXT, P&L net of fees). ``source`` +
    ``source_id`` are unique: recording a trade again is a no-op."""

    book_id: str
    symbol: str
    direction: str
    quantity: str
    entry_time: str
    entry_price: str
    exit_time: str
    exit_price: str
    realized_pnl: float
    source: str
    source_id: str
    pnl_pct: float | None = None
    fees: float = 0.0
    exit_reason: str | None = None
    timeframe: str | None = None
    details: dict[str, Any] | None = None

    def row(self) -> tuple[Any, ...]:
        return (
            self.book_id,
            self.symbol,
            self.direction,
            self.quantity,
            self.entry_time,
            self.entry_price,
            self.exit_time,
            self.exit_price,
            self.realized_pnl,
            self.pnl_pct,
            self.fees,
            self.exit_reason,
            self.timeframe,
            self.source,
            self.source_id,
            json.dumps(self.details or {}),
        )


INSERT_ROUND_TRIP = (
    "INSERT OR IGNORE INTO trade_log (book_id, symbol, direction, quantity, entry_time,"
    " entry_price, exit_time, exit_price, realized_pnl, pnl_pct, fees, exit_reason, timeframe,"
    " source, source_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def record_round_trips(conn: aiosqlite.Connection, trips: Iterable[RoundTrip]) -> int:
    """Returns how many were new."""
    before = conn.total_changes
    for t in trips:
        await conn.execute(INSERT_ROUND_TRIP, t.row())
    return conn.total_changes - before


def round_trip_statement(t: RoundTrip) -> tuple[str, tuple[Any, ...]]:
    """The statement for ``writer.submit`` (a round trip whose loss in a crash is re-recorded
    from the engine's own table)."""
    return INSERT_ROUND_TRIP, t.row()


# --- the decision-log mirror -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    """An engine's decision mirrored into ``decision_log`` (the engine's own table stays the
    full record). A HOLD is stored without its confidence: the leaderboard's average
    confidence is over the decisions that act (a HOLD's 0.0 means "no view")."""

    book_id: str
    ts: str
    decision: str
    source: str
    source_id: str
    model_id: str | None = None
    symbol: str | None = None
    reasoning: str | None = None
    confidence: float | None = None
    current_price: str | None = None
    position_size: str | None = None
    entry_price: str | None = None
    stop_loss: str | None = None
    take_profit: str | None = None
    direction: str | None = None
    timeframe: str | None = None
    details: dict[str, Any] | None = None

    def row(self) -> tuple[Any, ...]:
        acts = self.decision.lower() not in HOLDS
        return (
            self.book_id,
            self.model_id,
            self.symbol,
            self.ts,
            self.decision,
            self.reasoning,
            self.confidence if acts else None,
            self.current_price,
            self.position_size,
            self.entry_price,
            self.stop_loss,
            self.take_profit,
            self.direction,
            self.timeframe,
            self.source,
            self.source_id,
            json.dumps(self.details or {}),
        )


HOLDS = frozenset({"hold", "skip", "no_action"})
"""decision_log verbs that do not act (their confidence is not stored)."""


async def mirror_decisions(
    conn: aiosqlite.Connection, entries: Iterable[DecisionEntry], *, or_ignore: bool = True
) -> int:
    """Insert the entries (executed = 0); an entry already mirrored (same source and
    source_id) is skipped with ``or_ignore``, an error without. Returns how many were new."""
    before = conn.total_changes
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    for e in entries:
        await conn.execute(
            f"{verb} INTO decision_log (book_id, model_id, symbol, ts, decision, reasoning,"
            " confidence, current_price, position_size, entry_price, stop_loss, take_profit,"
            " direction, timeframe, executed, source, source_id, details)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            e.row(),
        )
    return conn.total_changes - before


async def mark_executed(
    conn: aiosqlite.Connection,
    source: str,
    source_ids: Sequence[str],
    *,
    executed: bool,
    price: str | None,
    at: str,
    status: str,
    entry_price: str | None = None,
) -> None:
    """The execution of mirrored decisions (their order's result); ``entry_price`` replaces
    the decision's when given (a market order's fill price)."""
    for i in range(0, len(source_ids), 500):
        chunk = list(source_ids[i : i + 500])
        marks = ", ".join("?" * len(chunk))
        await conn.execute(
            "UPDATE decision_log SET executed = ?, execution_price = ?, execution_time = ?,"  # noqa: S608 - placeholders only
            " execution_status = ?, entry_price = COALESCE(?, entry_price)"
            f" WHERE source = ? AND source_id IN ({marks})",
            (int(executed), price, at, status, entry_price, source, *chunk),
        )
