"""The daily summary: what the books did in the 24 hours before it, read from the database.

Figures come from the same tables the TUI and `arenad leaderboard` read: each book's equity
curve (``equity_snapshots``: P&L as the change of equity over the window, fees as the change
of the cumulative fees, open exposure as the newest ``positions_value``), the all-time board
(``current_standings``) and the LLM calls (``llm_calls.cost_usd``). A figure with no data says
so ("no equity recorded", "not recorded"), never 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from arenad.notify.notice import Notice
from arenad.store.db import open_reader, utc_iso

OUR_KINDS = ("fade", "arena_model", "strategy")
"""Books that hold our (paper or real) money: exposure and fees are theirs."""
KIND_NAMES = {
    "fade": "fade",
    "bot": "bots faded",
    "arena_model": "arena",
    "strategy": "strategies",
}


@dataclass
class DayFigures:
    start: str
    end: str
    pnl: dict[str, float] = field(default_factory=dict)
    """P&L per book kind over the window (kinds with equity only)."""
    exposure: dict[str, float] = field(default_factory=dict)
    positions: int = 0
    fees: float | None = None
    top: list[dict[str, Any]] = field(default_factory=list)
    llm_calls: int = 0
    llm_cost: float | None = None


async def _edge(
    conn: aiosqlite.Connection, book_id: str, ts: str, *, before: bool
) -> aiosqlite.Row | None:
    sql = (
        "SELECT equity, fees, positions_value, positions_count FROM equity_snapshots"
        " WHERE book_id = ? AND ts <= ? ORDER BY ts DESC LIMIT 1"
        if before
        else "SELECT equity, fees, positions_value, positions_count FROM equity_snapshots"
        " WHERE book_id = ? AND ts > ? ORDER BY ts ASC LIMIT 1"
    )
    row: aiosqlite.Row | None = await (await conn.execute(sql, (book_id, ts))).fetchone()
    return row


async def day_figures(db_path: Path, start: datetime, end: datetime) -> DayFigures:
    s, e = utc_iso(start), utc_iso(end)
    out = DayFigures(s, e)
    async with open_reader(db_path) as conn:
        books = await (
            await conn.execute("SELECT book_id, kind FROM books WHERE kind != 'benchmark'")
        ).fetchall()
        fees_seen = False
        fees = 0.0
        for b in books:
            last = await _edge(conn, b["book_id"], e, before=True)
            if last is None:
                continue
            first = await _edge(conn, b["book_id"], s, before=True) or await _edge(
                conn, b["book_id"], s, before=False
            )
            kind = b["kind"]
            if first is not None:
                out.pnl[kind] = out.pnl.get(kind, 0.0) + last["equity"] - first["equity"]
            if kind in OUR_KINDS:
                if last["positions_value"] is not None:
                    out.exposure[kind] = out.exposure.get(kind, 0.0) + abs(last["positions_value"])
                out.positions += last["positions_count"] or 0
                if last["fees"] is not None:
                    fees_seen = True
                    fees += last["fees"] - ((first["fees"] or 0.0) if first is not None else 0.0)
        out.fees = fees if fees_seen else None
        rows = await (
            await conn.execute(
                "SELECT c.book_id, b.name, b.kind, c.rank, c.total_return, c.total_pnl,"
                " c.sharpe, c.insufficient FROM current_standings c JOIN books b"
                " ON b.book_id = c.book_id WHERE c.rank IS NOT NULL AND b.kind != 'benchmark'"
                " ORDER BY c.rank, c.book_id LIMIT 3"
            )
        ).fetchall()
        out.top = [dict(r) for r in rows]
        n, cost, priced = await (
            await conn.execute(
                "SELECT count(*), sum(cost_usd), count(cost_usd) FROM llm_calls"
                " WHERE created_at > ? AND created_at <= ?",
                (s, e),
            )
        ).fetchone()  # type: ignore[misc]
        out.llm_calls = int(n)
        out.llm_cost = float(cost) if priced else None
    return out


def _usd(v: float, sign: bool = True) -> str:
    return f"{v:+,.2f} USD" if sign else f"{v:,.2f} USD"


def _verdict(r: dict[str, Any]) -> str:
    try:
        insufficient = set(json.loads(r.get("insufficient") or "[]"))
    except ValueError:
        insufficient = set()
    parts = []
    if r.get("total_return") is not None:
        parts.append(f"{100 * r['total_return']:+.1f} %")
    if r.get("total_pnl") is not None:
        parts.append(_usd(r["total_pnl"]))
    if r.get("sharpe") is not None:
        parts.append(f"Sharpe {r['sharpe']:.2f}")
    elif "sharpe" in insufficient:
        parts.append("Sharpe: too few points")
    return ", ".join(parts) or "no figures yet"


def summary_notice(f: DayFigures, when_local: str, guard: dict[str, Any] | None) -> Notice:
    lines = [f"24 h to {when_local}"]
    if f.pnl:
        lines.append(
            "P&L: "
            + ", ".join(f"{KIND_NAMES.get(k, k)} {_usd(v)}" for k, v in sorted(f.pnl.items()))
        )
    else:
        lines.append("P&L: no equity recorded")
    if f.top:
        lines.append("Top 3:")
        lines += [f" {r['rank']}. {r['name']} ({r['book_id']}): {_verdict(r)}" for r in f.top]
    else:
        lines.append("Top 3: no ranked books yet")
    total = sum(f.exposure.values())
    per = ", ".join(
        f"{KIND_NAMES.get(k, k)} {_usd(v, False)}" for k, v in sorted(f.exposure.items())
    )
    lines.append(
        f"Open exposure: {_usd(total, False)} in {f.positions} positions"
        + (f" ({per})" if per else "")
    )
    lines.append("Fees: " + (_usd(f.fees, False) if f.fees is not None else "none recorded"))
    if f.llm_cost is not None:
        lines.append(f"LLM cost: {_usd(f.llm_cost, False)} ({f.llm_calls} calls)")
    else:
        lines.append(f"LLM cost: not recorded ({f.llm_calls} calls)")
    if guard is not None:
        k = guard.get("kill_switch") or {}
        lines.append(
            f"Trading {guard.get('trading_state')}"
            + (f", KILL SWITCH ENGAGED by {k.get('by')}" if k.get("engaged") else "")
        )
    return Notice("daily_summary", "info", "daily summary", "\n".join(lines), ts=f.end)
