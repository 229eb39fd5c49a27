"""Read queries over the books (equity series, round trips, decision comparison) and the wire
shapes of docs/control-protocol.md. Shared by the daemon's control commands and the CLI."""

from __future__ import annotations

import math
from typing import Any

import aiosqlite

from arenad.metrics.board import Standing
from arenad.store.db import parse_iso

AGGREGATES = {"fade_aggregate": "fade", "bots_aggregate": "bots"}
"""Series name → its ``aggregate`` in the view ``aggregate_members`` (migration 0010): the
fade aggregate is every fade book; the bots aggregate every bot book that has a fade book
(``bot:<id>`` with ``fade:<id>``) — the bots we fade, not the tracker's other nof1 books."""


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100.0


def finite(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with every non-finite float (NaN, ±inf) replaced by None: JSON has no such
    numbers, and a figure that is not a number must not reach a screen as one."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in d.items()}


def standing_wire(s: Standing) -> dict[str, Any]:
    """The control protocol's Standing, plus every figure and the list of figures that rest
    on too small a sample."""
    ranked_on_small = bool(s.insufficient)
    return finite(
        {
            "rank": s.rank,
            "rank_change": s.rank_change,
            "book_id": s.book_id,
            "kind": s.kind,
            "name": s.name,
            "timeframe": s.timeframe,
            "return_pct": _pct(s.total_return),
            "total_return": s.total_return,
            "sharpe": s.sharpe,
            "sortino": s.sortino,
            "max_drawdown_pct": _pct(s.max_drawdown),
            "max_drawdown": s.max_drawdown,
            "calmar": s.calmar,
            "win_rate": s.win_rate,
            "profit_factor": s.profit_factor,
            "trades": s.trades,
            "equity": s.equity,
            "total_pnl": s.total_pnl,
            "points": s.points,
            "insufficient": ranked_on_small,
            "insufficient_figures": list(s.insufficient),
        }
    )


def leaderboard_json(s: Standing) -> dict[str, Any]:
    """``arenad leaderboard --json``: one object per book."""
    return finite(
        {
            "book": s.book_id,
            "kind": s.kind,
            "name": s.name,
            "rank": s.rank,
            "rank_change": s.rank_change,
            "equity": s.equity,
            "total_pnl": s.total_pnl,
            "total_return": s.total_return,
            "sharpe": s.sharpe,
            "sortino": s.sortino,
            "max_drawdown": s.max_drawdown,
            "calmar": s.calmar,
            "win_rate": s.win_rate,
            "profit_factor": s.profit_factor,
            "trades": s.trades,
            "points": s.points,
            "avg_confidence": s.avg_confidence,
            "best_symbol": s.best_symbol,
            "best_timeframe": s.best_timeframe,
            "insufficient": list(s.insufficient),
        }
    )


async def equity_series(
    conn: aiosqlite.Connection, name: str, since: str | None, limit: int
) -> list[dict[str, Any]]:
    """A book's equity, or an aggregate's (``AGGREGATES``): the sum over its member books at
    every instant any of them has a point, each book carried forward from its last point (a
    book contributes from its first point on). Oldest first, the newest ``limit`` points."""
    kind = AGGREGATES.get(name)
    if kind is None:
        cur = await conn.execute(
            "SELECT ts, equity FROM (SELECT ts, equity FROM equity_snapshots WHERE book_id = ? "
            "AND ts >= ? ORDER BY ts DESC LIMIT ?) ORDER BY ts",
            (name, since or "", limit),
        )
        return [{"ts": r[0], "equity": r[1]} for r in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT e.book_id, e.ts, e.equity FROM equity_snapshots e JOIN aggregate_members m "
        "ON m.book_id = e.book_id WHERE m.aggregate = ? AND e.ts >= ? ORDER BY e.ts",
        (kind, since or ""),
    )
    last: dict[str, float] = {}
    out: list[dict[str, Any]] = []
    for book_id, ts, eq in await cur.fetchall():
        last[book_id] = eq
        total = sum(last.values())
        if out and out[-1]["ts"] == ts:
            out[-1]["equity"] = total
        else:
            out.append({"ts": ts, "equity": total})
    return out[-limit:]


async def round_trips(
    conn: aiosqlite.Connection, book_id: str | None, symbol: str | None, limit: int
) -> list[dict[str, Any]]:
    where, params = ["1 = 1"], []
    if book_id:
        where.append("book_id = ?")
        params.append(book_id)
    if symbol:
        where.append("symbol = ?")
        params.append(symbol)
    cur = await conn.execute(
        # The WHERE clause is built from fixed fragments; values are bound parameters.
        "SELECT book_id, symbol, direction, quantity, entry_price, exit_price, entry_time, "  # noqa: S608
        f"exit_time, realized_pnl, pnl_pct, exit_reason, fees, source FROM trade_log WHERE "
        f"{' AND '.join(where)} ORDER BY exit_time DESC, id DESC LIMIT ?",
        (*params, limit),
    )
    return [
        {
            "book_id": r[0],
            "symbol": r[1],
            "side": r[2],
            "size": r[3],
            "entry_price": r[4],
            "exit_price": r[5],
            "opened_at": r[6],
            "closed_at": r[7],
            "pnl": r[8],
            "pnl_pct": r[9],
            "exit_reason": r[10],
            "fees": r[11],
            "source": r[12],
        }
        for r in await cur.fetchall()
    ]


async def decision_comparison(
    conn: aiosqlite.Connection, symbol: str | None, window_s: float, limit: int
) -> list[dict[str, Any]]:
    """Groups of decisions by different books on the same symbol: a group starts at a
    decision and holds every decision on that symbol within ``window_s`` after it (the stored
    ``decision_comparison`` view gives the same as pairs, for a fixed 5 minutes). Agreement
    is the share of the group's decisions that match its most common one. Newest first."""
    cur = await conn.execute(
        "SELECT id, book_id, model_id, ts, decision, confidence, symbol FROM decision_log "
        "WHERE symbol IS NOT NULL AND (? IS NULL OR symbol = ?) ORDER BY ts DESC, id DESC "
        "LIMIT ?",
        (symbol, symbol, max(limit * 20, 200)),
    )
    rows = list(await cur.fetchall())[::-1]
    open_groups: dict[str, tuple[float, list[Any]]] = {}
    groups: list[list[Any]] = []
    for r in rows:
        t = parse_iso(r[3]).timestamp()
        g = open_groups.get(r[6])
        if g is None or t - g[0] > window_s:
            g = (t, [])
            open_groups[r[6]] = g
            groups.append(g[1])
        g[1].append(r)
    out: list[dict[str, Any]] = []
    for g in reversed(groups):
        if len({r[1] for r in g}) < 2:
            continue
        actions = [str(r[4]).lower() for r in g]
        top = max(actions.count(a) for a in set(actions))
        out.append(
            {
                "symbol": g[0][6],
                "ts": g[0][3],
                "window_s": window_s,
                "agreement": top / len(g),
                "decisions": [
                    {
                        "id": r[0],
                        "book_id": r[1],
                        "model_id": r[2],
                        "ts": r[3],
                        "action": r[4],
                        "confidence": r[5],
                    }
                    for r in g
                ],
            }
        )
        if len(out) >= limit:
            break
    return out
