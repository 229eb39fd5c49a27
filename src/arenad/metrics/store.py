"""Loading books into arrays, and writing standings, leaderboard snapshots and summaries.

``BookSet`` holds every book's curve and round trips in memory. ``load`` reads everything
once; ``refresh`` reads only rows written since (equity through the ``equity_writes`` journal
of migration 0010, trades and decisions by row id), so the daemon's periodic recompute does not
re-read a year of snapshots, and a row written for any instant — a tracker import of last
year's curve from another process, a back-fill — is read at the next refresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiosqlite

from arenad.metrics.board import (
    BookData,
    BookInfo,
    PeriodSummary,
    Standing,
)
from arenad.store.db import parse_iso, utc_iso


def _epoch(ts: str) -> float:
    return parse_iso(ts).timestamp()


class BookSet:
    def __init__(self) -> None:
        self.books: dict[str, BookData] = {}
        self.equity_seq = 0
        """The last ``equity_writes.seq`` read: every write up to it is in memory."""
        self._trade_id = 0
        self._decision_id = 0
        self.loaded = False
        self.changed_since: dict[str, float | None] = {}
        """Per book changed by the last refresh: the earliest instant it changed at (None:
        the whole book), so period summaries are rewritten from there on."""

    def values(self) -> list[BookData]:
        return list(self.books.values())

    async def load(self, conn: aiosqlite.Connection) -> set[str]:
        """Read every book from the start."""
        self.books.clear()
        self._trade_id, self._decision_id = 0, 0
        self.loaded = True
        changed = await self._refresh_books(conn)
        # The journal's position first, then every row: a row written between the two reads
        # has a later seq and is read (again, harmlessly) by the next refresh.
        cur = await conn.execute("SELECT coalesce(max(seq), 0) FROM equity_writes")
        row = await cur.fetchone()
        self.equity_seq = int(row[0]) if row else 0
        cur = await conn.execute(
            "SELECT book_id, ts, equity FROM equity_snapshots ORDER BY book_id, ts"
        )
        changed |= self._merge_equity(await cur.fetchall())
        changed |= await self._refresh_rows(conn)
        self.changed_since = dict.fromkeys(changed)
        return changed

    async def refresh(self, conn: aiosqlite.Connection) -> set[str]:
        """Read what was written since the last call, whatever instant it is for; return the
        ids of books that changed (``changed_since`` says from when)."""
        if not self.loaded:
            return await self.load(conn)
        changed = await self._refresh_books(conn)
        cur = await conn.execute(
            "SELECT w.seq, w.book_id, w.ts, e.equity FROM equity_writes w"
            " LEFT JOIN equity_snapshots e ON e.book_id = w.book_id AND e.ts = w.ts"
            " WHERE w.seq > ? ORDER BY w.seq",
            (self.equity_seq,),
        )
        rows = await cur.fetchall()
        since: dict[str, float | None] = dict.fromkeys(changed)
        live = []
        for seq, book_id, ts, equity in rows:
            self.equity_seq = max(self.equity_seq, int(seq))
            if equity is None:  # removed since (retention): nothing to read
                continue
            live.append((book_id, ts, equity))
            t = _epoch(ts)
            if book_id not in since:
                since[book_id] = t
            else:
                prev = since[book_id]
                since[book_id] = None if prev is None else min(prev, t)
        eq_changed = self._merge_equity(live)
        trade_changed = await self._refresh_rows(conn)
        changed |= eq_changed | trade_changed
        # A new trade changes the summaries of the period it closed in: simplest is to
        # rewrite the book's summaries whole (trades are few).
        for b in trade_changed:
            since[b] = None
        self.changed_since = {b: since.get(b) for b in changed}
        return changed

    def _merge_equity(self, rows: Iterable[Any]) -> set[str]:
        changed: set[str] = set()
        by_book: dict[str, tuple[list[float], list[float]]] = {}
        for book_id, ts, equity in rows:
            t, e = by_book.setdefault(book_id, ([], []))
            t.append(_epoch(ts))
            e.append(float(equity))
        for book_id, (t, e) in by_book.items():
            bd = self._book(book_id)
            before = (len(bd.t), bd.equity.tobytes())
            bd.add_points(t, e)
            if (len(bd.t), bd.equity.tobytes()) != before:
                changed.add(book_id)
        return changed

    async def _refresh_books(self, conn: aiosqlite.Connection) -> set[str]:
        changed: set[str] = set()
        cur = await conn.execute(
            "SELECT book_id, kind, name, provider, venue, initial_capital, season, active "
            "FROM books"
        )
        for r in await cur.fetchall():
            info = BookInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]))
            bd = self.books.get(r[0])
            if bd is None:
                self.books[r[0]] = BookData(info)
                changed.add(r[0])
            else:
                bd.info = info
        return changed

    async def _refresh_rows(self, conn: aiosqlite.Connection) -> set[str]:
        """Round trips and decisions with a row id above the last one read."""
        changed: set[str] = set()
        cur = await conn.execute(
            "SELECT id, book_id, entry_time, exit_time, realized_pnl, symbol, timeframe "
            "FROM trade_log WHERE id > ? ORDER BY id",
            (self._trade_id,),
        )
        trades: dict[str, list[Any]] = {}
        for r in await cur.fetchall():
            self._trade_id = max(self._trade_id, r[0])
            trades.setdefault(r[1], []).append(r)
        for book_id, rs in trades.items():
            self._book(book_id).add_trades(
                [_epoch(r[2]) for r in rs],
                [_epoch(r[3]) for r in rs],
                [float(r[4]) for r in rs],
                [r[5] for r in rs],
                [r[6] for r in rs],
            )
            changed.add(book_id)
        cur = await conn.execute(
            "SELECT book_id, count(*), sum(lower(decision) = 'hold'), sum(confidence), "
            "count(confidence), max(id) FROM decision_log WHERE id > ? GROUP BY book_id",
            (self._decision_id,),
        )
        for book_id, n, holds, csum, cn, max_id in await cur.fetchall():
            bd = self._book(book_id)
            bd.decisions += n
            bd.hold_decisions += holds or 0
            bd.confidence_sum += csum or 0.0
            bd.confidence_n += cn
            self._decision_id = max(self._decision_id, max_id)
            changed.add(book_id)
        return changed

    def _book(self, book_id: str) -> BookData:
        bd = self.books.get(book_id)
        if bd is None:
            # Rows for a book the books table does not list (yet): keep them under a
            # placeholder so nothing is lost; the next refresh fills in its name and kind.
            kind = book_id.split(":", 1)[0] if ":" in book_id else "benchmark"
            kind = {"arena": "arena_model"}.get(kind, kind)
            bd = BookData(BookInfo(book_id, kind, book_id))
            self.books[book_id] = bd
        return bd


# --- reads -------------------------------------------------------------------------------


async def previous_ranks(
    conn: aiosqlite.Connection, timeframe: str, before: str | None = None
) -> dict[str, int]:
    """Each book's rank in the newest stored snapshot of ``timeframe`` (before ``before``)."""
    cur = await conn.execute(
        "SELECT max(snapshot_time) FROM leaderboard_snapshots WHERE timeframe = ? "
        "AND snapshot_time < ?",
        (timeframe, before or "9999"),
    )
    row = await cur.fetchone()
    if row is None or row[0] is None:
        return {}
    cur = await conn.execute(
        "SELECT book_id, rank FROM leaderboard_snapshots WHERE timeframe = ? AND snapshot_time = ? "
        "AND rank IS NOT NULL",
        (timeframe, row[0]),
    )
    return {r[0]: int(r[1]) for r in await cur.fetchall()}


# --- writes (inside one writer transaction) -----------------------------------------------


def _standing_row(s: Standing) -> dict[str, Any]:
    metrics = s.as_dict()
    return {
        "book_id": s.book_id,
        "rank": s.rank,
        "equity": s.equity,
        "initial_capital": s.initial_capital,
        "total_pnl": s.total_pnl,
        "total_return": s.total_return,
        "annual_return": s.annual_return,
        "annual_volatility": s.annual_volatility,
        "sharpe": s.sharpe,
        "sortino": s.sortino,
        "max_drawdown": s.max_drawdown,
        "max_drawdown_usd": s.max_drawdown_usd,
        "calmar": s.calmar,
        "trades": s.trades,
        "winning_trades": s.winning_trades,
        "losing_trades": s.losing_trades,
        "win_rate": s.win_rate,
        "avg_win": s.avg_win,
        "avg_loss": s.avg_loss,
        "profit_factor": s.profit_factor,
        "expectancy": s.expectancy,
        "decisions": s.decisions,
        "hold_decisions": s.hold_decisions,
        "avg_confidence": s.avg_confidence,
        "best_timeframe": s.best_timeframe,
        "best_symbol": s.best_symbol,
        "points": s.points,
        "metrics": json.dumps(metrics, separators=(",", ":")),
        "insufficient": json.dumps(s.insufficient),
    }


async def write_standings(
    conn: aiosqlite.Connection, standings: Sequence[Standing], now: str
) -> None:
    """Replace current_standings with the all-time board."""
    await conn.execute("DELETE FROM current_standings")
    rows = []
    for s in standings:
        d = _standing_row(s)
        d["updated_at"] = now
        rows.append(d)
    if rows:
        cols = list(rows[0])
        await conn.executemany(
            # Column names come from _standing_row, never from input.
            f"INSERT INTO current_standings ({', '.join(cols)}) "  # noqa: S608
            f"VALUES ({', '.join(':' + c for c in cols)})",
            rows,
        )


SNAPSHOT_COLS = (
    "book_id",
    "rank",
    "equity",
    "total_pnl",
    "total_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "win_rate",
    "profit_factor",
    "trades",
    "metrics",
    "insufficient",
)


async def write_leaderboard_snapshot(
    conn: aiosqlite.Connection, timeframe: str, standings: Sequence[Standing], now: str
) -> None:
    rows = []
    for s in standings:
        d = _standing_row(s)
        rows.append((timeframe, now, *(d[c] for c in SNAPSHOT_COLS)))
    await conn.executemany(
        f"INSERT OR REPLACE INTO leaderboard_snapshots (timeframe, snapshot_time, "  # noqa: S608
        f"{', '.join(SNAPSHOT_COLS)}) VALUES ({', '.join('?' * (len(SNAPSHOT_COLS) + 2))})",
        rows,
    )


async def write_summaries(
    conn: aiosqlite.Connection, summaries: Iterable[PeriodSummary], now: str
) -> int:
    rows = [
        (
            p.book_id,
            p.period,
            p.period_start,
            p.opening_equity,
            p.closing_equity,
            p.high_equity,
            p.low_equity,
            p.pnl,
            p.return_pct,
            p.trades_opened,
            p.trades_closed,
            p.winning_trades,
            p.win_rate,
            p.volatility,
            p.max_drawdown,
            p.points,
            now,
        )
        for p in summaries
    ]
    await conn.executemany(
        "INSERT OR REPLACE INTO period_summaries (book_id, period, period_start, opening_equity,"
        " closing_equity, high_equity, low_equity, pnl, return_pct, trades_opened, trades_closed,"
        " winning_trades, win_rate, volatility, max_drawdown, points, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


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
    await conn.execute(
        "INSERT OR IGNORE INTO books (book_id, kind, name, venue, initial_capital, details,"
        " created_at) VALUES (?, 'benchmark', ?, ?, ?, ?, ?)",
        (
            book_id,
            f"Buy and hold {symbol}",
            venue,
            float(capital),
            json.dumps({"symbol": symbol, "base_price": str(price)}),
            ts,
        ),
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
    await conn.execute(
        "INSERT OR REPLACE INTO equity_snapshots (book_id, ts, equity, cash, positions_value,"
        " positions_count) VALUES (?, ?, ?, 0, ?, 1)",
        (book_id, ts, eq, eq),
    )
    return eq


INSERT_ROUND_TRIP = (
    "INSERT OR IGNORE INTO trade_log (book_id, symbol, direction, quantity, entry_time,"
    " entry_price, exit_time, exit_price, realized_pnl, pnl_pct, fees, exit_reason, timeframe,"
    " source, source_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""Every engine records its round trips with this (UNIQUE source + source_id: re-recording a
trade is a no-op); build the parameters with ``round_trip``."""


def round_trip(
    *,
    book_id: str,
    symbol: str,
    direction: str,
    quantity: str,
    entry_time: str,
    entry_price: str,
    exit_time: str,
    exit_price: str,
    realized_pnl: float,
    source: str,
    source_id: str,
    pnl_pct: float | None = None,
    fees: float = 0.0,
    exit_reason: str | None = None,
    timeframe: str | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """The parameters of ``INSERT_ROUND_TRIP`` (prices and sizes exact TEXT, P&L net of fees)."""
    return (
        book_id,
        symbol,
        direction,
        quantity,
        entry_time,
        entry_price,
        exit_time,
        exit_price,
        realized_pnl,
        pnl_pct,
        fees,
        exit_reason,
        timeframe,
        source,
        source_id,
        json.dumps(details or {}),
    )
